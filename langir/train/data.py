"""Training samples: random crop/pad to a square, random flips, and the flip-consistent TD."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from langir.language.cache import descriptor


def crop_or_pad(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random size×size window; smaller sides are zero-padded at a random offset."""
    h, w = image.shape
    out_img = np.zeros((size, size), np.float32)
    out_mask = np.zeros((size, size), np.float32)
    # Source window (crop when larger) and destination offset (pad when smaller).
    sy = int(rng.integers(0, h - size + 1)) if h > size else 0
    sx = int(rng.integers(0, w - size + 1)) if w > size else 0
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

    def __init__(self, ds: Any, ids: list[str], size: int, descriptors: dict[str, dict[str, np.ndarray]] | None,
                 hflip: bool = True, vflip: bool = True, seed: int = 0):
        self.ds, self.ids, self.size = ds, list(ids), size
        self.descriptors = descriptors
        self.hflip, self.vflip, self.seed = hflip, vflip, seed
        self.epoch = 0
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ids)

    def _read(self, sample_id: str) -> tuple[np.ndarray, np.ndarray]:
        if sample_id not in self._cache:
            sample = self.ds.load(sample_id, need_mask=True)
            self._cache[sample_id] = (sample.image.astype(np.float32), sample.mask.astype(np.float32))
        return self._cache[sample_id]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sample_id = self.ids[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, mask = self._read(sample_id)
        image, mask = crop_or_pad(image, mask, self.size, rng)
        h = bool(self.hflip and rng.random() < 0.5)
        v = bool(self.vflip and rng.random() < 0.5)
        if h:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if v:
            image, mask = image[::-1], mask[::-1]
        td = torch.zeros(0)
        if self.descriptors is not None:
            # The text embedding is the one of the flip-swapped description (left↔right, upper↔lower).
            td = torch.from_numpy(descriptor(self.descriptors[sample_id], h, v, use_text=True))
        return (torch.from_numpy(np.ascontiguousarray(image))[None], torch.from_numpy(np.ascontiguousarray(mask))[None], td)
