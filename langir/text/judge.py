"""The judge for positions given as numbers: points and boxes against the targets of a mask.

- A **point** hits a target when it lies in the target's bounding box grown by the tolerance
  (a fraction of the image's width and height, at least `MIN_SLACK_PX` pixels).
- A **box** hits a target when it contains the target's centroid (with `MIN_SLACK_PX` of slack for
  rounding); a box covering more than `MAX_BOX_AREA` of the image locates nothing.
- An answer's numbers **agree** when every position hits some target; a position that hits none is a
  false point (Pd / Fa style: `covered` targets hit, `false_points` positions hitting nothing).

Which scale the numbers are on (`readings`): the notation's own (tags, ``box_2d``, ``%``, fractions),
else the scale the text states, else the model family's convention (`langir.text.conventions`) when
the numbers fit the image under it, else every scale the numbers can be on given the image size
(pixels of the image as sent, 0–1000). When the possible readings give different verdicts the
answer is ``ambiguous`` — never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from langir.text.conventions import qwen25_size
from langir.text.coordinates import Position, Reading

MIN_SLACK_PX = 1.5
MAX_BOX_AREA = 0.5
_FIT = 1.02  # numbers may overshoot the image side by this much and still be read on that scale


@dataclass
class Targets:
    """Targets of one mask in pixels of the original image (x right, y down)."""

    size: tuple[int, int]  # (W, H)
    boxes: np.ndarray  # N×4: x0, y0, x1, y1 (x1, y1 exclusive: the box covers [x0, x1) × [y0, y1))
    centroids: np.ndarray  # N×2: x, y (pixel indices, as regionprops)

    def __len__(self) -> int:
        return len(self.centroids)

    @classmethod
    def from_normalised(cls, centroids: np.ndarray, size: tuple[int, int] = (1000, 1000)) -> Targets:
        """Targets known only by normalised (row, col) centroids: one-pixel boxes around them."""
        c = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
        w, h = size
        xy = np.stack([c[:, 1] * w, c[:, 0] * h], axis=1)
        boxes = np.concatenate([np.floor(xy), np.floor(xy) + 1], axis=1)
        return cls(size, boxes, xy)


@dataclass
class PositionJudgement:
    """Verdict of an answer's numbers against the targets."""

    verdict: str  # agrees | contradicts | ambiguous
    scale: str | None  # the reading used (None: ambiguous)
    readings: dict[str, str] = field(default_factory=dict)  # scale → verdict, for every possible reading
    hits: list[int] = field(default_factory=list)  # per position: index of a target it hits, -1: none
    covered: int = 0
    false_points: int = 0
    points: list[tuple[float, ...]] = field(default_factory=list)  # pixels of the original image
    reason: str = ""


def to_pixels(p: Position, scale: str, size: tuple[int, int], sent: tuple[int, int] | None = None) -> tuple[float, ...]:
    """A position's numbers on `scale` → pixels of the original `size` (W, H) image, x first."""
    w, h = size
    v = p.xy()
    if scale in ("pixels", "qwen2.5"):
        sw, sh = sent or (qwen25_size(w, h) if scale == "qwen2.5" else (w, h))
        fx, fy = w / sw, h / sh
    else:
        unit = {"grid1000": 1000.0, "gemini": 1000.0, "percent": 100.0, "unit": 1.0}[scale]
        fx, fy = w / unit, h / unit
    out = [v[i] * (fx if i % 2 == 0 else fy) for i in range(len(v))]
    if p.axes:  # offsets measured from the right or bottom
        for i, from_end in enumerate(p.axes):
            if from_end:
                out[i] = (w if i == 0 else h) - out[i]
    return tuple(out)


def _fits(p: Position, scale: str, size: tuple[int, int], sent: tuple[int, int] | None) -> bool:
    px = to_pixels(p, scale, size, sent)
    w, h = size
    return all(-0.02 * (w if i % 2 == 0 else h) <= v <= _FIT * (w if i % 2 == 0 else h) for i, v in enumerate(px))


def _free_scales(positions: list[Position], stated: str | None, convention: str | None,
                 size: tuple[int, int], sent: tuple[int, int] | None) -> list[str]:
    """Scales the positions whose notation fixes none may be on (see the module docstring)."""
    if stated in ("grid1000", "unit", "percent"):
        return [stated]
    if stated == "pixels":
        return ["qwen2.5" if convention == "qwen2.5" else "pixels"]
    if convention is not None and convention != "gemini" and all(_fits(p, convention, size, sent) for p in positions):
        return [convention]
    if convention == "gemini" and all(_fits(p, "grid1000", size, sent) for p in positions):
        return ["grid1000"]
    options = [s for s in ("pixels", "grid1000") if all(_fits(p, s, size, sent) for p in positions)]
    return options or ["pixels"]


