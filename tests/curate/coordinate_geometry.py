"""Geometry of the coordinate corpus: SIRST targets, scales, encoding and decoding of positions.

Written independently of langir's parser (issue 17): this module knows only how the corpus
*writes* numbers, and turns the numbers it wrote back into pixels of the original frame.

Scales (what one unit of a written number is):
  px     pixels of the original frame              sent   pixels of the frame as sent (sent_size)
  frac   fraction of the side (0–1)                 pct    percent of the side (0–100)
  g1000  thousandths of the side (0–1000)           g999   CogVLM grid, side = 999
Pixels are column x, row y, origin top-left; a target's box is inclusive pixel indices.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

REPO = Path(__file__).resolve().parents[2]
SCALES = ("px", "sent", "frac", "pct", "g1000", "g999")
POINT_TOL_PX = 2.0  # a point may sit this far outside a target's box and still hit it
MISS_DIST = 0.15  # normalised distance a wrong position keeps from every target's box
CELL_MARGIN = 0.05  # words are written only for positions this far from a third boundary


def sirst_root() -> Path:
    """The SIRST dataset: $LANGIR_SIRST, else ../shared/datasets/sirst beside the repository."""
    return Path(os.environ.get("LANGIR_SIRST", REPO.parent / "shared" / "datasets" / "sirst"))


@dataclass(frozen=True)
class Target:
    """One 8-connected component: centroid (x, y) and inclusive box (x0, y0, x1, y1), pixels."""

    cx: float
    cy: float
    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class Frame:
    id: str
    width: int
    height: int
    targets: tuple[Target, ...]


def load_frames(root: Path | None = None) -> dict[str, Frame]:
    """Every SIRST mask as a Frame, keyed by id, in sorted id order."""
    root = root or sirst_root()
    frames: dict[str, Frame] = {}
    for path in sorted((root / "masks").glob("*_pixels0.png")):
        mask = np.asarray(Image.open(path))
        if mask.ndim == 3:
            mask = mask[..., 0]
        fg = mask > 0
        labels, n = ndimage.label(fg, structure=np.ones((3, 3), dtype=bool))
        targets = []
        for i, sl in enumerate(ndimage.find_objects(labels), start=1):
            rows, cols = np.nonzero(labels[sl] == i)
            targets.append(Target(float(cols.mean() + sl[1].start), float(rows.mean() + sl[0].start),
                                  sl[1].start, sl[0].start, sl[1].stop - 1, sl[0].stop - 1))
        fid = path.name[: -len("_pixels0.png")]
        frames[fid] = Frame(fid, fg.shape[1], fg.shape[0], tuple(targets))
    return frames


def to_px(v: float, side: int, scale: str, sent_side: int | None = None) -> float:
    """A written value on `scale` as pixels of the original side."""
    if scale == "px":
        return v
    if scale == "sent":
        assert sent_side
        return v * side / sent_side
    return v * side / {"frac": 1.0, "pct": 100.0, "g1000": 1000.0, "g999": 999.0}[scale]


def from_px(p: float, side: int, scale: str, sent_side: int | None = None) -> float:
    """Pixels of the original side as a value on `scale` (inverse of to_px)."""
    return p / to_px(1.0, side, scale, sent_side)


def scale_max(side: int, scale: str, sent_side: int | None = None) -> float:
    return {"px": side, "sent": sent_side, "frac": 1.0, "pct": 100.0, "g1000": 1000.0, "g999": 999.0}[scale]


@dataclass(frozen=True)
class Geom:
    """One written position: a point (x, y) or box (x0, y0, x1, y1) as the strings written.

    flip_x / flip_y: the value counts from the right / bottom edge ("30 % in from the right").
    """

    shape: str  # "point" | "box" | "xywh"
    scale: str
    vals: tuple[tuple[str, str], ...]  # (name, written string): x,y | x0,y0,x1,y1 | x0,y0,bw,bh
    flip_x: bool = False
    flip_y: bool = False
    spelled: bool = False  # written as words ("a third of the way"), vals hold the fraction

    def raw(self) -> dict[str, str]:
        return dict(self.vals)


@dataclass
class Intent:
    """What a record means: the positions it writes and the 3×3 cells its words give to targets."""

    geoms: list[Geom] = field(default_factory=list)
    cells: list[tuple[int, int]] = field(default_factory=list)  # (row third, column third)
    count: int | None = None  # number of targets the text states, when it states one
    readings: tuple[str, ...] = ()  # ambiguous records: the scales a reader cannot choose between


def decode(g: Geom, frame: Frame, sent_size: tuple[int, int] | None, scale: str | None = None) -> tuple[float, ...]:
    """The pixels (original frame) a written Geom means; `scale` overrides g.scale (other reading)."""
    scale = scale or g.scale
    sw, sh = sent_size or (None, None)
    raw = g.raw()

    def ax(name: str, horizontal: bool) -> float:
        side, sent, flip = (frame.width, sw, g.flip_x) if horizontal else (frame.height, sh, g.flip_y)
        p = to_px(float(raw[name]), side, scale, sent)
        return side - p if flip else p

    if g.shape == "point":
        return (ax("x", True), ax("y", False))
    if g.shape == "xywh":  # top-left corner, then width and height (COCO style)
        x0, y0 = ax("x0", True), ax("y0", False)
        return (x0, y0, x0 + ax("bw", True), y0 + ax("bh", False))
    x0, x1 = sorted((ax("x0", True), ax("x1", True)))
    y0, y1 = sorted((ax("y0", False), ax("y1", False)))
    return (x0, y0, x1, y1)


def point_hits(x: float, y: float, t: Target, tol: float = POINT_TOL_PX) -> bool:
    return t.x0 - tol <= x <= t.x1 + tol and t.y0 - tol <= y <= t.y1 + tol


def box_hits(box: tuple[float, ...], t: Target) -> bool:
    return box[0] <= t.cx <= box[2] and box[1] <= t.cy <= box[3]


def norm_dist(x: float, y: float, t: Target, frame: Frame) -> float:
    """Euclidean distance, in fractions of width and height, from a point to a target's box."""
    dx = max(t.x0 - x, 0.0, x - (t.x1 + 1)) / frame.width
    dy = max(t.y0 - y, 0.0, y - (t.y1 + 1)) / frame.height
    return math.hypot(dx, dy)


def centre(pos: tuple[float, ...]) -> tuple[float, float]:
    return pos if len(pos) == 2 else ((pos[0] + pos[2]) / 2, (pos[1] + pos[3]) / 2)


def hits(pos: tuple[float, ...], t: Target) -> bool:
    return point_hits(*pos, t) if len(pos) == 2 else box_hits(pos, t)


def misses_all(pos: tuple[float, ...], frame: Frame) -> bool:
    """True when the position is at least MISS_DIST from every target and no box holds a centroid."""
    cx, cy = centre(pos)
    if any(norm_dist(cx, cy, t, frame) < MISS_DIST for t in frame.targets):
        return False
    return len(pos) == 2 or not any(box_hits(pos, t) for t in frame.targets)


def cell_of(x: float, y: float, frame: Frame) -> tuple[int, int]:
    return (min(int(3 * y / frame.height), 2), min(int(3 * x / frame.width), 2))


def clear_of_thirds(x: float, y: float, frame: Frame, margin: float = CELL_MARGIN) -> bool:
    u, v = x / frame.width, y / frame.height
    return all(min(abs(w - 1 / 3), abs(w - 2 / 3)) >= margin for w in (u, v))


def target_cell(t: Target, frame: Frame) -> tuple[int, int]:
    return cell_of(t.cx, t.cy, frame)
