"""Rules for description text: word counts, refusals, "no target" statements, plural wording.

Shared by `describe` (checking VLM replies) and `validate` (checking description files), so that
both judge a text the same way.
"""

from __future__ import annotations

import re

NO_TARGET_SENTENCE = "No small target is visible in the infrared image."

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*")

# Openings the LangIR paper saw ("As an AI assistant, I am unable to do this task", §5.3.2) and the
# usual variants of VLM refusals and deflections.
_REFUSAL = re.compile(
    r"""(
        \bas\s+an?\s+(ai|artificial\s+intelligence|language\s+model|assistant)\b
      | \bi\s*(am|'m|’m)\s+(unable|not\s+able|sorry)\b
      | \bi\s+(cannot|can\s*not|can't|can’t|won't|won’t|will\s+not)\s+(help|assist|do|provide|identify|locate|detect|analy[sz]e|determine|comply|view|see)\b
      | \bi\s+(do\s+not|don't|don’t)\s+have\s+the\s+ability\b
      | \bunable\s+to\s+(assist|help|comply|process|analy[sz]e)\b
      | \bsorry,?\s+(but\s+)?i\b
      | \bi\s+apologi[sz]e\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_NO_TARGET = re.compile(
    r"""(
        \bno\s+(small\s+|visible\s+|discernible\s+|clear\s+|distinct\s+|obvious\s+)*(infrared\s+)?target\b
      | \b(no|not\s+any)\s+(small\s+)?(objects?|targets?)\s+(is|are|can\s+be)\s+(visible|seen|found|detected|present)\b
      | \btarget\s+(is\s+)?(not|cannot\s+be|can't\s+be)\s+(visible|seen|found|detected|present|identified|located)\b
      | \b(there\s+is|there's)\s+no\s+(visible\s+)?(small\s+)?target\b
      | \b(cannot|can\s*not|can't|can’t|unable\s+to|could\s+not|couldn't)\s+(identify|locate|detect|see|find|spot)\s+(any|a)\s+(visible\s+)?(small\s+)?target\b
      | \bdoes\s+not\s+(contain|show|include)\s+(a|any)\s+(visible\s+)?(small\s+)?target\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_PLURAL = re.compile(r"\b(targets|objects)\b|\b(two|three|four|five|several|multiple|many)\s+(small\s+|bright\s+)*(targets?|objects?)\b", re.IGNORECASE)


def word_count(text: str) -> int:
    """Words as a reader counts them: 'upper-left' and "target's" are one word each."""
    return len(_WORD.findall(text))


def is_refusal(text: str) -> bool:
    """True when the text declines the task instead of answering it (a "no target" answer is no refusal)."""
    return bool(_REFUSAL.search(text)) and not says_no_target(text)


def says_no_target(text: str) -> bool:
    """True when the text states that no target is visible (the valid answer for an empty mask)."""
    return bool(_NO_TARGET.search(text))


def mentions_plural_target(text: str) -> bool:
    """True when the text speaks of several targets ('targets', 'two small targets', 'multiple objects')."""
    return bool(_PLURAL.search(text))
