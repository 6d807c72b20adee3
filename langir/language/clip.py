"""Load an open_clip model by name with a pretrained tag, a local checkpoint, or no weights.

A tiny untrained config, ``langir-tiny``, ships with the package so tests and demos run offline
through exactly the same loading path as real weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from langir.errors import ConfigError
from langir.extras import import_open_clip

TINY_NAME = "langir-tiny"
_CONFIG = Path(__file__).with_name("langir-tiny.json")
_registered = False


def _open_clip() -> Any:
    global _registered
    open_clip = import_open_clip()
    if not _registered:
        # add_model_config scans a file or folder of JSON configs into open_clip's registry.
        open_clip.add_model_config(_CONFIG)
        _registered = True
    return open_clip


def clip_key(name: str, pretrained: str | None) -> str:
    """A short folder-safe key naming CLIP model + weights (local files keyed by their content hash)."""
    weights = pretrained or "untrained"
    path = Path(pretrained) if pretrained else None
    if path is not None and path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        weights = "file-" + digest.hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{name}__{weights}")
    return safe


def load_clip(name: str = "ViT-B-16", pretrained: str | None = None, device: str = "cpu") -> tuple[Any, Any, Any]:
    """Return (model, preprocess, tokenizer) in eval mode.

    ``pretrained`` is None (random weights), an open_clip tag (downloaded only then, on request)
    or a local checkpoint path (loaded without network).
    """
    open_clip = _open_clip()
    if name not in open_clip.list_models():
        raise ConfigError(f"unknown CLIP model {name!r} (try ViT-B-16 or {TINY_NAME})")
    if pretrained and Path(pretrained).suffix in {".pt", ".pth", ".bin", ".safetensors"} and not Path(pretrained).is_file():
        raise ConfigError(f"CLIP checkpoint not found: {pretrained}")
    import torch

    try:
        # Untrained weights must be the same in every process so cached embeddings stay valid.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained or None, device=device)
    except RuntimeError as error:
        raise ConfigError(f"cannot load CLIP {name} weights {pretrained!r}: {error}") from error
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(name)
