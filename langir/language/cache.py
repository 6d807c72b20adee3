"""On-disk cache of CLIP embeddings and the target descriptor (TD) built from them.

Layout: ``<cache>/<clip-key>/{text,image}/<sha256>.npy`` where the hash is of the text itself or of
the image file's bytes, so edits to a description or an image invalidate exactly that entry.
``<cache>`` is ``--cache-dir`` when given, else ``DATASET/.langir/embeddings``; when the dataset is
read-only, new entries go to the user cache (``$XDG_CACHE_HOME/langir/embeddings``, or the platform's
cache folder) while entries already in the dataset are still read. CLIP runs here, in batches, once.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from langir.data import guarded
from langir.data.atomic import write_bytes_atomic
from langir.data.positions import swap_left_right, swap_upper_lower
from langir.data.user_cache import user_cache_dir
from langir.errors import ConfigError, DataError
from langir.language.clip import clip_key, load_clip

# Flip variants of a description: (horizontal flip, vertical flip).
FLIPS = ((False, False), (True, False), (False, True), (True, True))
BATCH = 64

# A transpose (row ↔ column) turns vertical positions into horizontal ones and back.
_TRANSPOSE = {"upper": "left", "top": "left", "uppermost": "leftmost", "topmost": "leftmost",
              "lower": "right", "bottom": "right", "lowermost": "rightmost", "bottommost": "rightmost",
              "left": "upper", "leftmost": "uppermost", "right": "lower", "rightmost": "lowermost",
              "above": "to the left of", "below": "to the right of"}
_TRANSPOSE_RX = re.compile(r"\b(" + "|".join(sorted(_TRANSPOSE, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def transposed_text(text: str) -> str:
    """The description that stays true after transposing the image (upper ↔ left, lower ↔ right)."""

    def repl(m: re.Match[str]) -> str:
        new = _TRANSPOSE[m.group(0).lower()]
        return new.capitalize() if m.group(0)[0].isupper() else new

    return _TRANSPOSE_RX.sub(repl, text)


def flipped_text(text: str, hflip: bool, vflip: bool, transpose: bool = False) -> str:
    """The description that stays true after flipping (left↔right, upper↔lower), then transposing."""
    if hflip:
        text = swap_left_right(text)
    if vflip:
        text = swap_upper_lower(text)
    if transpose:
        text = transposed_text(text)
    return text


def text_key(hflip: bool, vflip: bool, transpose: bool = False) -> str:
    """Entry name of a flip/transpose variant of the description (``text_<h><v>`` + ``t``)."""
    return f"text_{int(hflip)}{int(vflip)}" + ("t" if transpose else "")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _l2(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def _writable(folder: Path) -> bool:
    """True when files can be created in ``folder`` (or in its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


class EmbeddingCache:
    """Lazily loads CLIP only when an embedding is missing from disk; counts what it computed."""

    def __init__(self, dataset_root: str | Path, clip_name: str = "ViT-B-16", clip_pretrained: str | None = None,
                 device: str = "cpu", cache_dir: str | Path | None = None, batch_size: int = BATCH):
        self.clip_name = clip_name
        self.clip_pretrained = clip_pretrained
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.key = clip_key(clip_name, clip_pretrained)
        in_dataset = Path(dataset_root) / ".langir" / "embeddings" / self.key
        if cache_dir:
            self.dir = Path(cache_dir) / self.key
            self.read_dirs = [self.dir]
        else:
            # the dataset's own folder: a `.langir` linked out of the set is refused (as the describe ledger is)
            guarded.check_inside(in_dataset, dataset_root, "embedding cache folder", use="use")
            # A read-only dataset: write to the user cache, still read what the dataset already holds.
            self.dir = in_dataset if _writable(in_dataset) else user_cache_dir("embeddings") / self.key
            self.read_dirs = [self.dir] + ([in_dataset] if self.dir != in_dataset else [])
        self.computed = 0
        self._clip: tuple[Any, Any, Any] | None = None

    def _model(self) -> tuple[Any, Any, Any]:
        if self._clip is None:
            self._clip = load_clip(self.clip_name, self.clip_pretrained, self.device)
        return self._clip

    def _file(self, kind: str, digest: str) -> Path:
        return self.dir / kind / f"{digest}.npy"

    def _save(self, kind: str, digest: str, emb: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, emb.astype(np.float32))
        path = self._file(kind, digest)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, buf.getvalue())
        except OSError as error:
            raise ConfigError(f"cannot write the embedding cache {self.dir} ({error.strerror or error}); "
                              "point --cache-dir at a writable folder") from error
        self.computed += 1

    def lookup(self, kind: str, digest: str) -> np.ndarray | None:
        """A cached embedding, or None (a damaged entry counts as missing and is recomputed)."""
        for folder in self.read_dirs:
            path = folder / kind / f"{digest}.npy"
            if path.is_file():
                try:
                    return np.load(path)
                except (OSError, ValueError):
                    continue
        return None

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """L2-normalised CLIP text embeddings, in batches."""
        import torch

        model, _, tokenizer = self._model()
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                tokens = tokenizer(texts[start:start + self.batch_size]).to(self.device)
                out.append(model.encode_text(tokens).float().cpu().numpy())
        return _l2(np.concatenate(out)) if out else np.zeros((0, 0), np.float32)

    def text(self, text: str) -> np.ndarray:
        """L2-normalised CLIP text embedding of ``text`` (cached)."""
        digest = _sha(text.encode("utf-8"))
        emb = self.lookup("text", digest)
        if emb is None:
            emb = self.encode_texts([text])[0]
            self._save("text", digest, emb)
        return emb

    def image(self, path: str | Path, read: Callable[[], np.ndarray]) -> np.ndarray:
        """L2-normalised CLIP image embedding; ``read`` returns the grey image (H×W float in [0,1])."""
        digest = _sha(guarded.read_bytes(path, "image"))  # a FIFO or a folder is one DataError, never a hang
        emb = self.lookup("image", digest)
        if emb is None:
            emb = self._encode_images([read()])[0]
            self._save("image", digest, emb)
        return emb

    def _encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        model, preprocess, _ = self._model()
        batch = torch.stack([_to_clip_input(img, preprocess) for img in images]).to(self.device)
        with torch.no_grad():
            return _l2(model.encode_image(batch).float().cpu().numpy())

    def fill_images(self, jobs: list[tuple[str, Callable[[], np.ndarray]]], workers: int = 0,
                    wrap: Callable[[Iterable[Any]], Iterable[Any]] | None = None) -> dict[str, str]:
        """Compute the missing image embeddings of ``jobs`` (digest, reader) through a DataLoader, in batches.

        Returns digest → error for images that could not be decoded (nothing is stored for them).
        """
        if not jobs:
            return {}
        import torch
        from torch.utils.data import DataLoader

        model, preprocess, _ = self._model()
        loader = DataLoader(_ClipImages(jobs, preprocess), batch_size=self.batch_size, num_workers=workers)
        failed: dict[str, str] = {}
        for digests, pixels, errors in (wrap(loader) if wrap else loader):
            ok = [k for k, e in enumerate(errors) if not e]
            failed.update({digests[k]: errors[k] for k, e in enumerate(errors) if e})
            if not ok:
                continue
            with torch.no_grad():
                embs = _l2(model.encode_image(pixels[ok].to(self.device)).float().cpu().numpy())
            for k, emb in zip(ok, embs, strict=True):
                self._save("image", digests[k], emb)
        return failed


