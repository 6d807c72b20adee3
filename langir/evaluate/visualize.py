"""Pictures of evaluation results: overlays and Pd–Fa / PR curves (matplotlib Agg, atomic writes)."""

from __future__ import annotations

import functools
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
WEAK = (204, 121, 167)  # reddish purple: a detection whose peak probability is under `strong` (`langir predict`)
MARGIN = 8  # output pixels of dark frame around the picture: a border component's box is drawn whole in it
BACKGROUND = (32, 32, 32)
_GAP = 2  # pixels between a component and its box, so the box never covers the component itself
_LINE = 2  # box line width, pixels
FONT_PX = 13  # legend and score labels: readable at 100 % zoom


@functools.lru_cache(maxsize=4)
def _font(size: int = FONT_PX):
    """DejaVu Sans from matplotlib's data (always installed with it); Pillow's scalable default otherwise."""
    from PIL import ImageFont

    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except (OSError, ImportError):
        return ImageFont.load_default(size)


def _box(rgb: np.ndarray, bbox: tuple[int, int, int, int], colour: tuple[int, int, int], scale: int) -> tuple[int, int, int, int]:
    """Draw a `_LINE`-pixel rectangle `_GAP` pixels outside (row0, col0, row1, col1) (exclusive end) of the frame.

    `rgb` carries the `MARGIN` on every side, so the box of a component on the image border is drawn
    whole. Returns the box's outer corners (r0, c0, r1, c1) in `rgb` pixels.
    """
    h, w = rgb.shape[:2]
    r0 = MARGIN + bbox[0] * scale - _GAP - _LINE
    c0 = MARGIN + bbox[1] * scale - _GAP - _LINE
    r1 = MARGIN + bbox[2] * scale + _GAP + _LINE  # exclusive
    c1 = MARGIN + bbox[3] * scale + _GAP + _LINE
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, h), min(c1, w)
    rgb[r0 : r0 + _LINE, c0:c1] = colour
    rgb[r1 - _LINE : r1, c0:c1] = colour
    rgb[r0:r1, c0 : c0 + _LINE] = colour
    rgb[r0:r1, c1 - _LINE : c1] = colour
    return r0, c0, r1, c1


def _tint(rgb: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], scale: int) -> None:
    if scale > 1:
        mask = np.kron(mask, np.ones((scale, scale), bool)).astype(bool)
    inner = rgb[MARGIN : MARGIN + mask.shape[0], MARGIN : MARGIN + mask.shape[1]]
    inner[mask] = (0.35 * inner[mask] + 0.65 * np.array(colour, np.float32)).astype(np.uint8)


def _bbox(slices: list[Any], index: int) -> tuple[int, int, int, int]:
    s = slices[index]
    return s[0].start, s[1].start, s[0].stop, s[1].stop


