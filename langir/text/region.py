"""A claimed region (`Claim`) and the claims of one text (`ParsedText`): intervals, containment, distance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from langir.text.vocabulary import _HALF, _NEAR, _THIRD, CENTER_INTERVAL, CLOCK_HALF_ANGLE


@dataclass(frozen=True)
class Claim:
    """One claimed region: a value per axis (None = that axis is not constrained) and its scale."""

    vertical: str | None
    horizontal: str | None
    phrase: str  # the words of the text it came from
    v_scale: str = "plain"  # plain | half | third | near
    h_scale: str = "plain"
    clock: int | None = None  # 1..12: a direction from the image centre
    alternatives: tuple[Claim, ...] = ()  # "upper left or upper center": any of them may hold

    @property
    def label(self) -> str:
        """Readable name: 'upper left', 'center', 'center right', 'left', 'upper', '2 o'clock'."""
        if self.alternatives:
            return " or ".join(a.label for a in self.alternatives)
        if self.clock is not None:
            return f"{self.clock} o'clock"
        if self.vertical == "center" and self.horizontal == "center":
            return "center"
        return " ".join(w for w in (self.vertical, self.horizontal) if w)

    def _axis(self, value: str | None, scale: str, strictness: str) -> tuple[float, float]:
        if value is None:
            return 0.0, 1.0
        if value == "center":
            return CENTER_INTERVAL
        if scale == "near" and strictness == "grid":
            return _NEAR[value]
        if scale in ("half", "near") or (scale == "plain" and strictness == "broad"):
            return _HALF[value]
        return _THIRD[value]

    def bounds(self, tolerance: float = 0.0, strictness: str = "broad") -> tuple[float, float, float, float]:
        """(row0, row1, col0, col1) of the region, widened by `tolerance` on each constrained side."""
        if self.alternatives:  # the box around all alternatives
            boxes = np.array([a.bounds(tolerance, strictness) for a in self.alternatives])
            return (float(boxes[:, 0].min()), float(boxes[:, 1].max()), float(boxes[:, 2].min()), float(boxes[:, 3].max()))
        r0, r1 = self._axis(self.vertical, self.v_scale, strictness)
        c0, c1 = self._axis(self.horizontal, self.h_scale, strictness)
        t = tolerance
        return (r0 - t if r0 > 0 else r0, r1 + t if r1 < 1 else r1, c0 - t if c0 > 0 else c0, c1 + t if c1 < 1 else c1)

    def contains(self, points: np.ndarray, tolerance: float = 0.0, strictness: str = "broad") -> np.ndarray:
        """Which of the normalised (row, col) points (N×2) lie in the region (bool N)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self.alternatives:
            return np.any([a.contains(points, tolerance, strictness) for a in self.alternatives], axis=0)
        rows, cols = points[:, 0], points[:, 1]
        if self.clock is not None:
            dy, dx = 0.5 - rows, cols - 0.5
            angle = np.degrees(np.arctan2(dx, dy)) % 360
            diff = np.abs((angle - 30 * (self.clock % 12) + 180) % 360 - 180)
            # a target at the very centre has no direction: any hour is as good as any
            return (diff <= CLOCK_HALF_ANGLE[strictness]) | (np.hypot(dx, dy) < 0.05 + tolerance)
        r0, r1, c0, c1 = self.bounds(tolerance, strictness)
        # half-open intervals like positions.grid_cell / quadrant; the last one closed at 1
        in_r = (rows >= r0) & ((rows < r1) | (r1 >= 1))
        in_c = (cols >= c0) & ((cols < c1) | (c1 >= 1))
        return in_r & in_c

    def distance(self, points: np.ndarray, strictness: str = "broad") -> np.ndarray:
        """Euclidean distance (in image fractions) of each normalised point to the region; 0 inside."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self.alternatives:
            return np.min([a.distance(points, strictness) for a in self.alternatives], axis=0)
        if self.clock is not None:
            inside = self.contains(points, 0.0, strictness)
            return np.where(inside, 0.0, np.hypot(points[:, 0] - 0.5, points[:, 1] - 0.5))
        r0, r1, c0, c1 = self.bounds(0.0, strictness)
        dr = np.maximum(np.maximum(r0 - points[:, 0], points[:, 0] - r1), 0.0)
        dc = np.maximum(np.maximum(c0 - points[:, 1], points[:, 1] - c1), 0.0)
        return np.hypot(dr, dc)


@dataclass
class ParsedText:
    """Target claims of a text, grouped into mentions (one per target spoken of)."""

    claims: list[Claim] = field(default_factory=list)
    mentions: list[list[int]] = field(default_factory=list)  # claim indices per mention
    distinct: bool = False  # the text insists on several distinct targets ("another", "the second", …)



def claim_cells(claim: Claim, strictness: str = "broad") -> np.ndarray:
    """3×3 bool array of the grid cells (rows upper/center/lower × cols left/center/right) a claim overlaps."""
    cells = np.zeros((3, 3), dtype=bool)
    r0, r1, c0, c1 = claim.bounds(0.0, strictness)
    edges = np.array([0.0, 1 / 3, 2 / 3, 1.0])
    rows = (edges[:-1] < r1) & (edges[1:] > r0)
    cols = (edges[:-1] < c1) & (edges[1:] > c0)
    cells[np.ix_(rows, cols)] = True
    return cells
