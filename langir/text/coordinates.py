"""Positions written as numbers in a VLM answer: points and boxes in every common notation.

`read_coordinates(text)` finds, in this order (each found span is blanked so later readers skip it):

1. grounding tags — Qwen2-VL ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` (Qwen-VL: ``<box>(x1,y1),(x2,y2)</box>``),
   Florence-2 ``<loc_x1><loc_y1><loc_x2><loc_y2>`` (0–999), PaliGemma ``<locY1><locX1><locY2><locX2>`` (0–1023), InternVL
   ``<box>[[x0,y0,x1,y1], …]</box>``, CogVLM ``[[x0,y0,x1,y1]]`` / ``[[x,y]]`` (all 0–1000), Molmo
   ``<point x= y=>`` / ``<points x1= y1= …>`` (percent), Kosmos-2 ``<patch_index_N><patch_index_M>`` (32×32 grid);
2. JSON anywhere (code fences or inline): ``bbox_2d`` / ``point_2d`` (Qwen), ``box_2d`` (Gemini, y
   first, 0–1000), ``point``, ``box``/``bbox``, ``x``/``y`` (+ ``width``/``height``), ``x_min`` …;
   ``[]`` and ``{"targets": []}`` are an empty answer;
3. prose — axis-labelled values (``x=74, y=53``, ``x 182–190, y 101–110``, ``column 135, row 66``,
   ``left 22, top 96, right 37, bottom 105``, ``pixels 268-284 horizontally``, one axis's range in brackets:
   ``x ∈ [118, 124]``, ``columns: [118, 124]``), offsets
   (``201 px from the left edge``, ``59 % from the left``, ``43% of the way across``, ``0.17 of the
   width``, ``two fifths of the way down``, ``halfway across``), and tuples (``(149, 36)``,
   ``[88, 62, 95, 68]``, ``from (161,123) to (169,132)``, ``91, 210``, and after a label ``143 99`` or
   ``118 38 124 44``).

Each `Position` keeps its numbers as written with what it knows of their scale: ``native`` (the
notation fixes it), ``mark`` (a ``%``, ``/1000`` or fractions ≤ 1 on the numbers themselves), or
nothing; `stated_scale` is what the text says ("normalised to 1000", "in pixels"). Which scale
finally applies is the judge's business (`langir.text.judge`). `prose` is the text with every
coordinate span blanked, for the word reader.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from langir.text.markup import _read_json, _read_tags
from langir.text.position import MAX_CHARS, MAX_JSON_CHARS, MAX_POSITIONS, N, Position, Reading, _nums
from langir.text.tables import read_tables

# ---------------------------------------------------------------- scale statements
_SCALE_1000 = re.compile(
    r"0\s*(?:[-–—]|to)\s*(?:1000|999)\b|(?:normali[sz]ed|scaled|relative)\s+(?:to\s+|on\s+)?(?:a\s+)?(?:0\s*[-–]\s*)?1000\b"
    r"|thousandths|1000\s*[×x]\s*1000|/\s*1000\b|out\s+of\s+1000|per\s+mille|1000\s+per\s+side|1000[- ](?:scale|grid)",
    re.IGNORECASE)
_SCALE_UNIT = re.compile(
    r"normali[sz]ed|\brelative\b(?!\s+to\s+(?:the\s+)?(?:top|upper|bottom|lower|left|right|image|frame|origin|corner))|fractions?\s+of\s+the\s+(?:image|width|height|frame)|\b0\s*(?:[-–—]|to)\s*1\b(?![\d.])|\[0,\s*1\]",
    re.IGNORECASE)
_SCALE_PERCENT = re.compile(r"%|\bper\s?cent\b", re.IGNORECASE)
_SCALE_PIXELS = re.compile(r"\b(?:pixels?|px)\b", re.IGNORECASE)
_SIZE = re.compile(r"\b(?:image|frame|picture|input)[ _]?(?:size|resolution|dimensions?)\s*(?:is|of|=|:)?\s*(?:about\s+)?"
                   r"[(\[]?(\d{2,5})\s*(?:[x×X*,]|by)\s*(\d{2,5})(?!\s*%)"
                   r"|\b(?:resolution|(?:image|frame|picture)(?:\s+is)?)\s*[:=]?\s*[(\[]?(\d{2,5})\s*(?:[x×X]|by)\s*(\d{2,5})(?!\s*%)",
                   re.IGNORECASE)


def stated_size(text: str) -> tuple[int, int] | None:
    """The (W, H) the text gives the image ("Image resolution: 320x256", "frame size 640 by 512"), or None."""
    return _stated_pair(_SIZE, text)


_GRID = re.compile(r"\b(\d{1,2})\s*(?:[x×X*]|by)\s*(\d{1,2})\s+(?:grid|cells?)\b|\bgrid\s+of\s+(\d{1,2})\s*(?:[x×X*]|by)\s*(\d{1,2})\b",
                   re.IGNORECASE)


def stated_grid(text: str) -> tuple[int, int] | None:
    """(columns, rows) of a grid the text counts cells on ("on a 10x10 grid", "grid of 3 by 4"), or None."""
    return _stated_pair(_GRID, text)


def _stated_pair(rx: re.Pattern[str], text: str) -> tuple[int, int] | None:
    """Two positive whole numbers from the first match of `rx` (its groups 1–2, or 3–4 for its second form)."""
    m = rx.search(text)
    if not m:
        return None
    a, b = (int(v) for v in (m.group(1, 2) if m.group(1) else m.group(3, 4)))
    return (a, b) if a > 0 and b > 0 else None


def stated_scale(text: str) -> str | None:
    """The scale the text names for its numbers: grid1000, unit, percent, pixels (in that order), or None."""
    if _SCALE_1000.search(text):
        return "grid1000"
    if _SCALE_UNIT.search(text):
        return "unit"
    if _SCALE_PERCENT.search(text):
        return "percent"
    if _SCALE_PIXELS.search(text):
        return "pixels"
    return None



# ---------------------------------------------------------------- prose
_NOISE = re.compile("|".join(f"(?:{p})" for p in [
    rf"(?<![\w.]){N}\s*[×xX]\s*{N}(?:\s*(?:px|pixels?))?(?![\w.])",
    rf"{N}\s*(?:[-–—]|to)\s*{N}\s*[- ]?(?:px|pixels?)\s+(?:blob|wide|across|in\s+size|spot|dot|object|target|large|big|long|tall|high)\b",
    rf"\b{N}\s*[- ]?(?:px|pixels?)\s+(?:wide|across|in\s+(?:size|diameter)|tall|high|long|large|big|blob)\b",
    r"0\s*(?:[-–—]|to)\s*(?:1000|999|100|1)(?![\d.])|\[0,\s*1\]|1000\s+per\s+side|out\s+of\s+1000|normali[sz]ed\s+to\s+1000",
    r"^\s*(?:[-*•]\s*)?\d{1,2}[.)](?=\s)",
    r"\b(?:target|box|object|point|detection|item|candidate)s?\s*#?\s*\d{1,2}\b(?!\s*[,.]\s*\d)",
    r"\((?:\d{1,2})\)",
    r"\b(?:a\s+)?total\s+of\s+\d+\b|\b\d+\s+(?:targets?|objects?|spots?|hot\s*spots?)\b",
    # the image's own size: "the image (320, 240)", "Image size: 640, 512", "resolution [640, 512]"
    rf"\b(?:image|frame|picture|resolution|dimensions?)(?:\s+(?:size|resolution|dimensions?))?\s*(?:of|is|=|:)?\s*[(\[]?\s*{N}\s*(?:,|by)\s*{N}\s*[)\]]?",
    # the origin: "(0,0) is the top-left corner", "origin (0, 0) at the top left"
    r"(?:\borigin\s*(?:is\s+|at\s+|=\s*|:\s*)?)?\(\s*0\s*,\s*0\s*\)\s*(?:(?:is|=|at|:|being|as)\s*)?(?:(?:the|image|frame)\s+)*"
    r"(?:(?:top|upper|bottom|lower)[- ](?:left|right)(?:\s+corner)?|origin)",
    # the order of the numbers: "(x1,y1,x2,y2)", "[x_min, y_min, x_max, y_max]", "(x, y, w, h)"
    r"[(\[]\s*(?:[xy]|w|h|width|height)(?:[_ ]?(?:min|max|0|1|2))?(?:\s*,\s*(?:[xy]|w|h|width|height)(?:[_ ]?(?:min|max|0|1|2))?){1,3}\s*[)\]](?!\s*=)",
]), re.IGNORECASE | re.MULTILINE)  # sizes, dimensions, scale names, list numbers, counts
_FRACTION_WORDS = {
    "halfway": 0.5, "half": 0.5, "a half": 0.5, "one half": 0.5, "a third": 1 / 3, "one third": 1 / 3, "two thirds": 2 / 3,
    "a quarter": 0.25, "one quarter": 0.25, "three quarters": 0.75, "a fifth": 0.2, "one fifth": 0.2,
    "two fifths": 0.4, "three fifths": 0.6, "four fifths": 0.8, "a tenth": 0.1, "one tenth": 0.1,
    "three tenths": 0.3, "seven tenths": 0.7, "nine tenths": 0.9, "an eighth": 0.125, "seven eighths": 0.875,
    "a sixth": 1 / 6, "five sixths": 5 / 6,
}
_FRAC_WORD = "|".join(sorted((re.escape(k).replace(r"\ ", r"[- ]") for k in _FRACTION_WORDS), key=len, reverse=True))
_DIRECTION = (r"(?:(?:of\s+the\s+way\s+)?(?:in\s+|over\s+|along\s+|across\s+|down\s+|up\s+)?(?:from\s+(?:the\s+)?|of\s+the\s+)(left|right|top|bottom|upper|lower)(?:\s+(?:edge|side|border))?"
              r"|of\s+the\s+way\s+(across|along|in|down|up)(?:\s+(?:the\s+)?(?:frame|image|picture|it))?(?:\s+from\s+the\s+(left|right|top|bottom)(?:\s+(?:edge|side))?)?"
              r"|(across|along|down|up)(?:\s+(?:the\s+)?(?:frame|image|picture|it))?(?:\s+from\s+the\s+(left|right|top|bottom)(?:\s+(?:edge|side))?)?"
              r"|of\s+the\s+(?:(?:image|frame|picture)(?:'s)?\s+)?(width|height))")
_OFFSET = re.compile(
    rf"(?:(?:about|roughly|approximately|around|some|~|≈)\s*)?(?:({N})\s*(%|percent|per\s+cent|px|pixels?)?|({_FRAC_WORD}|\d{{1,4}}\s*/\s*\d{{1,4}}))(?:\s+(?:the\s+)?way)?\s+{_DIRECTION}",
    re.IGNORECASE)
_AXIS_PERCENT = re.compile(rf"\b(horizontal(?:ly)?|vertical(?:ly)?)(?:\s+(?:position|offset|coordinate))?\s*(?:[≈=:~]|is|of|at)?\s*(?:about\s+|roughly\s+|~\s*)?({N})\s*(%|px\b|pixels?\b)", re.IGNORECASE)
_LABELLED = re.compile(
    rf"\b(x|y|col(?:umn)?s?|rows?|left|top|right|bottom)(?:[_ ]?(min|max|0|1|2|c|center|centre)\b)?(?:[- _](?:coordinate|coord|value|position|pos|px|pixels?|range|span|extent|interval)s?)?\s*(?:=|:|≈|~|≃|is|of|at|∈|in|within|from|spans?|runs\s+from)?\s*(?:about|approximately|approx\.?|around|roughly|~|≈)?\s*"
    rf"(\[?\s*)({N})(?:\s*(?:[-–—]|to|,)\s*({N})\s*\]?)?\s*(%|/\s*1000)?",
    re.IGNORECASE)
_SPAN_AXIS = re.compile(rf"(?:pixels?\s+|px\s+)?({N})\s*(?:[-–—]|to)\s*({N})\s*(?:px\s+|pixels?\s+)?(horizontally|vertically|across|down)", re.IGNORECASE)
_FROM_TO = re.compile(rf"(?:from\s*)?\(\s*({N})\s*,\s*({N})\s*\)\s*(?:to|[-–—])\s*\(\s*({N})\s*,\s*({N})\s*\)", re.IGNORECASE)
_U = r"(?:\s*(?:in\s+)?(?:px|pixels?|%))?"
_TUPLE = re.compile(rf"[(\[]\s*(?:x\s*,\s*y\s*\)\s*=\s*\(\s*)?({N}{_U}(?:\s*[,;]\s*{N}{_U}){{1,3}})\s*[)\]]", re.IGNORECASE)
_PLUS_MINUS = re.compile(rf"\s*(?:±|\+/-|\+-)\s*{N}(?:\s*(?:px|pixels?|%))?")  # "(48 ± 3, 200 ± 3)": the value, not its error
_SPACED = re.compile(rf"(?<=[:=])\s*({N})\s+({N})(?:\s+({N})\s+({N}))?(?![\w.%,]|\s*[%\d])")  # "target: 143 99", "box: 118 38 124 44"
_BARE_PERCENT = re.compile(rf"(?<![\w.%/-])({N})\s*%\s*,\s*({N})\s*%")  # "52.5%, 47.1%" (no brackets)
_BARE = re.compile(rf"(?<![\w.%/-])({N}\s*,\s*{N}(?:\s*,\s*{N}\s*,\s*{N})?)(?!\.\d|[\w%]|\s*%)")
_XYWH = re.compile(r"\b(?:width\s*,\s*height|w\s*,\s*h)\b|\bx\s*,\s*y\s*,\s*w", re.IGNORECASE)
# numbers written row first: "(row, col) = (45, 210)", "centre (y, x): …", "[y_min, x_min, y_max, x_max]", "y then x"
_YX = re.compile(r"[(\[]\s*(?:y|row)(?:[_ ]?(?:min|0|1|c|center|centre))?\s*,\s*(?:x|col(?:umn)?)(?:[_ ]?(?:min|0|1|c|center|centre))?\s*[,)\]]"
                 r"|\b(?:y|rows?)\s+(?:then|before)\s+(?:x|col(?:umn)?s?)\b|\brow[- ]major\b", re.IGNORECASE)
_CORNERS = re.compile(rf"\b(top|upper|bottom|lower)[- ](left|right)(?:\s+corner)?\W{{0,8}}?({N})\W{{1,8}}?({N})", re.IGNORECASE)
_CENTRE_NOUN = re.compile(r"\b(?:target|its|spot|dot|blob|object|speck|source)(?:'s|’s)?\s+cent(?:re|er)\b|(?<!dead\s)(?<!very\s)(?<!exact\s)\bcent(?:re|er)(?:\s+point)?(?=\s*(?:[:=≈~(\[]|at\b|is\s+at\b|\d))|\bcent(?:re|er)\s+of\s+(?:the\s+)?(?:target|spot|dot|blob|object|hot\s*spot|box)\b"
                          r"|\bcent(?:re|er)e?d\s+(?:near|at|on|around)\s+(?=[x(\[\d])"
                          # "center/size format", "centre and size": a notation's name, not a place
                          r"|\bcent(?:re|er)\s*(?:/|\+|,|&|and)\s*(?:size|width|radius|extent)\b", re.IGNORECASE)
_CORNER_LABEL = re.compile(r"(?:measured\s+from|origin(?:\s+(?:at|is))?\s*[:=]?|relative\s+to)\s*(?:the\s+)?(?:top|upper|bottom|lower)[- ](?:left|right)(?:\s+corner)?"
                           r"|\b(?:top|bottom|upper|lower)[- ](?:left|right)(?:\s+corner)?(?=[\s|:=(]*[\[(]?\s*\d)"
                           # "top-left origin", "the top-left corner as origin", "top left is the origin"
                           r"|\b(?:top|bottom|upper|lower)[- ](?:left|right)(?:\s+corner)?(?:\s+of\s+the\s+(?:image|frame))?\s+(?:(?:as|is|being)\s+)?(?:the\s+)?origin\b"
                           # axis directions: "x grows to the right, y grows downward", "y axis pointing down"
                           r"|\b[xy](?:[- ]?axis)?\s+(?:grows|increases|points?|pointing|runs|goes|increasing)\s+(?:to(?:wards)?\s+the\s+)?"
                           r"(?:right|left|down(?:wards?)?|up(?:wards?)?)\b", re.IGNORECASE)
_SIDE_AXIS = {"left": ("x", False), "right": ("x", True), "top": ("y", False), "upper": ("y", False),
              "bottom": ("y", True), "lower": ("y", True), "across": ("x", False), "along": ("x", False),
              "in": ("x", False), "down": ("y", False), "up": ("y", True), "width": ("x", False), "height": ("y", False)}


@dataclass
class _Axis:
    at: int
    axis: str  # "x" | "y"
    values: tuple[float, ...]  # one value, or (min, max)
    role: str = ""  # "", "min", "max"
    scale: str | None = None  # "percent" | "grid1000" | "unit" | "pixels" | None
    from_end: bool = False


def _offsets(text: str, axes: list[_Axis]) -> str:
    def repl(m: re.Match[str]) -> str:
        number, unit, word = m.group(1), m.group(2), m.group(3)
        side = next((g.lower() for g in m.groups()[3:] if g), "")
        # "a third of the way in from the left": the last named side wins over "in"
        sides = [g.lower() for g in m.groups()[3:] if g]
        named = [s for s in sides if s in ("left", "right", "top", "bottom", "upper", "lower", "width", "height")]
        side = named[-1] if named else side
        axis, from_end = _SIDE_AXIS.get(side, ("", False))
        if not axis:
            return m.group(0)
        if word and "/" in word:  # "2/3 across", "743/1000 from the left": a fraction of the side
            top, bottom = (float(v) for v in word.split("/"))
            if not bottom or top > bottom:
                return m.group(0)
            value, scale = top / bottom, "unit"
        elif word:
            value, scale = _FRACTION_WORDS[re.sub(r"[- ]+", " ", word.lower())], "unit"
        else:
            value = float(number)
            u = (unit or "").lower()
            scale = "percent" if u in ("%", "percent", "per cent") else "pixels" if u.startswith("p") else (
                "unit" if value <= 1 and "." in number else None)
        axes.append(_Axis(m.start(), axis, (value,), scale=scale, from_end=from_end))
        return " " * len(m.group(0))

    return _OFFSET.sub(repl, text)


def _labelled(text: str, axes: list[_Axis], grid: tuple[int, int] | None = None) -> str:
    def percent(m: re.Match[str]) -> str:
        scale = "percent" if m.group(3) == "%" else "pixels"
        axes.append(_Axis(m.start(), "x" if m.group(1).lower().startswith("h") else "y", (float(m.group(2)),), scale=scale))
        return " " * len(m.group(0))

    def span(m: re.Match[str]) -> str:
        axis = "x" if m.group(3).lower() in ("horizontally", "across") else "y"
        axes.append(_Axis(m.start(), axis, (float(m.group(1)), float(m.group(2)))))
        return " " * len(m.group(0))

    def label(m: re.Match[str]) -> str:
        name, sub, bracket, a, b, mark = (m.group(i) for i in range(1, 7))
        name = name.lower()
        if name in ("left", "top", "right", "bottom"):
            if sub or b is not None:
                return m.group(0)
            axis, role = ("x" if name in ("left", "right") else "y"), ("min" if name in ("left", "top") else "max")
        else:
            axis = "x" if name == "x" or name.startswith("col") else "y"
            # x0/x1 and x1/x2 both name a box's corners: the first of a pair is the minimum
            role = {"min": "min", "max": "max", "0": "pair", "1": "pair", "2": "pair"}.get((sub or "").lower(), "")
            if b is not None and "," in m.group(0)[m.end(4) - m.start(0):m.start(5) - m.start(0)] and not bracket:
                b = None  # "x=74, y=53": the comma ends the value
        scale = "percent" if mark == "%" else "grid1000" if mark else None
        values = (float(a),) if b is None else (float(a), float(b))
        cells = grid[0 if axis == "x" else 1] if grid and name not in ("x", "y") else 0
        if cells and b is None and not mark and values[0] == int(values[0]) and 1 <= values[0] <= cells:
            # "on a 10×10 grid: column 7, row 2": the cell, counted from 1, as a span of the side
            values, scale = ((values[0] - 1) / cells, values[0] / cells), "unit"
        axes.append(_Axis(m.start(), axis, values, role=role, scale=scale))
        end = m.end() if b is not None or mark else m.end(4)
        return " " * (end - m.start()) + m.group(0)[end - m.start():]

    def corner(m: re.Match[str]) -> str:
        role = "min" if m.group(1).lower() in ("top", "upper") and m.group(2).lower() == "left" else (
            "max" if m.group(1).lower() in ("bottom", "lower") and m.group(2).lower() == "right" else "")
        if not role:
            return m.group(0)
        axes.append(_Axis(m.start(), "x", (float(m.group(3)),), role=role))
        axes.append(_Axis(m.start() + 1, "y", (float(m.group(4)),), role=role))
        return " " * len(m.group(0))

    if "%" in text or "p" in text:
        text = _AXIS_PERCENT.sub(percent, text)
    if "-" in text or " " in text:
        text = _CORNERS.sub(corner, text)
    text = _SPAN_AXIS.sub(span, text)
    return _LABELLED.sub(label, text)


def _shared_scale(x: _Axis, y: _Axis) -> str | None:
    """The scale of a point made of an x and a y value: theirs when they agree, else the one that has one."""
    return x.scale if x.scale == y.scale else x.scale or y.scale


def _assemble(axes: list[_Axis]) -> list[Position]:
    """Axis values in reading order → points and boxes (a repeated axis starts the next target)."""
    out: list[Position] = []
    cur: dict[str, _Axis | list[_Axis]] = {}

    def flush() -> None:
        xs, ys = cur.get("x"), cur.get("y")
        if isinstance(xs, _Axis) and isinstance(ys, _Axis):
            scale = _shared_scale(xs, ys)
            if len(xs.values) == 2 and len(ys.values) == 2:
                vals = (xs.values[0], ys.values[0], xs.values[1], ys.values[1])
                out.append(Position("box", vals, scale=scale))
            else:
                x, y = sum(xs.values) / len(xs.values), sum(ys.values) / len(ys.values)
                out.append(Position("point", (x, y), scale=scale, axes=(1.0 if xs.from_end else None, 1.0 if ys.from_end else None)))
        pairs = cur.get("pair")
        if isinstance(pairs, list):
            xs2 = [a.values[0] for a in pairs if a.axis == "x"]
            ys2 = [a.values[0] for a in pairs if a.axis == "y"]
            if len(xs2) == 2 and len(ys2) == 2:
                out.append(Position("box", (xs2[0], ys2[0], xs2[1], ys2[1]), scale=next((a.scale for a in pairs if a.scale), None)))
        mins, maxs = cur.get("min"), cur.get("max")
        if isinstance(mins, list) and isinstance(maxs, list):
            lo = {a.axis: a.values[0] for a in mins}
            hi = {a.axis: a.values[0] for a in maxs}
            if set(lo) == {"x", "y"} and set(hi) == {"x", "y"}:
                scale = next((a.scale for a in mins + maxs if a.scale), None)
                out.append(Position("box", (lo["x"], lo["y"], hi["x"], hi["y"]), scale=scale))
        elif isinstance(mins, list) and maxs is None and {a.axis for a in mins} == {"x", "y"} and len(mins) == 2:
            # "left: 15%, top: 83%" with no right or bottom: a position written the CSS way, a point
            lo = {a.axis: a for a in mins}
            out.append(Position("point", (lo["x"].values[0], lo["y"].values[0]), scale=_shared_scale(lo["x"], lo["y"])))
        cur.clear()

    for a in sorted(axes, key=lambda a: a.at):
        if a.role:
            group = cur.setdefault(a.role, [])
            assert isinstance(group, list)
            if sum(g.axis == a.axis for g in group) >= (2 if a.role == "pair" else 1):
                flush()
                group = cur.setdefault(a.role, [])
                assert isinstance(group, list)
            group.append(a)
            continue
        if a.axis in cur:
            flush()
        cur[a.axis] = a
    flush()
    return out


def _tuples(text: str, found: list[Position], xywh: bool, yx: bool = False) -> str:
    order = "yx" if yx else "xy"  # the text said its numbers come row first

    def add(values: list[float], scale: str | None = None) -> None:
        if len(values) == 2:
            found.append(Position("point", tuple(values), scale=scale, order=order))
        elif len(values) == 4:
            if xywh:
                x, y, w, h = values
                values = [x, y, x + w, y + h]
            found.append(Position("box", tuple(values), order=order))

    def from_to(m: re.Match[str]) -> str:
        found.append(Position("box", tuple(float(m.group(i)) for i in range(1, 5)), order=order))
        return " "

    def group(m: re.Match[str]) -> str:
        values = m.group(1)
        # "(43.1%, 33.2%)": a percent sign on every number fixes the scale
        add(_nums(values), "percent" if values.count("%") == len(_nums(values)) else None)
        return " "

    def group_of(*values: str) -> str:
        add([float(v) for v in values])
        return " "

    text = _FROM_TO.sub(from_to, text)
    text = _TUPLE.sub(group, text)
    text = _SPACED.sub(lambda m: group_of(*(v for v in m.groups() if v is not None)), text)
    if "%" in text:
        text = _BARE_PERCENT.sub(lambda m: add([float(m.group(1)), float(m.group(2))], "percent") or " ", text)
    return _BARE.sub(group, text)


def _mark_scale(p: Position, text_scale: str | None) -> None:
    """A scale the numbers fix themselves: fractions ≤ 1 written with decimals are 0–1."""
    if p.scale is None and all(0 <= v <= 1 for v in p.values) and any(v != int(v) for v in p.values):
        p.scale = "unit"


_ASCII_DIGIT = re.compile(r"[0-9]")


def _has_digit(text: str) -> bool:
    """`any(c.isdigit() for c in text)`, by a regex for ASCII text (every answer is checked: ≈ 0.1 ms saved)."""
    if text.isascii():
        return _ASCII_DIGIT.search(text) is not None
    return any(c.isdigit() for c in text)


def read_coordinates(text: str) -> Reading:
    """Every position `text` writes as numbers (see the module docstring)."""
    reading = Reading(prose=text)
    head = text[:MAX_CHARS]
    if not _has_digit(head) and "[]" not in head and "null" not in head and "false" not in head and "way" not in head.lower():
        return reading
    found: list[Position] = []
    xywh = bool(_XYWH.search(head))
    yx = bool(_YX.search(head))
    body, empty = _read_json(text[:MAX_JSON_CHARS], found, xywh, yx)
    body = read_tables(_read_tags(body[:MAX_CHARS], found), found)
    reading.stated_scale = stated_scale(body)
    reading.stated_size = stated_size(body)
    if _has_digit(body) or "way" in body.lower():  # tags and JSON often leave no number behind
        if "±" in body or "+/-" in body or "+-" in body:
            body = _PLUS_MINUS.sub("", body)
        body = _NOISE.sub(" ", body)
        body = _CENTRE_NOUN.sub(" ", body)  # "the target centre is at …", "centred near x 422": no region
        axes: list[_Axis] = []
        body = _offsets(body, axes)
        body = _labelled(body, axes, stated_grid(head) if "grid" in head.lower() else None)
        found.extend(_assemble(axes))
        words = _CORNER_LABEL.sub(" ", body)
        body = _tuples(body, found, xywh, yx)
    else:
        words = _CORNER_LABEL.sub(" ", _CENTRE_NOUN.sub(" ", body)) if found else body
    if len(found) > MAX_POSITIONS:
        reading.problem = f"{len(found)}+ positions (more than {MAX_POSITIONS})"
        found = []
    bad = [p for p in found if not all(math.isfinite(v) for v in p.values)]
    if bad:
        reading.problem = "coordinates that are not finite numbers (NaN or infinity)"
        found = [p for p in found if p not in bad]
    for p in found:
        _mark_scale(p, reading.stated_scale)
    reading.positions = found
    reading.empty = empty and not found
    reading.prose = _blank_for_words(words, text) if found or empty or len(text) > MAX_CHARS else text
    return reading


_CODE = re.compile(r"```.*?(?:```|$)|`[^`]*`|<[^>]{0,200}>", re.DOTALL)
_SPACES = re.compile(r"[ \t]+")
_NUMERIC = re.compile(rf"[(\[{{]?\s*{N}(?:\s*[,;]\s*{N})*\s*[)\]}}]?\s*(?:(?:in\s+)?(?:%|px|pixels?)\s*[)\]}}]?)?")


def _blank_for_words(words: str, original: str) -> str:
    """The text the word reader should see: code, tags, JSON and numbers removed."""
    text = _CODE.sub(" ", words)
    text = re.sub(r"\"[a-z_]+\"\s*:\s*\"[^\"]*\"", " ", text)  # JSON labels: "label": "target 1"
    # spaces collapsed: answers that differ only in their numbers share one prose (and its cached parse)
    return _SPACES.sub(" ", _NUMERIC.sub(" ", text)).strip()