def _label(picture: Image.Image, box: tuple[int, int, int, int], text: str, colour: tuple[int, int, int]) -> None:
    """`text` beside a box (right of it, or left near the right edge), outlined in black to read on any background."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(picture)
    font = _font()
    width = draw.textlength(text, font=font)
    r0, c0, r1, c1 = box
    x = c1 + 2 if c1 + 2 + width <= picture.width else max(c0 - 2 - width, 0)
    y = min(max(r0 - 2, 0), picture.height - FONT_PX - 3)
    draw.text((x, y), text, fill=colour, font=font, stroke_width=2, stroke_fill=(0, 0, 0))


def _legend(rgb: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """A strip under the picture: a swatch and the meaning of each colour, wrapped onto more rows when narrow."""
    from PIL import ImageDraw

    font = _font()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    row_h = FONT_PX + 8
    rows: list[list[tuple[str, tuple[int, int, int], int]]] = [[]]
    x = 4
    for text, colour in entries:
        width = 16 + int(measure.textlength(text, font=font)) + 14
        if rows[-1] and x + width > rgb.shape[1]:
            rows.append([])
            x = 4
        rows[-1].append((text, colour, x))
        x += width
    strip = Image.new("RGB", (rgb.shape[1], row_h * len(rows) + 2), (0, 0, 0))
    draw = ImageDraw.Draw(strip)
    for i, row in enumerate(rows):
        top = i * row_h + 3
        for text, colour, x0 in row:
            draw.rectangle([x0, top + 2, x0 + 10, top + 12], outline=colour, width=_LINE)
            draw.text((x0 + 16, top), text, fill=colour, font=font)
    return np.concatenate([rgb, np.asarray(strip)], axis=0)


def overlay(image: np.ndarray, target: np.ndarray | None, pred: np.ndarray, *, pd_distance: float = 3.0,
            pd_matching: str = "greedy", legend: bool = True, prob: np.ndarray | None = None,
            strong: float = 0.75) -> np.ndarray:
    """RGB uint8 picture of one result; small targets stay visible.

    The frame is drawn inside a `MARGIN`-pixel dark border, at 2× when under 512 px. Predicted pixels
    are tinted and every component gets a box *around* it (a 2-pixel gap, never over it; whole even on
    the image border). Without ground truth (`langir predict`): detections in sky blue, those whose
    peak probability is under `strong` in reddish purple. With ground truth (`langir eval
    --save-preds`): hits (matched as Pd matches them) green, misses yellow (GT pixels tinted), false
    alarms vermillion. With `prob`, each predicted component is labelled "n p": its number in
    targets.csv and its peak probability.
    """
    from langir.data.positions import components
    from langir.evaluate.metrics import match_components

    pred = np.asarray(pred, bool)
    scale = 2 if max(image.shape) < 512 else 1
    grey = to_uint8(image)
    if scale > 1:
        grey = np.kron(grey, np.ones((scale, scale), np.uint8))
    rgb = np.empty((grey.shape[0] + 2 * MARGIN, grey.shape[1] + 2 * MARGIN, 3), np.uint8)
    rgb[:] = BACKGROUND
    rgb[MARGIN:-MARGIN, MARGIN:-MARGIN] = grey[..., None]
    p_labels, _, p_cent = components(pred)
    p_slices = ndimage.find_objects(p_labels)
    peaks = (ndimage.maximum(prob, p_labels, np.arange(1, len(p_slices) + 1)) if prob is not None and len(p_slices)
             else [None] * len(p_slices))
    labels: list[tuple[tuple[int, int, int, int], str, tuple[int, int, int]]] = []

    def boxed(j: int, colour: tuple[int, int, int], bbox: tuple[int, int, int, int] | None = None) -> None:
        corners = _box(rgb, bbox or _bbox(p_slices, j), colour, scale)
        if peaks[j] is not None:
            labels.append((corners, f"{j + 1} {float(peaks[j]):.2f}", colour))

    if target is None:
        colours = [DETECTION if p is None or p >= strong else WEAK for p in peaks]
        for colour in set(colours):
            _tint(rgb, np.isin(p_labels, [j + 1 for j, c in enumerate(colours) if c == colour]), colour, scale)
        for j, colour in enumerate(colours):
            boxed(j, colour)
        entries = [("detection", DETECTION)]
        if prob is not None:
            entries = [(f"detection, peak p ≥ {strong:g}", DETECTION), (f"weak: p < {strong:g}", WEAK),
                       ("label: target number, peak p", (230, 230, 230))]
    else:
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
            g = _bbox(g_slices, i)
            if i in pairs:
                p = _bbox(p_slices, pairs[i])
                boxed(pairs[i], HIT, (min(g[0], p[0]), min(g[1], p[1]), max(g[2], p[2]), max(g[3], p[3])))
            else:
                _box(rgb, g, MISS, scale)
        for j in range(len(p_slices)):
            if j not in matched_pred:
                boxed(j, FALSE_ALARM)
        entries = [("hit", HIT), ("miss", MISS), ("false alarm", FALSE_ALARM)]
        if prob is not None:
            entries.append(("label: target number, peak p", (230, 230, 230)))
    if labels:
        picture = Image.fromarray(rgb)
        for corners, text, colour in labels:
            _label(picture, corners, text, colour)
        rgb = np.asarray(picture).copy()
    return _legend(rgb, entries) if legend else rgb


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
