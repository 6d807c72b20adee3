"""Positions in machine-readable markup: grounding tags and JSON (part of `langir.text.coordinates`).

Tags: Qwen2-VL ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>``, Qwen-VL ``<box>(x1,y1),(x2,y2)</box>``, Florence-2
``<loc_N>`` ×4, PaliGemma ``<locNNNN>`` ×4 (y first, 0–1023), InternVL ``<box>[[…]]</box>``, CogVLM ``[[…]]``
(all on 0–1000), Molmo ``<point x= y=>`` / ``<points x1= y1= …>`` (percent), Kosmos-2
``<patch_index_NNNN><patch_index_NNNN>`` (corner patches of a 32×32 grid). JSON: ``bbox_2d`` / ``point_2d``,
``box_2d`` (Gemini, y first), ``point``, ``box``, ``x``/``y`` …; ``[]`` and ``{"targets": []}`` are empty answers.
"""

from __future__ import annotations

import json
import re

from langir.text.position import _MAX_JSON_STARTS, MAX_POSITIONS, N, Position, _nums

_QWEN2 = re.compile(rf"<\|box_start\|>\s*\(\s*({N})\s*,\s*({N})\s*\)\s*,?\s*\(\s*({N})\s*,\s*({N})\s*\)\s*<\|box_end\|>")
_QWENVL = re.compile(rf"<box>\s*\(\s*({N})\s*,\s*({N})\s*\)\s*,\s*\(\s*({N})\s*,\s*({N})\s*\)\s*</box>")  # Qwen-VL (v1)
_FLORENCE = re.compile(r"<loc_(\d{1,3})>\s*<loc_(\d{1,3})>\s*<loc_(\d{1,3})>\s*<loc_(\d{1,3})>")  # Florence-2: x first, 0–999 bins
_PALIGEMMA = re.compile(r"<loc(\d{4})>\s*<loc(\d{4})>\s*<loc(\d{4})>\s*<loc(\d{4})>")  # PaliGemma: y first, 0–1023 bins
_INTERNVL = re.compile(r"<box>\s*(\[\[.*?\]\])\s*</box>", re.DOTALL)
_KOSMOS2 = re.compile(r"<patch_index_(\d{4})>\s*<patch_index_(\d{4})>")  # Kosmos-2: corner patches of a 32×32 grid
_MOLMO = re.compile(r"<points?\b([^>]*)>", re.IGNORECASE)
_MOLMO_ATTR = re.compile(rf"\b([xy])(\d*)\s*=\s*[\"']?\s*({N})", re.IGNORECASE)
_COGVLM = re.compile(rf"\[\[\s*{N}(?:\s*,\s*{N}){{1,3}}\s*\](?:\s*[,;]\s*\[\s*{N}(?:\s*,\s*{N}){{1,3}}\s*\])*\]")
_GROUP = re.compile(rf"\[\s*({N}(?:\s*,\s*{N}){{1,3}})\s*\]")
_TAG_NOISE = re.compile(r"<\|?/?(?:object_ref_start|object_ref_end|box_start|box_end|im_end|im_start|ref|/ref|quad_start|quad_end)\|?>|</?points?>|</?ref>"
                        r"|</?(?:phrase|object|grounding)>", re.IGNORECASE)



def _group_positions(groups: list[list[float]], scale: str, source: str) -> list[Position]:
    out = []
    for g in groups:
        if len(g) == 4:
            out.append(Position("box", tuple(g), scale=scale, native=True, source=source))
        elif len(g) == 2:
            out.append(Position("point", tuple(g), scale=scale, native=True, source=source))
    return out