def _to_clip_input(image: np.ndarray, preprocess: Any) -> Any:
    from PIL import Image

    grey = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return preprocess(Image.fromarray(np.stack([grey] * 3, axis=-1)))  # grey → 3 channels, then CLIP's own preprocessing


class _ClipImages:
    """(digest, preprocessed image) items for the batched image pass."""

    def __init__(self, jobs: list[tuple[str, Callable[[], np.ndarray]]], preprocess: Any) -> None:
        self.jobs, self.preprocess = jobs, preprocess

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, index: int) -> tuple[str, Any, str]:
        digest, read = self.jobs[index]
        try:
            return digest, _to_clip_input(read(), self.preprocess), ""
        except DataError as error:  # reported per id by compute_descriptors; the batch goes on
            return digest, self._blank(), str(error)

    def _blank(self) -> Any:
        return _to_clip_input(np.zeros((8, 8), np.float32), self.preprocess)


def check_descriptions(ds: Any, ids: Iterable[str]) -> None:
    """Raise ConfigError naming the ids without a description (a language prior needs them)."""
    # present-but-unreadable files (a FIFO, a broken link) are not "missing": reading them names the problem
    missing = [i for i in ids if not os.path.lexists(ds.description_path(i))]
    if missing:
        shown = ", ".join(missing[:10]) + (f" … (+{len(missing) - 10})" if len(missing) > 10 else "")
        raise ConfigError(
            f"a language prior needs descriptions, but {len(missing)} image(s) have none: {shown} "
            "(run `langir describe`, or use --language-prior never)"
        )


