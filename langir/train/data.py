"""Training data: every sample checked up front, target-keeping crops or the paper's resize, flips,
transposes, and the TD of the description that stays true after them.

Crops always keep a target (when the image has one): ``target_crop`` of them are centred near a
random target pixel (BasicIRSTD-style target-aware sampling), the others are uniform windows
redrawn until one holds a target pixel. Why not a "no target" TD for crops that lose every target?
The description would then contradict the image half the time on small crops (57 % of 256-crops of
SIRST-v2 frames hold no target) and the network would learn that the text may be ignored; keeping
the target keeps text and pixels consistent, and background-only crops are not needed to learn the
background (it is ≈99.9 % of every crop anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from langir.errors import DataError
from langir.language.cache import descriptor, text_key

Arrays = tuple[np.ndarray, np.ndarray]  # image float32 H×W in [0, 1], mask float32 H×W in {0, 1}


def check_samples(ds: Any, ids: list[str], skip_bad: bool,
                  on_skip: Callable[[str, DataError], None] | None = None,
                  keep: set[str] | None = None, *, before: Callable[[str], None] | None = None,
                  prepare: Callable[[np.ndarray, np.ndarray], Arrays] | None = None,
                  ) -> tuple[dict[str, Arrays], list[tuple[str, DataError]]]:
    """Load every (image, mask) pair once, before training starts; returns the arrays and the bad ones.

    Arrays are kept for ``keep`` (default: all ids; training keeps only its own, validation re-reads).
    ``before(id)`` may refuse a sample (DataError) before it is decoded; ``prepare`` turns each kept pair
    into what training holds (``--input resize``: resized on reading, so one full image is in memory at a time).
    Without ``skip_bad`` all bad pairs are reported at once in one DataError (not one per run).
    """
    arrays: dict[str, Arrays] = {}
    bad: list[tuple[str, DataError]] = []
    for sample_id in dict.fromkeys(ids):
        try:
            if before is not None:
                before(sample_id)
            sample = ds.load(sample_id, need_mask=True)
        except DataError as error:
            bad.append((sample_id, error))
            continue
        if keep is None or sample_id in keep:
            pair = (sample.image.astype(np.float32, copy=False), sample.mask.astype(np.float32, copy=False))
            arrays[sample_id] = prepare(*pair) if prepare is not None else pair
    if bad and not skip_bad:
        listed = "; ".join(str(error) for _, error in bad[:10]) + (f"; … (+{len(bad) - 10})" if len(bad) > 10 else "")
        raise DataError(None, f"{len(bad)} bad sample(s): {listed} — fix them or pass --skip-bad to train without them")
    for sample_id, error in bad:
        if on_skip:
            on_skip(sample_id, error)
    return arrays, bad


def resize_pair(image: np.ndarray, mask: np.ndarray, size: int) -> Arrays:
    """The paper's input (§5.2): bilinear image, mask resampled and thresholded at 0.5 (never losing a target)."""
    import torch.nn.functional as F

    img = F.interpolate(torch.from_numpy(image)[None, None], size=(size, size), mode="bilinear", align_corners=False)
    soft = F.interpolate(torch.from_numpy(mask)[None, None], size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    out_mask = (soft >= 0.5).float()
    if mask.any() and not out_mask.any():  # a 1-px target shrunk below half a pixel: keep its peak
        out_mask = (soft >= soft.max() * 0.5).float()
    return img[0, 0].numpy(), out_mask.numpy()


def _window(h: int, size: int, centre: int | None, rng: np.random.Generator) -> int:
    """Start of a size-long window in [0, h − size], uniform or holding ``centre``."""
    if h <= size:
        return 0
    if centre is None:
        return int(rng.integers(0, h - size + 1))
    lo, hi = max(0, centre - size + 1), min(h - size, centre)
    return int(rng.integers(lo, hi + 1))


def crop_or_pad(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator,
                target_crop: float = 0.0) -> Arrays:
    """A size×size window that keeps a target when the image has one; smaller sides are zero-padded."""
    h, w = image.shape
    ys, xs = np.nonzero(mask)
    sy, sx = _window(h, size, None, rng), _window(w, size, None, rng)
    if len(ys) and (h > size or w > size):
        holds = mask[sy:sy + size, sx:sx + size].any()
        if rng.random() < target_crop or not holds:
            for attempt in range(8):
                if attempt == 7 or rng.random() < target_crop:  # centred on a target pixel
                    k = int(rng.integers(len(ys)))
                    sy, sx = _window(h, size, int(ys[k]), rng), _window(w, size, int(xs[k]), rng)
                    break
                sy, sx = _window(h, size, None, rng), _window(w, size, None, rng)
                if mask[sy:sy + size, sx:sx + size].any():
                    break
    out_img = np.zeros((size, size), np.float32)
    out_mask = np.zeros((size, size), np.float32)
    dy = int(rng.integers(0, size - h + 1)) if h < size else 0
    dx = int(rng.integers(0, size - w + 1)) if w < size else 0
    ch, cw = min(h, size), min(w, size)
    out_img[dy:dy + ch, dx:dx + cw] = image[sy:sy + ch, sx:sx + cw]
    out_mask[dy:dy + ch, dx:dx + cw] = mask[sy:sy + ch, sx:sx + cw]
    return out_img, out_mask


class TrainSamples(Dataset):
    """(image 1×S×S, mask 1×S×S, TD or empty tensor) with augmentation drawn from (seed, epoch, index).

    Drawing the randomness from a per-item seed instead of global RNG state keeps runs
    reproducible across resume, worker counts and DDP ranks.
    """

    def __init__(self, arrays: dict[str, Arrays], ids: list[str], size: int,
                 descriptors: dict[str, dict[str, np.ndarray]] | None, hflip: bool = True, vflip: bool = True,
                 seed: int = 0, *, transpose: bool = False, input: str = "crop", target_crop: float = 0.5,
                 text_index: dict[str, dict[str, int]] | None = None):
        self.ids, self.size = list(ids), size
        self.descriptors = descriptors
        # --finetune-text: TD holds the image embedding only; a 4th item indexes the (swapped) description's tokens.
        self.text_index = text_index
        self.hflip, self.vflip, self.transpose, self.seed = hflip, vflip, transpose, seed
        self.target_crop = target_crop
        self.resize = input == "resize"
        # Resizing is deterministic: done once here (or already on reading), not every epoch.
        self.arrays = {i: arrays[i] if arrays[i][0].shape == (size, size) else resize_pair(*arrays[i], size)
                       for i in self.ids} if self.resize else arrays
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        sample_id = self.ids[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, mask = self.arrays[sample_id]
        if not self.resize:
            image, mask = crop_or_pad(image, mask, self.size, rng, self.target_crop)
        h = bool(self.hflip and rng.random() < 0.5)
        v = bool(self.vflip and rng.random() < 0.5)
        t = bool(self.transpose and rng.random() < 0.5)
        if h:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if v:
            image, mask = image[::-1], mask[::-1]
        if t:
            image, mask = image.T, mask.T
        td = torch.zeros(0)
        pixels = (torch.from_numpy(np.ascontiguousarray(image))[None], torch.from_numpy(np.ascontiguousarray(mask))[None])
        if self.text_index is not None:
            td = torch.from_numpy(descriptor(self.descriptors[sample_id], use_text=False))
            return (*pixels, td, torch.tensor(self.text_index[sample_id][text_key(h, v, t)]))
        if self.descriptors is not None:
            # The text embedding is the one of the description swapped the same way (left↔right, upper↔lower, transpose).
            td = torch.from_numpy(descriptor(self.descriptors[sample_id], h, v, use_text=True, transpose=t))
        return (*pixels, td)


class DatasetUnion:
    """Several datasets read as one (``langir train D1 D2 …``); ids become ``<k>:<id>`` (k = 0, 1, …)."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts
        self.root = parts[0].root  # the embedding cache lives beside the first dataset (entries are content-hashed)

    def qualify(self, k: int, ids: list[str]) -> list[str]:
        return [f"{k}:{i}" for i in ids]

    def _split(self, sample_id: str) -> tuple[Any, str]:
        k, _, inner = sample_id.partition(":")
        return self.parts[int(k)], inner

    def __getattr__(self, name: str) -> Any:
        # image_path, read_image, read_mask, load, has_description, read_description, … of the owning part
        if name.startswith("_") or name not in {"image_path", "mask_path", "read_image", "read_mask", "load",
                                                 "has_description", "read_description", "description_path", "has_mask"}:
            raise AttributeError(name)

        def call(sample_id: str, *args: Any, **kwargs: Any) -> Any:
            part, inner = self._split(sample_id)
            result = getattr(part, name)(inner, *args, **kwargs)
            if name == "load":
                result.id = sample_id
            return result

        return call


class ResizedView:
    """A dataset seen at size×size (``--input resize``): validation then measures what the paper measures."""

    def __init__(self, ds: Any, size: int) -> None:
        self.ds, self.size, self.root = ds, size, ds.root

    def load(self, sample_id: str, need_mask: bool = True, need_description: bool = False) -> Any:
        sample = self.ds.load(sample_id, need_mask=need_mask, need_description=need_description)
        mask = sample.mask if sample.mask is not None else np.zeros_like(sample.image)
        image, resized = resize_pair(sample.image.astype(np.float32), mask.astype(np.float32), self.size)
        sample.image, sample.mask = image, (resized > 0.5) if sample.mask is not None else None
        return sample

    def read_image(self, sample_id: str) -> np.ndarray:
        return self.load(sample_id, need_mask=False).image

    def read_mask(self, sample_id: str, shape: tuple[int, int] | None = None) -> np.ndarray:
        return self.load(sample_id).mask

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ds, name)
