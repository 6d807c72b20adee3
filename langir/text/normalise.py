"""Step 1 of the prose reader: markdown dropped, fixed expressions rewritten to their meaning
("up and to the left" → upper left, "30 % from the left" → the cell it names)."""

from __future__ import annotations

import re

from langir.text.vocabulary import _REWRITES

_FRACTIONS = {"half": 50, "a half": 50, "one half": 50, "a third": 33, "one third": 33, "two thirds": 67,
              "a quarter": 25, "one quarter": 25, "three quarters": 75, "a fifth": 20, "one fifth": 20,
              "two fifths": 40, "three fifths": 60, "four fifths": 80}
_OFFSET = re.compile(
    r"\b(?:about\s+|roughly\s+|approximately\s+|around\s+|some\s+)?"
    r"(\d{1,3})\s*(?:%|percent|per\s+cent)|((?:a|one|two|three|four)[- ](?:half|thirds|third|quarters|quarter|fifths|fifth))\b"
)
_OFFSET_TAIL = re.compile(r"\s+(?:of\s+the\s+(?:way|width|height)\s+)?(?:in\s+)?(?:from|down\s+from|up\s+from|across\s+from)\s+(?:the\s+)?(left|right|top|bottom)\b")


def _offsets(text: str) -> str:
    """'30 % from the left' → 'left', 'two-thirds of the way down from the top' → 'lower' (the cell it names)."""
    out, pos = [], 0
    for m in _OFFSET.finditer(text):
        tail = _OFFSET_TAIL.match(text, m.end())
        if not tail:
            continue
        value = int(m.group(1)) if m.group(1) else _FRACTIONS.get(m.group(2).replace("-", " "), -1)
        if not 0 <= value <= 100:
            continue
        side = tail.group(1)
        frac = value / 100 if side in ("left", "top") else 1 - value / 100
        axis_low, axis_high = ("left", "right") if side in ("left", "right") else ("upper", "lower")
        word = axis_low if frac < 1 / 3 else axis_high if frac >= 2 / 3 else (
            "horizontally center" if side in ("left", "right") else "vertically center")
        out.append(text[pos: m.start()] + f" {word} ")
        pos = tail.end()
    return "".join(out) + text[pos:] if out else text


def _normalise(text: str) -> str:
    text = text.lower()
    if "\n" in text:
        lines = []
        for line in text.splitlines():
            for _, rx, repl in _REWRITES[:2]:
                line = rx.sub(repl, line)
            lines.append(line)
        text = "\n".join(lines)
    else:
        text = _REWRITES[0][1].sub(" ", text)
    if "from the" in text:
        text = _offsets(text)
    for trigger, rx, repl in _REWRITES[2:]:
        if trigger is None or any(t in text for t in trigger):
            text = rx.sub(repl, text)
    return text
