"""Pictures of evaluation results: overlays and Pd–Fa / PR curves (matplotlib Agg, atomic writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from langir.data.atomic import atomic_path
from langir.data.imageio import to_uint8


def save_png(array: np.ndarray, path: Path) -> None:
    """Write a uint8 array as PNG atomically (no half-written file on failure)."""
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def overlay(image: np.ndarray, target: np.ndarray | None, pred: np.ndarray) -> np.ndarray:
    """RGB uint8: grey image, prediction filled red (blended), ground-truth outline green."""
    grey = to_uint8(image)
    rgb = np.stack([grey] * 3, axis=-1).astype(np.float32)
    rgb[pred] = 0.5 * rgb[pred] + 0.5 * np.array([255, 0, 0])
    if target is not None:
        edge = target & ~ndimage.binary_erosion(target, structure=np.ones((3, 3), bool))
        rgb[edge] = (0, 255, 0)
    return rgb.clip(0, 255).astype(np.uint8)


def plot_curves(rows: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Pd–Fa curve (Fa ×1e-6) and precision–recall curve side by side, one point per threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    fa = [r["fa"] * 1e6 for r in rows]
    a.plot(fa, [r["pd"] for r in rows], "o-")
    b.plot([r["recall"] for r in rows], [r["precision"] for r in rows], "o-")
    for r, x in zip(rows, fa, strict=True):
        a.annotate(f"{r['threshold']:.2g}", (x, r["pd"]), fontsize=7)
        b.annotate(f"{r['threshold']:.2g}", (r["recall"], r["precision"]), fontsize=7)
    a.set(xlabel="Fa (×1e-6)", ylabel="Pd", title="Pd–Fa")
    b.set(xlabel="recall", ylabel="precision", title="PR", xlim=(0, 1.02), ylim=(0, 1.02))
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
