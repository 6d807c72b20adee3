"""The one judge: words (claimed regions) and numbers (points, boxes) against the targets of a mask.

## Words
Does a description's claimed region agree with the targets of the mask?

Definitions (also in docs/curate.md):

- targets: 8-connected components of the mask (`langir.data.positions.components`, read by
  `langir.curate.validate.mask_targets`), located by their centroid, normalised to (row/H, col/W);
- claims: the target claims of `langir.text.claims.parse_text`, grouped into *mentions* (one per target the
  text speaks of); a mention holds a target when every one of its claims contains the centroid,
  each claim's region widened by `tolerance` (a fraction of the image side) on each constrained
  side, its intervals chosen by `strictness` (``broad``: half-planes; ``grid``: 3×3 cells);
- matching: when the text insists on distinct targets ("one … the other …", "a second target"),
  mentions are matched one to one to components by an optimal assignment
  (`scipy.optimize.linear_sum_assignment`, cost 0 for a mention that holds the target, else 1 +
  its distance); mentions beyond the number of components, and all mentions of a text that speaks
  of one target, need only hold *some* target;
- verdict
  * ``no-target``   the mask is empty (the text should then say no target is visible);
  * ``contradicts`` the mask has targets and the text says none is visible, or some mention holds
    no (matched) target;
  * ``vague``       the mask has targets and the text claims no region for the target;
  * ``agrees``      the mask has targets, at least one claim is made, and every mention holds its
    target. Targets the text does not mention do not count against it (VLMs often describe the
    most salient one); `covered` reports how many were matched.
- distance: for each claim the distance (image fractions) from its target (the matched one, else
  the nearest) to the claim's region (0 when inside); the image's grounding distance is the
  largest of them, the sort key of "worst grounded".

## Numbers

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

from langir.data.text_rules import says_no_target
from langir.text.claims import parse_text
from langir.text.conventions import qwen25_size
from langir.text.position import Position, Reading
from langir.text.region import Claim, ParsedText
from langir.text.vocabulary import STRICTNESS

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
    given: int = 0  # positions the answer gave


def to_pixels(p: Position, scale: str, size: tuple[int, int], sent: tuple[int, int] | None = None) -> tuple[float, ...]:
    """A position's numbers on `scale` → pixels of the original `size` (W, H) image, x first."""
    w, h = size
    v = p.xy()
    if scale in ("pixels", "qwen2.5"):
        # Qwen2.5-VL answers in pixels of its own resize of the image it was sent
        sw, sh = qwen25_size(*(sent or (w, h))) if scale == "qwen2.5" else (sent or (w, h))
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
                 size: tuple[int, int], sent: tuple[int, int] | None, sized: bool = False) -> list[str]:
    """Scales the positions whose notation fixes none may be on (see the module docstring)."""
    if stated in ("grid1000", "unit", "percent"):
        return [stated]
    if stated == "pixels":
        return ["qwen2.5" if convention == "qwen2.5" else "pixels"]
    if sized and stated is None and all(_fits(p, "pixels", size, sent) for p in positions):
        return ["pixels"]  # the text gave the image's size: numbers within it are its pixels
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
    sized = reading.stated_size is not None and sent is None
    if sized:
        sent = reading.stated_size  # the size the model says it saw
    options = _free_scales(free, reading.stated_scale, convention, targets.size, sent, sized) if free else [""]
    results: dict[str, PositionJudgement] = {}
    for option in options:
        scales = [p.scale or option for p in positions]
        results[option] = _judge_scale(positions, scales, targets, tolerance, sent)
    verdicts = {k: r.verdict for k, r in results.items()}
    if len(set(verdicts.values())) > 1:
        names = " or ".join(k for k in verdicts)
        return PositionJudgement("ambiguous", None, {k: v for k, v in verdicts.items() if k},
                                 reason=f"the numbers read as {names} give different verdicts", given=len(positions))
    option = options[0]
    best = results[option]
    best.scale = option or (positions[0].scale or None)
    best.readings = {k: v for k, v in verdicts.items() if k}
    best.given = len(positions)
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


# ---------------------------------------------------------------- words
VERDICTS = ("agrees", "contradicts", "vague", "no-target")
DEFAULT_TOLERANCE = 0.05
DEFAULT_STRICTNESS = "grid"


@dataclass
class Grounding:
    """The grounding of one description against one mask."""

    verdict: str
    claims: list[Claim] = field(default_factory=list)
    consistent: list[bool] = field(default_factory=list)  # per claim
    nearest: list[int] = field(default_factory=list)  # per claim: index of its target (-1: none)
    distance: float = 0.0
    covered: int = 0  # targets held by some mention
    says_none: bool = False


def _check(strictness: str) -> None:
    if strictness not in STRICTNESS:
        raise ValueError(f"strictness must be one of {', '.join(STRICTNESS)}, not {strictness!r}")


def ground(text: str | ParsedText, centroids: np.ndarray, tolerance: float = DEFAULT_TOLERANCE,
           strictness: str = DEFAULT_STRICTNESS, says_none: bool | None = None) -> Grounding:
    """Verdict for `text` (or its `parse_text` result) against target centroids (N×2, normalised row/col in [0, 1))."""
    _check(strictness)
    parsed = parse_text(text) if isinstance(text, str) else text
    if says_none is None:
        says_none = says_no_target(text) if isinstance(text, str) else False
    centroids = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
    claims = parsed.claims
    n = len(centroids)
    if n == 0:
        return Grounding("no-target", claims, [False] * len(claims), [-1] * len(claims), 0.0, 0, says_none)
    # per claim: which targets it holds, its distance to each
    inside = np.array([c.contains(centroids, tolerance, strictness) for c in claims]).reshape(len(claims), n)
    dist = np.array([c.distance(centroids, strictness) for c in claims]).reshape(len(claims), n)
    mentions = parsed.mentions or ([list(range(len(claims)))] if claims else [])
    holds = np.array([inside[g].all(axis=0) for g in mentions]).reshape(len(mentions), n)
    cost = np.array([np.where(holds[k], 0.0, 1.0 + dist[g].max(axis=0)) for k, g in enumerate(mentions)]).reshape(len(mentions), n)
    target_of = [-1] * len(mentions)
    if parsed.distinct and len(mentions) > 1:
        # imported here: scipy.optimize costs ~0.5 s of start-up, and most texts speak of one target
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            target_of[r] = int(c)
    for k in range(len(mentions)):
        if target_of[k] < 0:  # unmatched: the best target for it
            target_of[k] = int(np.argmin(cost[k]))
    consistent = [False] * len(claims)
    nearest = [-1] * len(claims)
    distances = []
    for k, group in enumerate(mentions):
        t = target_of[k]
        ok = bool(holds[k, t])
        for i in group:
            consistent[i] = ok
            nearest[i] = t
            distances.append(0.0 if ok else float(dist[i, t]))
    covered = len({target_of[k] for k in range(len(mentions)) if holds[k, target_of[k]]})
    if says_none:
        verdict = "contradicts"
    elif not claims:
        verdict = "vague"
    elif all(consistent):
        verdict = "agrees"
    else:
        verdict = "contradicts"
    distance = max(distances, default=0.0)
    if says_none:
        distance = max(distance, 1.0)  # "no target" over a real target: as wrong as it gets
    return Grounding(verdict, claims, consistent, nearest, distance, covered, says_none)
