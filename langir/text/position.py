"""A position written as numbers (`Position`) and everything an answer says with numbers (`Reading`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_POSITIONS = 1000  # an answer listing more is broken, not a crowd of IR targets
MAX_CHARS = 20_000  # prose and tags: read at most this much of an answer (a described target needs far less)
MAX_JSON_CHARS = 10_000_000  # JSON is decoded whole (a structured reply may be long)
_MAX_JSON_STARTS = 400

N = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d{1,3}(?![\w]))?"


@dataclass
class Position:
    """One point (x, y) or box (x0, y0, x1, y1), numbers as written."""

    kind: str  # "point" | "box"
    values: tuple[float, ...]
    order: str = "xy"  # "yx": Gemini's box_2d / point
    scale: str | None = None  # a scale the notation or the numbers fix (see the module docstring)
    native: bool = False  # the notation fixes the scale (tags, box_2d): no other reading
    source: str = "prose"  # "tag" | "json" | "prose"
    key: str = ""  # JSON key it came from (point → y first for Gemini)
    axes: tuple[float | None, ...] = ()  # offsets measured from the far end (1 - value) per axis

    def xy(self) -> tuple[float, ...]:
        """Values x first: (x, y) or (x0, y0, x1, y1)."""
        v = self.values
        if self.order == "yx":
            return (v[1], v[0]) if self.kind == "point" else (v[1], v[0], v[3], v[2])
        return v


@dataclass
class Reading:
    """Everything numeric an answer says about positions."""

    positions: list[Position] = field(default_factory=list)
    stated_scale: str | None = None
    empty: bool = False  # an empty JSON list / "targets": [] (no target)
    problem: str | None = None  # numbers that cannot be positions (NaN, too many)
    stated_size: tuple[int, int] | None = None  # (W, H) the text says the image has ("Image size: 640x512")
    prose: str = ""


def _nums(text: str) -> list[float]:
    return [float(v) for v in re.findall(N, text)]
