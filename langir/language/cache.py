"""On-disk cache of CLIP embeddings and the target descriptor (TD) built from them.

Layout: ``DATASET/.langir/embeddings/<clip-key>/{text,image}/<sha256>.npy`` where the hash is of
the text itself or of the image file's bytes, so edits to a description or an image invalidate
exactly that entry. The training loop only reads these arrays; CLIP runs here, once.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from langir.data.atomic import write_bytes_atomic
from langir.data.positions import swap_left_right, swap_upper_lower
from langir.errors import ConfigError
from langir.language.clip import clip_key, load_clip

LANGUAGE_PRIORS = ("never", "train-only", "train+test")
# Flip variants of a description: (horizontal flip, vertical flip).
FLIPS = ((False, False), (True, False), (False, True), (True, True))


def flipped_text(text: str, hflip: bool, vflip: bool) -> str:
    """The description that stays true after flipping the image (left↔right, upper↔lower)."""
    if hflip:
        text = swap_left_right(text)
    if vflip:
        text = swap_upper_lower(text)
    return text


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _l2(x: np.ndarray) -> np.ndarray:
    return (x / max(float(np.linalg.norm(x)), 1e-12)).astype(np.float32)


class EmbeddingCache:
    """Lazily loads CLIP only when an embedding is missing from disk; counts what it computed."""

    def __init__(self, dataset_root: str | Path, clip_name: str = "ViT-B-16", clip_pretrained: str | None = None,
                 device: str = "cpu", cache_dir: str | Path | None = None):
        self.clip_name = clip_name
        self.clip_pretrained = clip_pretrained
        self.device = device
        self.key = clip_key(clip_name, clip_pretrained)
        base = Path(cache_dir) if cache_dir else Path(dataset_root) / ".langir" / "embeddings"
        self.dir = base / self.key
        self.computed = 0
        self._clip: tuple[Any, Any, Any] | None = None

    def _model(self) -> tuple[Any, Any, Any]:
        if self._clip is None:
            self._clip = load_clip(self.clip_name, self.clip_pretrained, self.device)
        return self._clip

    def _file(self, kind: str, digest: str) -> Path:
        return self.dir / kind / f"{digest}.npy"

    def _save(self, path: Path, emb: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, emb.astype(np.float32))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, buf.getvalue())

    def _load(self, path: Path) -> np.ndarray | None:
        if not path.is_file():
            return None
        try:
            return np.load(path)
        except (OSError, ValueError):
            return None  # a damaged entry is simply recomputed

    def text(self, text: str) -> np.ndarray:
        """L2-normalised CLIP text embedding of ``text``."""
        path = self._file("text", _sha(text.encode("utf-8")))
        emb = self._load(path)
        if emb is None:
            import torch

            model, _, tokenizer = self._model()
            with torch.no_grad():
                emb = model.encode_text(tokenizer([text]).to(self.device))[0].float().cpu().numpy()
            emb = _l2(emb)
            self._save(path, emb)
            self.computed += 1
        return emb

    def image(self, path: str | Path, read: Callable[[], np.ndarray]) -> np.ndarray:
        """L2-normalised CLIP image embedding; ``read`` returns the grey image (H×W float in [0,1])."""
        cache_path = self._file("image", _sha(Path(path).read_bytes()))
        emb = self._load(cache_path)
        if emb is None:
            import torch
            from PIL import Image

            model, preprocess, _ = self._model()
            grey = (np.clip(read(), 0, 1) * 255).round().astype(np.uint8)
            rgb = Image.fromarray(np.stack([grey] * 3, axis=-1))  # grey → 3 channels, then CLIP's own preprocessing
            with torch.no_grad():
                emb = model.encode_image(preprocess(rgb).unsqueeze(0).to(self.device))[0].float().cpu().numpy()
            emb = _l2(emb)
            self._save(cache_path, emb)
            self.computed += 1
        return emb


def check_descriptions(ds: Any, ids: Iterable[str]) -> None:
    """Raise ConfigError naming the ids without a description (a language prior needs them)."""
    missing = [i for i in ids if not ds.has_description(i)]
    if missing:
        shown = ", ".join(missing[:10]) + (f" … (+{len(missing) - 10})" if len(missing) > 10 else "")
        raise ConfigError(
            f"a language prior needs descriptions, but {len(missing)} image(s) have none: {shown} "
            "(run `langir describe`, or use --language-prior never)"
        )


def compute_descriptors(ds: Any, ids: list[str], cache: EmbeddingCache, with_text: bool = True,
                        wrap: Callable[[Iterable[str]], Iterable[str]] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Per id: ``image`` embedding and, with text, ``text_<h><v>`` for each flip variant (0/1 flags).

    TD = text + image (train), or image alone (train-only at evaluation); see :func:`descriptor`.
    """
    if with_text:
        check_descriptions(ds, ids)
    result: dict[str, dict[str, np.ndarray]] = {}
    for sample_id in (wrap(ids) if wrap else ids):
        entry = {"image": cache.image(ds.image_path(sample_id), lambda s=sample_id: ds.read_image(s))}
        if with_text:
            text = ds.read_description(sample_id) or ""
            for h, v in FLIPS:
                entry[f"text_{int(h)}{int(v)}"] = cache.text(flipped_text(text, h, v))
        result[sample_id] = entry
    return result


def descriptor(entry: dict[str, np.ndarray], hflip: bool = False, vflip: bool = False, use_text: bool = True) -> np.ndarray:
    """TD = L2(text emb of the (flip-swapped) description) + L2(image emb); image alone without text."""
    td = entry["image"].copy()
    if use_text:
        td = td + entry[f"text_{int(hflip)}{int(vflip)}"]
    return td.astype(np.float32)
