"""Position vocabulary and image regions: the one place that knows the words for *where*.

Regions. An image is split into quadrants (top/bottom × left/right, boundaries at H/2 and W/2,
a point exactly on a boundary goes to bottom/right) and into a 3×3 grid (rows upper / center /
lower, columns left / center / right, boundaries at thirds). Targets are 8-connected components
of the mask, located by their centroid (row, col) in pixel coordinates.

Words. Table 1 of the LangIR paper counts Left, Right, Center, Lower, Upper. A word counts when
it is a whole word, case-insensitive; hyphenated forms count each part ("upper-left" counts
Upper and Left); "leftmost" is not "left". With synonyms, top→Upper, bottom→Lower,
middle/centre/central→Center.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

TABLE1_WORDS = ("left", "right", "center", "lower", "upper")
SYNONYMS = {"top": "upper", "bottom": "lower", "middle": "center", "centre": "center", "central": "center"}
ROW_WORDS = ("upper", "center", "lower")
COL_WORDS = ("left", "center", "right")
EIGHT_CONNECTIVITY = np.ones((3, 3), dtype=bool)

_WORD_RE = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Target:
    """One connected component of a mask."""

    centroid: tuple[float, float]  # (row, col) in pixels
    area: int  # pixels
    bbox: tuple[int, int, int, int]  # (row0, col0, row1, col1), exclusive end


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components of a 2-D mask: (labels, areas[n], centroids[n, 2] as (row, col)).

    The project's one connected-components routine (metrics, validation, templates, outputs).
    Labels are numbered in raster order of each component's first pixel, as ``skimage.measure.label``;
    centroids are regionprops' (mean row, mean col). Sums come from one ``np.bincount`` per axis over
    the foreground pixels only: scipy's center_of_mass/sum_labels cost a fixed ~0.2 ms per call and
    full-image temporaries (2 GB on an 81 Mpx mask).
    """
    from scipy import ndimage  # here, not at the top: every CLI command imports this module at start

    labels, n = ndimage.label(mask > 0, structure=EIGHT_CONNECTIVITY)
    if n == 0:
        return labels, np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols]
    areas = np.bincount(which, minlength=n + 1)[1:]
    sums = np.stack([np.bincount(which, weights=rows, minlength=n + 1)[1:],
                     np.bincount(which, weights=cols, minlength=n + 1)[1:]], axis=1)
    return labels, areas.astype(np.int64), sums / areas[:, None]


def find_targets(mask: np.ndarray) -> list[Target]:
    """8-connected components of a binary mask, in label order (row-major scan)."""
    from scipy import ndimage

    labels, areas, centroids = components(mask)
    slices = ndimage.find_objects(labels)
    return [
        Target((float(c[0]), float(c[1])), int(a), (s[0].start, s[1].start, s[0].stop, s[1].stop))
        for c, a, s in zip(centroids, areas, slices, strict=True)
    ]


def quadrant(row: float, col: float, height: int, width: int) -> str:
    """'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' for a point."""
    vertical = "top" if row < height / 2 else "bottom"
    horizontal = "left" if col < width / 2 else "right"
    return f"{vertical}-{horizontal}"


def grid_cell(row: float, col: float, height: int, width: int) -> tuple[int, int]:
    """(grid row, grid col) of a point on the 3×3 grid, each in 0..2."""
    r = min(int(3 * row / height), 2) if height else 1
    c = min(int(3 * col / width), 2) if width else 1
    return max(r, 0), max(c, 0)


def cell_words(cell: tuple[int, int]) -> tuple[str, str]:
    """Vertical and horizontal word of a grid cell, e.g. (0, 2) → ('upper', 'right')."""
    return ROW_WORDS[cell[0]], COL_WORDS[cell[1]]


def cell_phrase(cell: tuple[int, int]) -> str:
    """Readable region name: 'upper left', 'center', 'lower center', 'center right'."""
    vertical, horizontal = cell_words(cell)
    if vertical == "center" and horizontal == "center":
        return "center"
    return f"{vertical} {horizontal}"


def words(text: str) -> list[str]:
    """Lower-case whole words; hyphens, slashes and punctuation split words."""
    return _WORD_RE.findall(text.lower())


def count_position_words(text: str, synonyms: bool = False) -> Counter:
    """Counts of the Table-1 words in `text` (see the module docstring for the rule)."""
    counts: Counter = Counter()
    for word in words(text):
        if synonyms:
            word = SYNONYMS.get(word, word)
        if word in TABLE1_WORDS:
            counts[word] += 1
    return counts


def has_position_term(text: str) -> bool:
    """True when the text names any position word, synonyms included."""
    return bool(count_position_words(text, synonyms=True))


_HORIZONTAL_SWAPS = {"left": "right", "leftmost": "rightmost", "leftward": "rightward", "leftwards": "rightwards"}
_VERTICAL_SWAPS = {
    "upper": "lower", "top": "bottom", "uppermost": "lowermost", "topmost": "bottommost",
    "above": "below", "upward": "downward", "upwards": "downwards", "up": "down",
}


def _swapper(pairs: dict[str, str]):
    table = {**pairs, **{v: k for k, v in pairs.items()}}
    rx = re.compile(r"\b(" + "|".join(sorted(table, key=len, reverse=True)) + r")\b", re.IGNORECASE)

    def swap(text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            word = m.group(0)
            new = table[word.lower()]
            if word.isupper():
                return new.upper()
            if word[0].isupper():
                return new.capitalize()
            return new

        return rx.sub(repl, text)

    return swap


swap_left_right = _swapper(_HORIZONTAL_SWAPS)
swap_left_right.__doc__ = "Text as seen after a horizontal flip: left↔right (case kept)."
swap_upper_lower = _swapper(_VERTICAL_SWAPS)
swap_upper_lower.__doc__ = "Text as seen after a vertical flip: upper↔lower, top↔bottom, above↔below (case kept)."