def compute_descriptors(ds: Any, ids: list[str], cache: EmbeddingCache, with_text: bool = True,
                        wrap: Callable[[Iterable[Any]], Iterable[Any]] | None = None, *, transpose: bool = False,
                        skip_bad: bool = False, on_skip: Callable[[str, DataError], None] | None = None,
                        shard: tuple[int, int] = (0, 1), workers: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Per id: ``image`` embedding and, with text, ``text_<h><v>`` (+ ``text_<h><v>t`` with ``transpose``).

    Missing entries are computed in batches (images through a DataLoader); ``shard = (rank, world)``
    computes only every world-th missing entry, so DDP ranks share the work (call again with the
    default shard after a barrier to read them all). ``skip_bad`` reports unreadable images to
    ``on_skip`` and leaves them out. TD = text + image (train), or image alone (train-only at evaluation).
    """
    if with_text:
        check_descriptions(ds, ids)
    rank, world = shard
    digests: dict[str, str] = {}
    texts: dict[str, str] = {}
    missing_images: list[tuple[str, Callable[[], np.ndarray]]] = []
    kept: list[str] = []
    for sample_id in ids:
        try:
            # the guarded reader, with the set's symlink rule: the bytes hashed are the bytes the model sees
            digest = _sha(guarded.read_bytes(ds.image_path(sample_id), "image", root=ds.root))
        except (OSError, DataError) as error:
            bad = error if isinstance(error, DataError) else DataError(ds.image_path(sample_id), f"cannot read image ({error})", sample_id)
            if not skip_bad:
                raise bad from None
            if on_skip:
                on_skip(sample_id, bad)
            continue
        kept.append(sample_id)
        digests[sample_id] = digest
        if cache.lookup("image", digest) is None and digest not in {d for d, _ in missing_images}:
            missing_images.append((digest, lambda s=sample_id: ds.read_image(s)))
        if with_text:
            text = ds.read_description(sample_id) or ""
            for h, v in FLIPS:
                for t in (False, True) if transpose else (False,):
                    variant = flipped_text(text, h, v, t)
                    texts.setdefault(_sha(variant.encode("utf-8")), variant)
    missing_images = missing_images[rank::world]
    missing_texts = [(d, t) for d, t in texts.items() if cache.lookup("text", d) is None][rank::world]
    failed = cache.fill_images(missing_images, workers, wrap)
    if failed:
        bad = [(i, DataError(ds.image_path(i), failed[digests[i]].split(": ", 1)[-1], i)) for i in kept if digests[i] in failed]
        if not skip_bad:
            raise DataError(None, "; ".join(str(e) for _, e in bad[:10]) + " — pass --skip-bad to leave them out")
        for sample_id, error in bad:
            if on_skip:
                on_skip(sample_id, error)
        kept = [i for i in kept if digests[i] not in failed]
    for start in range(0, len(missing_texts), cache.batch_size):
        chunk = missing_texts[start:start + cache.batch_size]
        for (digest, _), emb in zip(chunk, cache.encode_texts([t for _, t in chunk]), strict=True):
            cache._save("text", digest, emb)
    if world > 1:
        return {}
    result: dict[str, dict[str, np.ndarray]] = {}
    for sample_id in kept:
        entry = {"image": cache.lookup("image", digests[sample_id])}
        if with_text:
            text = ds.read_description(sample_id) or ""
            for h, v in FLIPS:
                for t in (False, True) if transpose else (False,):
                    entry[text_key(h, v, t)] = cache.lookup("text", _sha(flipped_text(text, h, v, t).encode("utf-8")))
        if any(value is None for value in entry.values()):
            raise ConfigError(f"embedding cache {cache.dir} lost entries while in use; run again")
        result[sample_id] = entry
    return result


def text_variants(ds: Any, ids: list[str], transpose: bool = False) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Every distinct flip/transpose variant of the descriptions of ``ids`` once, and id → variant key → its index
    (``--finetune-text`` tokenises them once and embeds them in the training loop)."""
    check_descriptions(ds, ids)
    texts: dict[str, int] = {}
    index: dict[str, dict[str, int]] = {}
    for sample_id in ids:
        text = ds.read_description(sample_id) or ""
        index[sample_id] = {text_key(h, v, t): texts.setdefault(variant, len(texts))
                            for h, v in FLIPS for t in ((False, True) if transpose else (False,))
                            for variant in [flipped_text(text, h, v, t)]}
    return list(texts), index


def descriptor(entry: dict[str, np.ndarray], hflip: bool = False, vflip: bool = False, use_text: bool = True,
               transpose: bool = False) -> np.ndarray:
    """TD = L2(text emb of the (flip/transpose-swapped) description) + L2(image emb); image alone without text."""
    td = entry["image"].copy()
    if use_text:
        td = td + entry[text_key(hflip, vflip, transpose)]
    return td.astype(np.float32)
