"""Regions a description claims: "upper left", "lower right corner", "near the center", …

The text is cut into *phrases*; each phrase becomes one `Claim`, a constraint on the target
centroid's normalised position (row/H, col/W in [0, 1)) on two axes:

- vertical:   upper (top) → row < 1/2 · center (middle, centre, central) → 1/3 ≤ row < 2/3 ·
  lower (bottom) → row ≥ 1/2;
- horizontal: left → col < 1/2 · center → 1/3 ≤ col < 2/3 · right → col ≥ 1/2.

Upper/lower/left/right are half-planes, so both the quadrant words ("top-left quadrant") and the
3×3-grid words ("upper left", the upper third lies inside the upper half) of
`langir.data.positions` are true of the same target; "center" is the middle third, the grid's
center cell. An axis a phrase does not name is unconstrained.

How a phrase is built (words as in `positions.words`, synonyms from `positions.SYNONYMS`, plus the
superlatives leftmost/rightmost/topmost/uppermost/bottommost/lowermost):

- position words join one phrase when at most `MAX_GAP` other words lie between them and no
  punctuation (. , ; : ! ?) or conjunction (and, but, or, while, whereas, with) does;
  "in the middle of the right side" is one phrase (vertical center, horizontal right);
- a word that names an axis the phrase has already set (the "lower" of "upper left and lower
  right") starts a new phrase;
- "center" fills the axis the other words leave free: "center right" → vertical center,
  "upper center" → horizontal center, "near the center" alone → both axes; when both axes are
  already named ("the middle of the upper-left quadrant") it only modifies and adds nothing.

Known limits (documented in docs/curate.md): negation ("not in the center") and positions of other
objects ("a tree on the right") are read as claims about the target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from langir.data.positions import COL_WORDS, ROW_WORDS, SYNONYMS, TABLE1_WORDS

MAX_GAP = 3
# Interval of each axis value on [0, 1): half-planes for the side words, middle third for center.
AXIS_INTERVALS: dict[str, tuple[float, float]] = {
    "upper": (0.0, 0.5),
    "lower": (0.5, 1.0),
    "left": (0.0, 0.5),
    "right": (0.5, 1.0),
    "center": (1 / 3, 2 / 3),
}
_EXTRA = {
    "leftmost": "left", "rightmost": "right", "topmost": "upper", "uppermost": "upper",
    "bottommost": "lower", "lowermost": "lower",
}
_BREAK_WORDS = frozenset({"and", "but", "or", "while", "whereas", "with"})
_TOKEN = re.compile(r"[a-z]+|[.,;:!?]")
_VERTICAL = frozenset(w for w in ROW_WORDS if w != "center")
_HORIZONTAL = frozenset(w for w in COL_WORDS if w != "center")


def canonical(word: str) -> str | None:
    """Canonical position word ('upper', 'lower', 'left', 'right', 'center') of a lower-case word, or None."""
    word = SYNONYMS.get(word, _EXTRA.get(word, word))
    return word if word in TABLE1_WORDS else None


@dataclass(frozen=True)
class Claim:
    """One claimed region: a value per axis (None = that axis is not constrained)."""

    vertical: str | None
    horizontal: str | None
    phrase: str  # the words of the text it came from

    @property
    def label(self) -> str:
        """Readable name: 'upper left', 'center', 'center right', 'left', 'upper'."""
        if self.vertical == "center" and self.horizontal == "center":
            return "center"
        return " ".join(w for w in (self.vertical, self.horizontal) if w)

    def bounds(self, tolerance: float = 0.0) -> tuple[float, float, float, float]:
        """(row0, row1, col0, col1) of the region, widened by `tolerance` on each constrained side."""
        r0, r1 = AXIS_INTERVALS[self.vertical] if self.vertical else (0.0, 1.0)
        c0, c1 = AXIS_INTERVALS[self.horizontal] if self.horizontal else (0.0, 1.0)
        t = tolerance
        return (r0 - t if r0 > 0 else r0, r1 + t if r1 < 1 else r1, c0 - t if c0 > 0 else c0, c1 + t if c1 < 1 else c1)

    def contains(self, points: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
        """Which of the normalised (row, col) points (N×2) lie in the region (bool N)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        r0, r1, c0, c1 = self.bounds(tolerance)
        # half-open intervals like positions.grid_cell / quadrant; the last one closed at 1
        rows, cols = points[:, 0], points[:, 1]
        in_r = (rows >= r0) & ((rows < r1) | (r1 >= 1))
        in_c = (cols >= c0) & ((cols < c1) | (c1 >= 1))
        return in_r & in_c

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Euclidean distance (in image fractions) of each normalised point to the region; 0 inside."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        r0, r1, c0, c1 = self.bounds()
        dr = np.maximum(np.maximum(r0 - points[:, 0], points[:, 0] - r1), 0.0)
        dc = np.maximum(np.maximum(c0 - points[:, 1], points[:, 1] - c1), 0.0)
        return np.hypot(dr, dc)


class _Phrase:
    def __init__(self) -> None:
        self.vertical: str | None = None
        self.horizontal: str | None = None
        self.center = False
        self.words: list[str] = []

    def empty(self) -> bool:
        return not (self.vertical or self.horizontal or self.center)

    def accepts(self, word: str) -> bool:
        if word in _VERTICAL:
            return self.vertical is None
        if word in _HORIZONTAL:
            return self.horizontal is None
        # center needs a free axis and must not repeat; parse_claims handles the other cases
        return not self.center and (self.vertical is None or self.horizontal is None)

    def add(self, word: str, raw: str) -> None:
        if word in _VERTICAL:
            self.vertical = word
        elif word in _HORIZONTAL:
            self.horizontal = word
        else:
            self.center = True
        self.words.append(raw)

    def claim(self) -> Claim:
        vertical, horizontal = self.vertical, self.horizontal
        if self.center:
            if vertical is None and horizontal is None:
                vertical = horizontal = "center"
            elif vertical is None:
                vertical = "center"
            elif horizontal is None:
                horizontal = "center"
        return Claim(vertical, horizontal, " ".join(self.words))


def parse_claims(text: str) -> list[Claim]:
    """The regions `text` claims, one `Claim` per phrase, in reading order (see the module docstring)."""
    claims: list[Claim] = []
    phrase = _Phrase()
    gap = 0

    def close() -> None:
        nonlocal phrase
        if not phrase.empty():
            claims.append(phrase.claim())
        phrase = _Phrase()

    for token in _TOKEN.findall(text.lower()):
        word = canonical(token)
        if word is None:
            if token in _BREAK_WORDS or not token.isalpha():
                close()
            elif not phrase.empty():
                gap += 1
                if gap > MAX_GAP:
                    close()
            continue
        if not phrase.empty() and not phrase.accepts(word):
            # "center" with both axes named modifies the phrase ("middle of the upper-left quadrant")
            if word == "center" and phrase.vertical and phrase.horizontal:
                phrase.words.append(token)
                gap = 0
                continue
            close()
        phrase.add(word, token)
        gap = 0
    close()
    return claims


def claim_cells(claim: Claim) -> np.ndarray:
    """3×3 bool array of the grid cells (rows upper/center/lower × cols left/center/right) a claim overlaps."""
    cells = np.zeros((3, 3), dtype=bool)
    r0, r1, c0, c1 = claim.bounds()
    edges = np.array([0.0, 1 / 3, 2 / 3, 1.0])
    rows = (edges[:-1] < r1) & (edges[1:] > r0)
    cols = (edges[:-1] < c1) & (edges[1:] > c0)
    cells[np.ix_(rows, cols)] = True
    return cells
