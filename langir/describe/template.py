"""Offline descriptions written from the ground-truth mask (the paper's §5.6.4 baseline and a richer style).

Every position word comes from `langir.data.positions` (quadrant at H/2, W/2; 3×3 grid at thirds;
targets are 8-connected components located by their centroid), so `validate` can parse the text
back and agree with the mask. Wording says 'target', never 'targets' (§5.6.6): several targets are
listed one sentence each ("One small target … Another small target …").
"""

from __future__ import annotations

import numpy as np

from langir.data.positions import Target, cell_phrase, find_targets, grid_cell, quadrant
from langir.data.text_rules import NO_TARGET_SENTENCE, word_count

STYLES = ("quadrant", "rich")
MAX_WORDS = 50
# Size words from the target's pixel area. SIRST/IRSTD targets are mostly under 9×9 = 81 px
# (SPIE definition of a small target: < 0.15 % of a 256×256 image ≈ 98 px); we call ≤ 9 px tiny.
_SIZE_WORDS = ((9, "tiny"), (81, "small"))
_LARGE_WORD = "fairly large"
_ORDINALS = ("One", "Another", "A third", "A fourth", "A fifth", "A sixth", "A seventh", "An eighth")


def size_word(area: int) -> str:
    """'tiny' (≤ 9 px), 'small' (≤ 81 px) or 'fairly large' (> 81 px)."""
    for limit, word in _SIZE_WORDS:
        if area <= limit:
            return word
    return _LARGE_WORD


def _region(t: Target, shape: tuple[int, int]) -> tuple[str, str]:
    h, w = shape
    row, col = t.centroid
    return cell_phrase(grid_cell(row, col, h, w)), quadrant(row, col, h, w)


def _quadrant_text(targets: list[Target], shape: tuple[int, int]) -> str:
    if len(targets) == 1:
        return f"The small target lies in the {_region(targets[0], shape)[1]} quadrant."
    parts = []
    for i, t in enumerate(targets):
        lead = _ORDINALS[i] if i < len(_ORDINALS) else "Another"
        parts.append(f"{lead} small target lies in the {_region(t, shape)[1]} quadrant.")
    return " ".join(parts)


def _rich_sentence(lead: str, t: Target, shape: tuple[int, int], with_quadrant: bool) -> str:
    cell, quad = _region(t, shape)
    size = size_word(t.area)
    verb = "lies" if size == "small" else f"is {size} and lies"
    where = "the center of the image" if cell == "center" else f"the {cell} of the image"
    tail = f", in the {quad} quadrant" if with_quadrant else ""
    return f"{lead} small target {verb} in {where}{tail}."


def _rich_text(targets: list[Target], shape: tuple[int, int], max_words: int) -> str:
    if len(targets) == 1:
        return _rich_sentence("The", targets[0], shape, True)
    # Several targets: the count first, then one sentence each; drop quadrants, then later
    # targets, until the text fits the word limit (every sentence kept stays true).
    head = f"The image shows {len(targets)} small target regions."
    for with_quadrant in (True, False):
        sentences = [head] + [
            _rich_sentence(_ORDINALS[i] if i < len(_ORDINALS) else "Another", t, shape, with_quadrant)
            for i, t in enumerate(targets)
        ]
        text = " ".join(sentences)
        if word_count(text) <= max_words:
            return text
    while len(sentences) > 2 and word_count(" ".join(sentences)) > max_words:
        sentences.pop()
    return " ".join(sentences)


def _part(cell: tuple[int, int]) -> str:
    phrase = cell_phrase(cell)
    return "the center of the image" if phrase == "center" else f"the {phrase.replace(' ', '-')} part of the image"


def region_hint(mask: np.ndarray) -> str:
    """The mask's regions as a hint for the `grounded` prompt (3×3 grid of the centroids).

    "The small target lies in the upper-left part of the image." / "There are 2 small target regions:
    one in …, one in …." / "No small target is marked in this image."
    """
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.any(axis=-1)
    targets = find_targets(mask)
    if not targets:
        return "No small target is marked in this image."
    h, w = int(mask.shape[0]), int(mask.shape[1])
    parts = [_part(grid_cell(t.centroid[0], t.centroid[1], h, w)) for t in targets]
    if len(parts) == 1:
        return f"The small target lies in {parts[0]}."
    return f"There are {len(parts)} small target regions: " + ", ".join(f"one in {p}" for p in parts) + "."


def template_description(mask: np.ndarray, style: str = "rich", max_words: int = MAX_WORDS) -> str:
    """Deterministic description of a ground-truth mask.

    style "quadrant": "The small target lies in the top-left quadrant." (one sentence per target);
    style "rich": 3×3-grid region + quadrant, a size word from the area, and the count when > 1.
    An empty mask gives `NO_TARGET_SENTENCE`. The text stays within `max_words` words.
    """
    if style not in STYLES:
        raise ValueError(f"unknown template style {style!r}; choose one of {', '.join(STYLES)}")
    mask = np.asarray(mask)
    if mask.ndim == 3:  # an RGB(A) mask: any non-zero channel marks the target
        mask = mask.any(axis=-1)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    targets = find_targets(mask)
    if not targets:
        return NO_TARGET_SENTENCE
    shape = (int(mask.shape[0]), int(mask.shape[1]))
    if style == "quadrant":
        text = _quadrant_text(targets, shape)
        sentences = text.split(". ")
        while word_count(text) > max_words and len(sentences) > 1:
            sentences.pop()
            text = ". ".join(sentences).rstrip(".") + "."
        return text
    return _rich_text(targets, shape, max_words)
