"""Choosing written numbers for the coordinate corpus: hits inside a target, misses far from all."""

from __future__ import annotations

import math
import random

from tests.curate.coordinate_geometry import (
    Frame,
    Geom,
    Target,
    cell_of,
    clear_of_thirds,
    decode,
    from_px,
    hits,
    misses_all,
    scale_max,
    target_cell,
    to_px,
)


def fmt(v: float, dec: int, pad: int = 0) -> str:
    s = f"{v:.{dec}f}"
    return s.zfill(pad) if pad else s


def _fit_axis(lo: float, hi: float, c: float, side: int, scale: str, sent: int | None, dec: int,
              pad: int, flip: bool) -> str | None:
    """A written value whose pixel lies in [lo, hi] (widened by ≤ 1 px), nearest to c."""
    step = 10.0 ** -dec
    target = side - c if flip else c
    base = round(from_px(target, side, scale, sent) / step)
    for tol in (0.0, 1.0):
        best = None
        for k in range(-6, 7):
            v = (base + k) * step
            if v < 0 or v > scale_max(side, scale, sent):
                continue
            p = to_px(v, side, scale, sent)
            p = side - p if flip else p
            if lo - tol <= p <= hi + tol and (best is None or abs(p - c) < best[0]):
                best = (abs(p - c), v)
        if best:
            return fmt(best[1], dec, pad)
    return None


def fit_point(t: Target, f: Frame, scale: str, rng: random.Random, dec: int = 0, pad: int = 0,
              sent: tuple[int, int] | None = None, jitter: bool = True,
              flip: tuple[bool, bool] = (False, False)) -> Geom | None:
    """A point inside target t (aim: centroid, or a random spot of its box when jitter)."""
    ax = rng.uniform(t.x0, t.x1) if jitter and rng.random() < 0.5 else t.cx
    ay = rng.uniform(t.y0, t.y1) if jitter and rng.random() < 0.5 else t.cy
    sw, sh = sent or (None, None)
    x = _fit_axis(t.x0, t.x1, ax, f.width, scale, sw, dec, pad, flip[0])
    y = _fit_axis(t.y0, t.y1, ay, f.height, scale, sh, dec, pad, flip[1])
    if x is None or y is None:
        return None
    g = Geom("point", scale, (("x", x), ("y", y)), flip_x=flip[0], flip_y=flip[1])
    assert hits(decode(g, f, sent), t)
    return g


def fit_box(t: Target, f: Frame, scale: str, rng: random.Random, dec: int = 0, pad: int = 0,
            sent: tuple[int, int] | None = None) -> Geom:
    """A box around target t, loose by 1–4 px as VLM boxes are, written outward-rounded."""
    m = [rng.randint(1, 4) for _ in range(4)]
    lo_x, lo_y = max(0.0, t.x0 - m[0]), max(0.0, t.y0 - m[1])
    hi_x, hi_y = min(f.width - 1.0, t.x1 + m[2]), min(f.height - 1.0, t.y1 + m[3])
    sw, sh = sent or (None, None)
    step = 10.0 ** -dec

    def down(p: float, side: int, s: int | None) -> str:
        return fmt(math.floor(from_px(p, side, scale, s) / step + 1e-9) * step, dec, pad)

    def up(p: float, side: int, s: int | None) -> str:
        v = min(math.ceil(from_px(p, side, scale, s) / step - 1e-9) * step, scale_max(side, scale, s))
        return fmt(v, dec, pad)

    g = Geom("box", scale, (("x0", down(lo_x, f.width, sw)), ("y0", down(lo_y, f.height, sh)),
                            ("x1", up(hi_x, f.width, sw)), ("y1", up(hi_y, f.height, sh))))
    assert hits(decode(g, f, sent), t)
    return g


def far_spot(f: Frame, rng: random.Random, words: bool = False, avoid: list[tuple[float, float]] = (),
             min_dist: float = 0.19) -> tuple[float, float] | None:
    """A pixel (x, y) of empty sky ≥ min_dist from every target's box (and from `avoid` spots).

    words: the spot must be clear of third boundaries, and its 3×3 cell at least two steps from
    every target's cell, so words naming it are plainly wrong.
    """
    from tests.curate.coordinate_geometry import norm_dist

    for _ in range(400):
        u, v = rng.uniform(0.06, 0.94), rng.uniform(0.06, 0.94)
        x, y = u * f.width, v * f.height
        if any(norm_dist(x, y, t, f) < min_dist for t in f.targets):
            continue
        if any(math.hypot((x - a) / f.width, (y - b) / f.height) < 0.2 for a, b in avoid):
            continue
        if words:
            if not clear_of_thirds(x, y, f, 0.07):
                continue
            cell = cell_of(x, y, f)
            if any(abs(cell[0] - tc[0]) + abs(cell[1] - tc[1]) < 2 for tc in map(lambda t: target_cell(t, f), f.targets)):
                continue
        return x, y
    return None


def far_point(x: float, y: float, f: Frame, scale: str, dec: int = 0, pad: int = 0,
              sent: tuple[int, int] | None = None, flip: tuple[bool, bool] = (False, False)) -> Geom:
    sw, sh = sent or (None, None)
    px = f.width - x if flip[0] else x
    py = f.height - y if flip[1] else y
    g = Geom("point", scale, (("x", fmt(from_px(px, f.width, scale, sw), dec, pad)),
                              ("y", fmt(from_px(py, f.height, scale, sh), dec, pad))), flip[0], flip[1])
    assert misses_all(decode(g, f, sent), f)
    return g


def far_box(x: float, y: float, f: Frame, scale: str, rng: random.Random, dec: int = 0, pad: int = 0,
            sent: tuple[int, int] | None = None) -> Geom:
    """A target-sized box (5–16 px a side) centred on an empty spot."""
    hw, hh = rng.uniform(2.5, 8), rng.uniform(2.5, 8)
    sw, sh = sent or (None, None)
    vals = (("x0", fmt(from_px(max(0.0, x - hw), f.width, scale, sw), dec, pad)),
            ("y0", fmt(from_px(max(0.0, y - hh), f.height, scale, sh), dec, pad)),
            ("x1", fmt(from_px(min(f.width - 1.0, x + hw), f.width, scale, sw), dec, pad)),
            ("y1", fmt(from_px(min(f.height - 1.0, y + hh), f.height, scale, sh), dec, pad)))
    g = Geom("box", scale, vals)
    assert misses_all(decode(g, f, sent), f)
    return g


def word_target(f: Frame) -> bool:
    """Words can be written for this frame: every target clear of the third boundaries."""
    return all(clear_of_thirds(t.cx, t.cy, f) for t in f.targets)
