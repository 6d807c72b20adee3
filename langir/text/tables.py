"""Positions in markdown tables whose header names x and y columns (part of `langir.text.coordinates`).

``| # | x | y | note |``, ``| ID | X | Y |``, ``| Target | x (px) | y (px) |``, ``| x_min | y_min | x_max | y_max |``:
each body row gives one point (or box); a unit in the header (``px``, ``%``) fixes the scale. The table is
blanked so the prose reader does not read its numbers again.
"""

from __future__ import annotations

import re

from langir.text.position import N, Position

_TABLE = re.compile(r"(?:^[ \t]*\|.*\|[ \t]*(?:\n|$)){3,}", re.MULTILINE)
_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_HEAD = re.compile(r"^\s*\*{0,2}(?:cent(?:er|re)[_ -]?)?(x|y|cx|cy|col(?:umn)?|row)(?:[_ -]?(min|max|0|1|2|c|center|centre))?"
                   r"(?:[_ -]?(?:coord(?:inate)?|pos(?:ition)?|value|px|pixels?))?\*{0,2}\s*(?:\((px|pixels?|%)\))?\s*$", re.IGNORECASE)
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
        before = len(found)
        for line in lines[2:]:
            cells = _cells(line)
            values = [_value(cells, cols[k]) for k in keys]
            if any(v is None for v in values):
                continue
            found.append(Position("box" if box else "point", tuple(values), scale=scale, source="table"))  # type: ignore[arg-type]
        return "\n" if len(found) > before else m.group(0)

    return _TABLE.sub(table, text)
