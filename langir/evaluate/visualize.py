"""Pictures of evaluation results: overlays and Pd–Fa / PR curves (matplotlib Agg, atomic writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from langir.data.atomic import save_figure_atomic
from langir.data.imageio import to_uint8

# Okabe–Ito colours (distinguishable with common colour-vision deficiencies).
HIT = (0, 158, 115)  # bluish green: GT target detected (box around GT ∪ prediction)
MISS = (240, 228, 66)  # yellow: GT target not detected (its pixels tinted, box around it)
FALSE_ALARM = (213, 94, 0)  # vermillion: predicted component matching no GT target
DETECTION = (86, 180, 233)  # sky blue: a detection when there is no ground truth (`langir predict`)
_GAP = 2  # pixels between a component and its box, so the box never covers the component itself


def _box(rgb: np.ndarray, bbox: tuple[int, int, int, int], colour: tuple[int, int, int], scale: int) -> None:
    """Draw a 1-pixel rectangle ``_GAP`` pixels outside (row0, col0, row1, col1) (exclusive end), clipped."""
    h, w = rgb.shape[:2]
    r0, c0 = bbox[0] * scale - _GAP - 1, bbox[1] * scale - _GAP - 1
    r1, c1 = bbox[2] * scale + _GAP, bbox[3] * scale + _GAP
    rr0, rr1, cc0, cc1 = max(r0, 0), min(r1, h - 1), max(c0, 0), min(c1, w - 1)
    for r in (r0, r1):
        if 0 <= r < h:
            rgb[r, cc0 : cc1 + 1] = colour
    for c in (c0, c1):
        if 0 <= c < w:
            rgb[rr0 : rr1 + 1, c] = colour


def _tint(rgb: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], scale: int) -> None:
    if scale > 1:
        mask = np.kron(mask, np.ones((scale, scale), bool)).astype(bool)
    rgb[mask] = (0.35 * rgb[mask] + 0.65 * np.array(colour, np.float32)).astype(np.uint8)


def _bbox(labels: np.ndarray, slices: list[Any], index: int) -> tuple[int, int, int, int]:
    s = slices[index]
    return s[0].start, s[1].start, s[0].stop, s[1].stop


def _legend(rgb: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    from PIL import ImageDraw

    strip = Image.new("RGB", (rgb.shape[1], 14), (0, 0, 0))
    draw = ImageDraw.Draw(strip)
    x = 3
    for text, colour in entries:
        draw.rectangle([x, 3, x + 7, 10], outline=colour)
        draw.text((x + 11, 1), text, fill=colour)
        x += 11 + int(draw.textlength(text)) + 10
    return np.concatenate([rgb, np.asarray(strip)], axis=0)


def overlay(image: np.ndarray, target: np.ndarray | None, pred: np.ndarray, *, pd_distance: float = 3.0,
            pd_matching: str = "greedy", legend: bool = True) -> np.ndarray:
    """RGB uint8 picture of one result; small targets stay visible.

    Predicted pixels are tinted, and every component gets a box drawn *around* it (a 2-pixel gap, never
    over it): with ground truth, hits (matched as Pd matches them) in green, misses in yellow (their GT
    pixels tinted yellow), false alarms in vermillion; without ground truth every detection in blue.
    Frames under 512 px are drawn at 2× so an 8-pixel target is not hidden by its own box.
    """
    from langir.data.positions import components
    from langir.evaluate.metrics import match_components

    pred = np.asarray(pred, bool)
    scale = 2 if max(image.shape) < 512 else 1
    grey = to_uint8(image)
    if scale > 1:
        grey = np.kron(grey, np.ones((scale, scale), np.uint8))
    rgb = np.stack([grey] * 3, axis=-1)
    p_labels, _, p_cent = components(pred)
    p_slices = ndimage.find_objects(p_labels)
    if target is None:
        _tint(rgb, pred, DETECTION, scale)
        for j in range(len(p_slices)):
            _box(rgb, _bbox(p_labels, p_slices, j), DETECTION, scale)
        return _legend(rgb, [("detection", DETECTION)]) if legend else rgb
    target = np.asarray(target, bool)
    g_labels, _, g_cent = components(target)
    g_slices = ndimage.find_objects(g_labels)
    pairs = dict(match_components(g_cent, p_cent, pd_distance, pd_matching))
    matched_pred = set(pairs.values())
    missed = np.isin(g_labels, [i + 1 for i in range(len(g_slices)) if i not in pairs]) & ~pred
    _tint(rgb, missed, MISS, scale)
    _tint(rgb, pred & np.isin(p_labels, [j + 1 for j in matched_pred]), HIT, scale)
    _tint(rgb, pred & ~np.isin(p_labels, [j + 1 for j in matched_pred]), FALSE_ALARM, scale)
    for i in range(len(g_slices)):
        g = _bbox(g_labels, g_slices, i)
        if i in pairs:
            p = _bbox(p_labels, p_slices, pairs[i])
            _box(rgb, (min(g[0], p[0]), min(g[1], p[1]), max(g[2], p[2]), max(g[3], p[3])), HIT, scale)
        else:
            _box(rgb, g, MISS, scale)
    for j in range(len(p_slices)):
        if j not in matched_pred:
            _box(rgb, _bbox(p_labels, p_slices, j), FALSE_ALARM, scale)
    return _legend(rgb, [("hit", HIT), ("miss", MISS), ("false alarm", FALSE_ALARM)]) if legend else rgb


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
    try:
        save_figure_atomic(path, fig, format="png", dpi=120)
    finally:
        plt.close(fig)