def _hit(px: tuple[float, ...], targets: Targets, tolerance: float) -> int:
    if not len(targets):
        return -1
    w, h = targets.size
    b = targets.boxes
    if len(px) == 2:
        tx, ty = max(tolerance * w, MIN_SLACK_PX), max(tolerance * h, MIN_SLACK_PX)
        x, y = px
        inside = (b[:, 0] - tx <= x) & (x <= b[:, 2] + tx) & (b[:, 1] - ty <= y) & (y <= b[:, 3] + ty)
    else:
        x0, x1 = sorted((px[0], px[2]))
        y0, y1 = sorted((px[1], px[3]))
        if (x1 - x0) * (y1 - y0) > MAX_BOX_AREA * w * h:
            return -1
        s = MIN_SLACK_PX
        c = targets.centroids
        inside = (x0 - s <= c[:, 0]) & (c[:, 0] <= x1 + s) & (y0 - s <= c[:, 1]) & (c[:, 1] <= y1 + s)
    found = np.flatnonzero(inside)
    return int(found[0]) if len(found) else -1


def _judge_scale(positions: list[Position], scales: list[str], targets: Targets, tolerance: float,
                 sent: tuple[int, int] | None) -> PositionJudgement:
    points = [to_pixels(p, s, targets.size, sent) for p, s in zip(positions, scales, strict=True)]
    hits = [_hit(px, targets, tolerance) for px in points]
    false_points = sum(1 for t in hits if t < 0)
    verdict = "agrees" if false_points == 0 else "contradicts"
    return PositionJudgement(verdict, None, {}, hits, len({t for t in hits if t >= 0}), false_points, points)


def judge_positions(reading: Reading, targets: Targets, tolerance: float = 0.05, convention: str | None = None,
                    sent: tuple[int, int] | None = None) -> PositionJudgement | None:
    """Verdict of the numbers in `reading` (None when it gives no position)."""
    if reading.problem and not reading.positions:
        return PositionJudgement("contradicts", None, reason=f"unreadable coordinates: {reading.problem}")
    positions = [replace(p) for p in reading.positions]  # readings are cached: never change them
    if not positions:
        return None
    if convention == "gemini":  # Gemini's "point": [y, x] like its box_2d
        for p in positions:
            if p.key == "point" and not p.native:
                p.order, p.scale, p.native = "yx", "grid1000", True
    free = [p for p in positions if p.scale is None]
    options = _free_scales(free, reading.stated_scale, convention, targets.size, sent) if free else [""]
    results: dict[str, PositionJudgement] = {}
    for option in options:
        scales = [p.scale or option for p in positions]
        results[option] = _judge_scale(positions, scales, targets, tolerance, sent)
    verdicts = {k: r.verdict for k, r in results.items()}
    if len(set(verdicts.values())) > 1:
        names = " or ".join(k for k in verdicts)
        return PositionJudgement("ambiguous", None, {k: v for k, v in verdicts.items() if k},
                                 reason=f"the numbers read as {names} give different verdicts")
    option = options[0]
    best = results[option]
    best.scale = option or (positions[0].scale or None)
    best.readings = {k: v for k, v in verdicts.items() if k}
    if best.verdict == "contradicts":
        best.reason = f"{best.false_points} of {len(positions)} position(s) hit no target"
    if reading.problem:
        best.verdict, best.reason = "contradicts", f"unreadable coordinates: {reading.problem}"
    return best


def judge_stored(stored: list[dict[str, Any]], targets: Targets, tolerance: float = 0.05) -> PositionJudgement | None:
    """Verdict of a structured answer's stored targets (pixels of the original image, `answer_targets`)."""
    positions = []
    for t in stored:
        box = t.get("box")
        if box is not None:
            positions.append(Position("box", tuple(float(v) for v in box), scale="pixels", native=True, source="stored"))
        else:
            positions.append(Position("point", tuple(float(v) for v in t["point"]), scale="pixels", native=True, source="stored"))
    if not positions:
        return None
    return judge_positions(Reading(positions=positions), targets, tolerance)
