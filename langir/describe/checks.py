"""Reply checks: the text rules of `validate`, applied to each VLM reply before it is kept.

Shared with `langir.curate.validate` (the same functions): the word limit (`text_rules.word_count`),
refusals (`text_rules.is_refusal`; a hedge that still places the target is an answer), "no target"
answers (`text_rules.says_no_target`, short ones included: "None.", "[]"), and whether the reply
places the target: a region claimed *for the target* in words (`langir.text.claims`, so "a cloud bank
on the left" places nothing) or a position written as numbers (`langir.text.coordinates`: pixel
points, boxes, 0–1000 grids, Qwen/Gemini JSON, Molmo points …).

Not checked here, only by `validate` (it needs the mask's targets, not just whether the mask is
empty): whether the claimed region or the numbers hit a target (``contradicts``, ``ambiguous``) and
``plural-mismatch``. A reply that names the wrong region passes these checks; `langir curate` and
`--redo failing` ask it anew.
"""

from __future__ import annotations

from langir.data.text_rules import final_answer, is_refusal, says_no_target, word_count
from langir.text.claims import parse_text
from langir.text.coordinates import read_coordinates
from langir.text.position import Reading


def places_target(text: str) -> bool:
    """True when the text gives the target a position, in words or in numbers (as `validate` reads it)."""
    return _places(read_coordinates(text))


def _places(reading: Reading) -> bool:
    return bool(reading.positions) or bool(parse_text(reading.prose).claims)


def reply_problem(text: str | None, max_words: int = 50, mask_empty: bool | None = None) -> str | None:
    """Why a reply is not a usable description, or None when it is.

    Rules: not empty, not a refusal (a hedge that still places the target is an answer), ≤ `max_words` words, places the
    target (`places_target`). When the mask is known to be empty, a "no target visible" reply is the valid one and a
    positioned claim is rejected.
    """
    if text is not None:
        text = final_answer(text)
    if text is None or not text.strip():
        return "empty reply"
    reading = read_coordinates(text)  # once: numbers decide both whether it places and whether it says none
    placed = _places(reading)
    if is_refusal(text) and not placed:
        # "I can't be certain, but it seems to be in the upper left" is a hedge, not a refusal (as in validate)
        return "refusal"
    n = word_count(text)
    if n > max_words:
        return f"too long ({n} words > {max_words})"
    none = (says_no_target(text) or reading.empty) and not reading.positions  # "[]", {"found": false}: none, as in validate
    if mask_empty and not none:
        return "mask is empty but the reply does not say no target is visible"
    if none:
        return None if mask_empty in (True, None) else "reply says no target but the mask has one"
    if not placed:
        return "no position term: no region or coordinates given for the target (validate: no-position)"
    return None
