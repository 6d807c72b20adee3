"""Small hand-made LangIR datasets for the curation tests (generic layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def square(shape: tuple[int, int], centres: list[tuple[int, int]], half: int = 1) -> np.ndarray:
    """A bool mask with a (2·half+1)² square of target at each (row, col)."""
    mask = np.zeros(shape, dtype=bool)
    for r, c in centres:
        mask[max(r - half, 0): r + half + 1, max(c - half, 0): c + half + 1] = True
    return mask


def make_dataset(root: Path, items: dict[str, tuple[np.ndarray, str | bytes | None]],
                 splits: dict[str, list[str]] | None = None) -> Path:
    """Write images/{id}.png, masks/{id}.png and descriptions/{id}.description.txt (text, raw bytes, or none)."""
    for name in ("images", "masks", "descriptions"):
        (root / name).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for sample_id, (mask, text) in items.items():
        image = (rng.random(mask.shape) * 80).astype(np.uint8)
        image[mask] = 250
        Image.fromarray(image).save(root / "images" / f"{sample_id}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"{sample_id}.png")
        path = root / "descriptions" / f"{sample_id}.description.txt"
        if isinstance(text, bytes):
            path.write_bytes(text)
        elif text is not None:
            path.write_text(text, encoding="utf-8")
    for name, ids in (splits or {}).items():
        (root / f"{name}.txt").write_text("".join(f"{i}\n" for i in ids))
    return root


def sirst_target(sirst_root: Path, sample_id: str = "Misc_100"):
    """One real SIRST frame's targets: (MaskTargets, pixel Targets, the first target's centroid (x, y), a point
    of empty sky far from it, the frame's (W, H)). Misc_100 holds one target."""
    from langir.curate.validate import mask_targets

    mask = np.asarray(Image.open(sirst_root / "masks" / f"{sample_id}_pixels0.png")) > 0
    found = mask_targets(mask[..., 0] if mask.ndim == 3 else mask)
    targets = found.pixel_targets()
    (x, y), (w, h) = targets.centroids[0], targets.size
    # empty sky: the point of the frame farthest from the target
    sky = (0.1 * w if x > w / 2 else 0.9 * w), (0.1 * h if y > h / 2 else 0.9 * h)
    return found, targets, (float(x), float(y)), sky, (w, h)
