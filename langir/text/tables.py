"""Positions in markdown tables whose header names x and y columns (part of `langir.text.coordinates`).

``| # | x | y | note |``, ``| ID | X | Y |``, ``| Target | x (px) | y (px) |``, ``| x_min | y_min | x_max | y_max |``:
each body row gives one point (or box); a unit in the header (``px``, ``%``) fixes the scale. The table is
replaced by the words of its other cells, one sentence per row, so the prose reader sees "top right" but
not the numbers again.
"""

from __future__ import annotations

import re

from langir.text.position import N, Position

_TABLE = re.compile(r"(?:^[ \t]*\|.*\|[ \t]*(?:\n|$)){3,}", re.MULTILINE)
_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_HEAD = re.compile(r"^\s*\*{0,2}(?:cent(?:er|re)[_ -]?)?(x|y|cx|cy|col(?:umn)?|row)(?:[_ -]?(min|max|0|1|2|c|center|centre))?"
                   r"(?:[_ -]?(?:coord(?:inate)?|pos(?:ition)?|value|px|pixels?))?\*{0,2}\s*(?:\((px|pixels?|%)\))?\s*$", re.IGNORECASE)
# rows naming a box's corners: "| top-left | 166 | 121 |" then "| bottom-right | 181 | 134 |"
_MIN_CORNER = re.compile(r"^(?:(?:top|upper)[- ]left|min(?:imum)?|start)(?:\s+corner)?$")
_MAX_CORNER = re.compile(r"^(?:(?:bottom|lower)[- ]right|max(?:imum)?|end)(?:\s+corner)?$")
_NUMBER = re.compile(rf"^\s*\*{{0,2}}~?\s*({N})\s*(%|px)?\*{{0,2}}\s*$")


def _cells(line: str) -> list[str]:
    line = line.strip()
    return line.strip("|").split("|")


def _columns(header: list[str]) -> tuple[dict[str, int], str | None]:
    """Column index per axis role (x, y, x_min, …) and the scale a header unit names."""
    cols: dict[str, int] = {}
    scale = None
    for i, cell in enumerate(header):
        m = _HEAD.match(cell)
        if not m:
            continue
        name, sub, unit = m.group(1).lower(), (m.group(2) or "").lower(), (m.group(3) or "").lower()
        axis = "x" if name in ("x", "cx", "col", "column") else "y"
        role = {"min": "min", "0": "min", "1": "min", "max": "max", "2": "max"}.get(sub, "")
        if sub == "1" and f"{axis}_min" in cols:
            role = "max"
        key = f"{axis}_{role}" if role else axis
        cols.setdefault(key, i)
        if unit:
            scale = "percent" if unit == "%" else "pixels"
    return cols, scale


def _value(cells: list[str], i: int) -> float | None:
    if i >= len(cells):
        return None
    m = _NUMBER.match(cells[i])
    return float(m.group(1)) if m else None


def read_tables(text: str, found: list[Position]) -> str:
    """Points and boxes of every x/y markdown table in `text` (added to `found`); the text with them blanked."""
    if "|" not in text:
        return text

    def table(m: re.Match[str]) -> str:
        lines = [ln for ln in m.group(0).splitlines() if ln.strip()]
        if len(lines) < 3 or not _RULE.match(lines[1]):
            return m.group(0)
        cols, scale = _columns(_cells(lines[0]))
        box = all(k in cols for k in ("x_min", "y_min", "x_max", "y_max"))
        if not box and not ("x" in cols and "y" in cols):
            return m.group(0)
        keys = ("x_min", "y_min", "x_max", "y_max") if box else ("x", "y")
        used = {cols[k] for k in keys}
        before = len(found)
        words = []
        rows: list[tuple[tuple[float, ...], list[str]]] = []
        for line in lines[2:]:
            cells = _cells(line)
            values = [_value(cells, cols[k]) for k in keys]
            if any(v is None for v in values):
                continue
            rest = [c.strip(" *") for i, c in enumerate(cells) if i not in used and c.strip() and not _NUMBER.match(c)]
            rows.append((tuple(values), rest))  # type: ignore[arg-type]
        i = 0
        while i < len(rows):
            values, rest = rows[i]
            if (not box and i + 1 < len(rows) and _MIN_CORNER.search(" ".join(rest).lower())
                    and _MAX_CORNER.search(" ".join(rows[i + 1][1]).lower())):
                found.append(Position("box", values + rows[i + 1][0], scale=scale, source="table"))
                i += 2
                continue
            found.append(Position("box" if box else "point", values, scale=scale, source="table"))
            # the row's other cells ("top right", "faint") stay for the word reader, one sentence per row
            if rest:
                words.append(", ".join(rest) + ".")
            i += 1
        return "\n" + "\n".join(words) + "\n" if len(found) > before else m.group(0)

    return _TABLE.sub(table, text)