def _read_tags(text: str, found: list[Position]) -> str:
    def qwen(m: re.Match[str]) -> str:
        found.append(Position("box", tuple(float(m.group(i)) for i in range(1, 5)), scale="grid1000", native=True, source="tag"))
        return " "

    def internvl(m: re.Match[str]) -> str:
        found.extend(_group_positions([_nums(g) for g in _GROUP.findall(m.group(1))], "grid1000", "tag"))
        return " "

    def molmo(m: re.Match[str]) -> str:
        xs: dict[str, float] = {}
        ys: dict[str, float] = {}
        for axis, idx, value in _MOLMO_ATTR.findall(m.group(1)):
            (xs if axis.lower() == "x" else ys)[idx] = float(value)
        for idx in xs:
            if idx in ys:
                found.append(Position("point", (xs[idx], ys[idx]), scale="percent", native=True, source="tag"))
        return " "

    def cogvlm(m: re.Match[str]) -> str:
        found.extend(_group_positions([_nums(g) for g in _GROUP.findall(m.group(0)[1:-1])], "grid1000", "tag"))
        return " "

    def florence(m: re.Match[str]) -> str:
        found.append(Position("box", tuple(float(m.group(i)) for i in range(1, 5)), scale="grid1000", native=True, source="tag"))
        return " "

    def kosmos2(m: re.Match[str]) -> str:
        first, last = int(m.group(1)), int(m.group(2))
        if max(first, last) >= 32 * 32:
            return m.group(0)
        # the box runs from the top-left corner of its first patch to the bottom-right corner of its last
        x0, y0, x1, y1 = first % 32, first // 32, last % 32 + 1, last // 32 + 1
        found.append(Position("box", tuple(v * 1000 / 32 for v in (x0, y0, x1, y1)), scale="grid1000", native=True,
                              source="tag"))
        return " "

    def paligemma(m: re.Match[str]) -> str:
        y0, x0, y1, x1 = (float(m.group(i)) * 1000 / 1024 for i in range(1, 5))
        found.append(Position("box", (x0, y0, x1, y1), scale="grid1000", native=True, source="tag"))
        return " "

    if "<|box_start|>" in text:
        text = _QWEN2.sub(qwen, text)
    if "<box>(" in text.replace(" ", ""):
        text = _QWENVL.sub(qwen, text)
    if "<loc" in text:
        text = _PALIGEMMA.sub(paligemma, _FLORENCE.sub(florence, text))
    if "<patch_index_" in text:
        text = _KOSMOS2.sub(kosmos2, text)
    if "<box>" in text:
        text = _INTERNVL.sub(internvl, text)
    if "<point" in text.lower():
        text = _MOLMO.sub(molmo, text)
    if "[[" in text:
        text = _COGVLM.sub(cogvlm, text)
    if "<" in text:
        text = _TAG_NOISE.sub(" ", text)
    return text


# ---------------------------------------------------------------- JSON
_BOX_KEYS = ("bbox_2d", "box_2d", "bbox", "box", "bounding_box", "boundingbox")
_POINT_KEYS = ("point_2d", "point", "center", "centre", "position", "location", "coordinates")


