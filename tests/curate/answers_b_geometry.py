"""Targets, scales and 3×3 grid words for the second answer corpus (answers_b), from the SIRST masks.

Pixel coordinates are index coordinates of the original image (pixel i has its centre at i). A normalised
value v on a scale of the sent image's width maps back to v * W (fraction), v / 100 * W (percent),
v / 1000 * W (0–1000 grid) or v / 999 * W (CogVLM's 0–999), x first unless the scale name ends in "yx".
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

# scale name → divisor of a value into a 0–1 fraction of the side (None: pixels)
SCALES = {"px": None, "qwen25": None, "frac": 1.0, "pct": 100.0, "k1000": 1000.0, "k1000yx": 1000.0, "k999": 999.0}
WORD_MARGIN = 0.06  # generator margin from a third line (the brief asks ≥ 0.05)
FAR = 0.2  # generator distance of a wrong position from every target box (the brief asks ≥ 0.15)


@dataclass(frozen=True)
class Target:
    x0: int
    y0: int
    x1: int
    y1: int
    cx: float
    cy: float


@dataclass(frozen=True)
class Frame:
    name: str
    w: int
    h: int
    targets: tuple[Target, ...]


def sirst_root(repo: Path) -> Path | None:
    """$LANGIR_SIRST, else ../shared/datasets/sirst beside the repo; None when it has no masks."""
    root = Path(os.environ.get("LANGIR_SIRST") or repo.parent / "shared" / "datasets" / "sirst")
    return root if (root / "masks").is_dir() else None


def load_frame(root: Path, name: str) -> Frame:
    mask = np.asarray(Image.open(root / "masks" / f"{name}_pixels0.png")) > 0
    if mask.ndim == 3:
        mask = mask[..., 0]
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    boxes = ndimage.find_objects(labels)
    cents = ndimage.center_of_mass(mask, labels, range(1, n + 1))
    targets = tuple(
        Target(sl[1].start, sl[0].start, sl[1].stop - 1, sl[0].stop - 1, float(c[1]), float(c[0]))
        for sl, c in zip(boxes, cents, strict=True)
    )
    return Frame(name, mask.shape[1], mask.shape[0], targets)


def load_frames(root: Path) -> list[Frame]:
    """Every frame whose image has its mask's size (Misc_111's mask is an upscale of its image: left out,
    since "pixels of the original" would mean two different grids)."""
    names = sorted(p.name[: -len("_pixels0.png")] for p in (root / "masks").glob("*_pixels0.png"))
    frames = [load_frame(root, n) for n in names]
    return [f for f in frames if Image.open(root / "images" / f"{f.name}.png").size == (f.w, f.h)]


def smart_resize(w: int, h: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 28 * 28 * 1280) -> tuple[int, int]:
    """Qwen2.5-VL's resize (qwen_vl_utils.smart_resize): sides rounded to multiples of 28, area bounded."""
    hb, wb = max(factor, round(h / factor) * factor), max(factor, round(w / factor) * factor)
    if hb * wb > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        hb, wb = math.floor(h / beta / factor) * factor, math.floor(w / beta / factor) * factor
    elif hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        hb, wb = math.ceil(h * beta / factor) * factor, math.ceil(w * beta / factor) * factor
    return wb, hb


def pixel_frame(scale: str, frame: Frame, sent: tuple[int, int] | None) -> tuple[int, int]:
    """Width and height of the pixel grid a pixel scale refers to."""
    sw, sh = sent or (frame.w, frame.h)
    return smart_resize(sw, sh) if scale == "qwen25" else (sw, sh)


def to_scale(x: float, y: float, scale: str, frame: Frame, sent: tuple[int, int] | None) -> tuple[float, float]:
    """Original index-pixel (x, y) → the value on `scale` (unrounded, x first)."""
    div = SCALES[scale]
    if div is None:
        pw, ph = pixel_frame(scale, frame, sent)
        return x * pw / frame.w, y * ph / frame.h
    return (x + 0.5) / frame.w * div, (y + 0.5) / frame.h * div


def from_scale(vx: float, vy: float, scale: str, frame: Frame, sent: tuple[int, int] | None) -> tuple[float, float]:
    """Value on `scale` (x first) → original index pixels."""
    div = SCALES[scale]
    if div is None:
        pw, ph = pixel_frame(scale, frame, sent)
        return vx * frame.w / pw, vy * frame.h / ph
    return vx / div * frame.w - 0.5, vy / div * frame.h - 0.5


def box_dist(frame: Frame, bx0: float, by0: float, bx1: float, by1: float, t: Target) -> float:
    """Normalised Euclidean gap between a box (a point when degenerate) and a target box grown by 1 px."""
    dx = max(t.x0 - 1 - bx1, 0.0, bx0 - (t.x1 + 1)) / frame.w
    dy = max(t.y0 - 1 - by1, 0.0, by0 - (t.y1 + 1)) / frame.h
    return math.hypot(dx, dy)


def min_dist(frame: Frame, box: tuple[float, float, float, float]) -> float:
    return min(box_dist(frame, *box, t) for t in frame.targets)


def cell(frame: Frame, x: float, y: float) -> tuple[int, int]:
    """(row, col) of the 3×3 grid cell holding index pixel (x, y)."""
    return min(2, int(3 * (y + 0.5) / frame.h)), min(2, int(3 * (x + 0.5) / frame.w))


def margin(frame: Frame, t: Target) -> float:
    """Smallest distance (fraction of the side) of the centroid from a third line, both axes."""
    fx, fy = (t.cx + 0.5) / frame.w, (t.cy + 0.5) / frame.h
    return min(abs(f - k / 3) for f in (fx, fy) for k in (1, 2))


def wordable(frame: Frame, t: Target) -> bool:
    return margin(frame, t) >= WORD_MARGIN


def far_cells(frame: Frame) -> list[tuple[int, int]]:
    """Cells two steps (Chebyshev) from every target's cell."""
    cells = {cell(frame, t.cx, t.cy) for t in frame.targets}
    return [(r, c) for r in range(3) for c in range(3) if all(max(abs(r - a), abs(c - b)) >= 2 for a, b in cells)]
