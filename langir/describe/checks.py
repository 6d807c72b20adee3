"""Reply validation: the same text rules `validate` uses, applied to each VLM reply."""

from __future__ import annotations

from langir.data.positions import has_position_term
from langir.data.text_rules import is_refusal, says_no_target, word_count


def reply_problem(text: str | None, max_words: int = 50, mask_empty: bool | None = None) -> str | None:
    """Why a reply is not a usable description, or None when it is.

    Rules: not empty, not a refusal (a hedge that still places the target is an answer), ≤ `max_words` words, names a position. When the mask is known
    to be empty, a "no target visible" reply is the valid one and a positioned claim is rejected.
    """
    if text is None or not text.strip():
        return "empty reply"
    if is_refusal(text) and not has_position_term(text):
        # "I can't be certain, but it seems to be in the upper left" is a hedge, not a refusal (as in validate)
        return "refusal"
    n = word_count(text)
    if n > max_words:
        return f"too long ({n} words > {max_words})"
    if mask_empty and not says_no_target(text):
        return "mask is empty but the reply does not say no target is visible"
    if says_no_target(text):
        return None if mask_empty in (True, None) else "reply says no target but the mask has one"
    if not has_position_term(text):
        return "no position term (left/right/upper/lower/center/top/bottom)"
    return None