# "image_size": [640, 512], "resolution": [w, h], "size": [4, 6]: sizes, not positions
_SIZE_KEY = re.compile(r"^(?:(?:image|img|frame|input|original|sent|target|object|box)[_ ]?)?(?:size|shape|resolution|dimensions?|wh|width_height)$",
                       re.IGNORECASE)


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _from_json(obj: object, found: list[Position], depth: int = 0) -> bool:
    """Positions in a decoded JSON value; True when it is an empty answer ([] or {"targets": []})."""
    if depth > 20 or len(found) > MAX_POSITIONS:
        return False
    if isinstance(obj, list):
        if not obj:
            return depth == 0
        if all(_number(v) for v in obj) and len(obj) in (2, 4) and not (len(obj) == 2 and obj[0] == 0 and obj[1] in (1, 100, 999, 1000)):
            # a list of numbers is a position, but "[0, 1]" / "[0, 1000]" names a scale
            found.append(Position("point" if len(obj) == 2 else "box", tuple(float(v) for v in obj), source="json"))
            return False
        for item in obj:
            _from_json(item, found, depth + 1)
            if len(found) > MAX_POSITIONS:
                break
        return False
    if not isinstance(obj, dict):
        return False
    low = {str(k).lower(): v for k, v in obj.items()}
    for key in _BOX_KEYS:
        v = low.get(key)
        if isinstance(v, list) and len(v) == 4 and all(_number(x) for x in v):
            yx = key == "box_2d"
            found.append(Position("box", tuple(float(x) for x in v), order="yx" if yx else "xy",
                                  scale="grid1000" if yx else None, native=yx, source="json", key=key))
            return False
    for key in _POINT_KEYS:
        v = low.get(key)
        if isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v):
            found.append(Position("point", tuple(float(x) for x in v), source="json", key=key))
            return False
    corners = [low.get(k) for k in ("x_min", "y_min", "x_max", "y_max")]
    if not all(_number(c) for c in corners):
        corners = [low.get(k) for k in ("xmin", "ymin", "xmax", "ymax")]
    if all(_number(c) for c in corners):
        found.append(Position("box", tuple(float(c) for c in corners), source="json"))  # type: ignore[arg-type]
        return False
    x = next((low[k] for k in ("x", "cx", "x_center", "center_x", "x_centre", "centre_x", "xc") if k in low), None)
    y = next((low[k] for k in ("y", "cy", "y_center", "center_y", "y_centre", "centre_y", "yc") if k in low), None)
    if _number(x) and _number(y):
        w, h = low.get("width", low.get("w")), low.get("height", low.get("h"))
        if _number(w) and _number(h):
            found.append(Position("box", (float(x), float(y), float(x) + float(w), float(y) + float(h)), source="json"))
        else:
            found.append(Position("point", (float(x), float(y)), source="json"))
        return False
    targets = [low[k] for k in ("targets", "objects", "detections", "points", "boxes", "results",
                                "target", "object", "detection", "point", "box", "result") if k in low]
    # {"targets": []} and {"target": null, "reason": …}: the answer says there is none
    if targets and all(t is None or (isinstance(t, list) and not t) for t in targets) and depth == 0:
        return True
    # {"found": false}, {"target_present": false, "note": …}: a yes/no answer that says no
    flags = [low[k] for k in _FOUND_KEYS if k in low]
    if flags and all(v is False for v in flags) and depth == 0 and not targets:
        return True
    for k, v in low.items():
        if isinstance(v, list | dict) and not _SIZE_KEY.search(k):
            _from_json(v, found, depth + 1)
    return False


_FOUND_KEYS = ("found", "detected", "present", "visible", "exists", "has_target", "target_found", "target_detected",
               "target_present", "target_visible", "target_exists", "is_present", "is_detected")

_AXIS_BEFORE = re.compile(r"\b(?:[xy]|col(?:umn)?s?|rows?)(?:[- _](?:range|span|extent|interval))?\s*(?:∈|=|:|in|within)\s*$",
                          re.IGNORECASE)


def _read_json(text: str, found: list[Position], xywh: bool = False, yx: bool = False) -> tuple[str, bool]:
    """Decode every JSON value in `text` (blanking it); whether one was an empty answer."""
    if "[" not in text and "{" not in text:
        return text, False
    decoder = json.JSONDecoder()
    out: list[str] = []
    pos = 0
    empty = False
    starts = 0
    i = 0
    while i < len(text):
        j = min((k for k in (text.find("[", i), text.find("{", i)) if k >= 0), default=-1)
        if j < 0 or starts >= _MAX_JSON_STARTS:
            break
        starts += 1
        try:
            value, end = decoder.raw_decode(text, j)
        except (ValueError, RecursionError):
            i = j + 1
            continue
        if isinstance(value, list) and len(value) == 2 and all(map(_number, value)) and _AXIS_BEFORE.search(text, max(0, j - 32), j):
            i = end  # "x ∈ [118, 124]", "rows: [38, 44]": one axis's range, read with the labelled prose
            continue
        if isinstance(value, list | dict):
            before = len(found)
            empty |= _from_json(value, found)
            if yx and isinstance(value, list):  # "Box [y_min, x_min, y_max, x_max]: [40, 205, 50, 215]"
                for p in found[before:]:
                    if p.source == "json" and not p.key:
                        p.order = "yx"
            if xywh and isinstance(value, list):  # "Box (x, y, width, height): [115, 77, 12, 7]"
                for p in found[before:]:
                    if p.kind == "box" and p.source == "json" and not p.key:
                        x, y, w, h = p.values
                        p.values = (x, y, x + w, y + h)
            out.append(text[pos:j] + " ")
            pos = end
        i = end
    out.append(text[pos:])
    return "".join(out), empty
