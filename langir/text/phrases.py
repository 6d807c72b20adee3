"""Step 2–4 helpers of the prose reader: position words and their senses, phrases, clock positions."""

from __future__ import annotations

from dataclasses import dataclass

from langir.text.region import Claim
from langir.text.vocabulary import (
    _CLOCK_WORDS,
    _DEGREE,
    _HALF,
    _HALF_WORDS,
    _HORIZONTAL,
    _LEFT_VERB_POST,
    _LEFT_VERB_PRE,
    _NEAR_MARKS,
    _NEGATOR_BEFORE_FROM,
    _NEGATORS,
    _NOT_PLACES,
    _PART_WORDS,
    _PLACE_AFTER,
    _RIGHT_INTENSIFIED,
    _SIDE_PRE,
    _SUPERLATIVE,
    _THIRD_WORDS,
    _VERTICAL,
    MAX_GAP,
    OTHER_NOUNS,
    PLACE_NOUNS,
    TARGET_NOUNS,
    canonical,
)


# ---------------------------------------------------------------- tokens → items
@dataclass
class _Pos:
    """A position word: its canonical value, forced axis (for center) and scale."""

    index: int
    value: str  # upper lower left right center
    axis: str | None = None  # 'v' | 'h' for center pinned to one axis
    scale: str = "plain"
    raw: str = ""


def _position_word(tokens: list[str], i: int) -> _Pos | None:
    tok = tokens[i]
    prev = tokens[i - 1] if i > 0 else ""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok in ("near_left", "near_right", "near_above", "near_below", "near_higher", "near_lower"):
        value = {"near_left": "left", "near_right": "right", "near_above": "upper", "near_higher": "upper",
                 "near_below": "lower", "near_lower": "lower"}[tok]
        return _Pos(i, value, scale="near", raw=tok)
    if tok.startswith("half_") and tok[5:] in _HALF:
        return _Pos(i, tok[5:], scale="half", raw=tok[5:])
    if tok in ("above_center", "below_center"):
        return _Pos(i, "upper" if tok.startswith("above") else "lower", scale="half", raw=tok)
    if tok in ("high_pos", "low_pos"):
        return _Pos(i, "upper" if tok == "high_pos" else "lower", raw=tok)
    word = canonical(tok)
    if word is None:
        return None
    if nxt == "than":  # "lower than the other": a comparison, no region
        return None
    if nxt in _NOT_PLACES:
        return None  # "lower contrast", "top priority", "right angle", "upper atmosphere"
    if tok in ("lower", "upper") and prev in _DEGREE and nxt not in _PLACE_AFTER:
        return None  # "one slightly lower": a comparison with the other target
    if tok == "right" and nxt in _RIGHT_INTENSIFIED and prev not in _SIDE_PRE:
        return None  # "right at the left edge", "right next to a cloud"
    if tok == "left" and prev not in _SIDE_PRE and (prev in _LEFT_VERB_PRE or nxt in _LEFT_VERB_POST):
        return None  # "a jet has left a contrail"
    pos = _Pos(i, word, raw=tok)
    if tok in _SUPERLATIVE:
        pos.scale = "third"
    return pos


def _is_number(tok: str) -> bool:
    return tok in _CLOCK_WORDS


# ---------------------------------------------------------------- phrases
class _Phrase:
    def __init__(self) -> None:
        self.vertical: str | None = None
        self.horizontal: str | None = None
        self.v_scale = "plain"
        self.h_scale = "plain"
        self.center: str | None = None  # None | 'both' | 'v' | 'h'
        self.words: list[str] = []
        self.start = -1
        self.end = -1

    def empty(self) -> bool:
        return not (self.vertical or self.horizontal or self.center)

    def accepts(self, pos: _Pos) -> bool:
        if pos.value in _VERTICAL:
            return self.vertical is None and self.center != "v"
        if pos.value in _HORIZONTAL:
            return self.horizontal is None and self.center != "h"
        if self.center is not None:
            return False
        if pos.axis == "v":
            return self.vertical is None
        if pos.axis == "h":
            return self.horizontal is None
        return self.vertical is None or self.horizontal is None

    def add(self, pos: _Pos) -> None:
        if pos.value in _VERTICAL:
            self.vertical, self.v_scale = pos.value, pos.scale
        elif pos.value in _HORIZONTAL:
            self.horizontal, self.h_scale = pos.value, pos.scale
        else:
            self.center = pos.axis or "both"
        if self.start < 0:
            self.start = pos.index
        self.end = pos.index
        self.words.append(pos.raw)

    def single_side(self) -> bool:
        """One side axis named and nothing else ('upper', not 'upper left' or 'upper center')."""
        return self.center is None and (self.vertical is None) != (self.horizontal is None)

    def scale(self, scale: str) -> None:
        """A scale word after the phrase ('half', 'third', 'edge', 'corner') applies to its side axes."""
        for axis in ("v", "h"):
            value = self.vertical if axis == "v" else self.horizontal
            if value and value != "center":
                current = self.v_scale if axis == "v" else self.h_scale
                if current in ("plain", "near") or (current == "third" and scale == "half"):
                    if axis == "v":
                        self.v_scale = scale
                    else:
                        self.h_scale = scale

    def claim(self) -> tuple[Claim, bool]:
        """The claim, and whether its centre fills axes only by default (no axis word pinned it)."""
        vertical, horizontal = self.vertical, self.horizontal
        inferred = False
        if self.center == "v":
            vertical = "center"
        elif self.center == "h":
            horizontal = "center"
        elif self.center == "both":
            if vertical is None and horizontal is None:
                vertical = horizontal = "center"
                inferred = True
            elif vertical is None:
                vertical = "center"
            elif horizontal is None:
                horizontal = "center"
        return Claim(vertical, horizontal, " ".join(self.words), self.v_scale, self.h_scale), inferred


