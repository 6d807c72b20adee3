"""Build small made-up dataset trees for layout and IO tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def make_tree(root: Path, ids: list[str], image: str, mask: str, size=(24, 32), splits: dict[str, list[str]] | None = None) -> Path:
    """Images with one 2×2 target at (5, 6) and their masks, named by `{id}` patterns."""
    for sample_id in ids:
        img = np.full(size, 40, np.uint8)
        img[5:7, 6:8] = 250
        write_png(root / image.replace("{id}", sample_id), img)
        m = np.zeros(size, np.uint8)
        m[5:7, 6:8] = 255
        write_png(root / mask.replace("{id}", sample_id), m)
    for name, members in (splits or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(members) + "\n")
    return root