def _phrases(tokens: list[str], lo: int, hi: int) -> list[_Phrase]:
    """Position phrases among tokens[lo:hi] (one clause)."""
    found: list[_Phrase] = []
    phrase = _Phrase()
    gap = 0

    def close() -> None:
        nonlocal phrase
        if not phrase.empty():
            found.append(phrase)
        phrase = _Phrase()

    for i in range(lo, hi):
        tok = tokens[i]
        pos = _position_word(tokens, i)
        if pos is None:
            if _negates(tokens, i) or tok == "or":
                close()  # "centre rather than the upper left", "upper left or center": two phrases
                continue
            if not phrase.empty():
                if tok in _HALF_WORDS or (tok in _PART_WORDS and phrase.single_side()):
                    phrase.scale("half")  # "left side", "upper part of the image": broad by their words
                elif tok in _THIRD_WORDS and tok not in ("far", "very", "extreme"):
                    phrase.scale("third")
                gap += 1
                if gap > MAX_GAP:
                    close()
            continue
        # scale words before the phrase ("the far left", "the extreme right")
        if i > lo and tokens[i - 1] in ("far", "extreme", "very") and pos.value != "center":
            pos.scale = "third"
        elif pos.value != "center" and pos.scale == "plain" and _NEAR_MARKS & set(tokens[max(lo, i - 4): i]):
            pos.scale = "near"  # "slightly to the left", "just off-centre toward the upper right"
        if pos.value == "center":
            window = tokens[max(lo, i - 3): min(hi, i + 3)]
            if "vertically" in window:
                pos.axis = "v"
            elif "horizontally" in window or "across" in window:
                pos.axis = "h"
        if not phrase.empty() and not phrase.accepts(pos):
            if pos.value == "center" and phrase.vertical and phrase.horizontal:
                phrase.words.append(pos.raw)  # "the middle of the upper-left quadrant" only modifies
                phrase.end = i
                gap = 0
                continue
            close()
        phrase.add(pos)
        gap = 0
    close()
    # relative phrases: "left of the cloud", "to the right of the other target"
    kept = []
    for ph in found:
        j = ph.end + 1
        while j < hi and tokens[j] in _HALF_WORDS | _THIRD_WORDS | {"part", "portion", "region", "area", "section"}:
            j += 1
        if j < hi and (tokens[j] == "of" or (tokens[j] in ("in", "on", "within") and ph.center and not (ph.vertical or ph.horizontal))):
            # "left of the cloud", "centered in a gap between clouds": placed relative to a thing
            k = j + 1
            while k < hi and k < j + 5 and tokens[k] not in TARGET_NOUNS | OTHER_NOUNS | PLACE_NOUNS:
                k += 1
            if k < hi and tokens[k] in (TARGET_NOUNS | OTHER_NOUNS) - {"it"} and k <= j + 4:
                continue
        kept.append(ph)
    return kept


def _clock_claims(tokens: list[str], lo: int, hi: int) -> list[tuple[int, Claim]]:
    out = []
    for i in range(lo, hi):
        if tokens[i] == "o'clock" and i > lo and _is_number(tokens[i - 1]):
            hour = _CLOCK_WORDS[tokens[i - 1]]
            if 1 <= hour <= 12:
                v = "upper" if hour in (10, 11, 12, 1, 2) else "lower" if hour in (4, 5, 6, 7, 8) else "center"
                h = "right" if 1 <= hour <= 5 else "left" if 7 <= hour <= 11 else "center"
                out.append((i - 1, Claim(v, h, f"{tokens[i - 1]} o'clock", clock=hour)))
    return out


def _negates(tokens: list[str], k: int) -> bool:
    t = tokens[k]
    return t in _NEGATORS or (t in _NEGATOR_BEFORE_FROM and k + 1 < len(tokens) and tokens[k + 1] in ("from", "away"))
