"""Answer writers, part 1: markdown, JSON, YAML, tables, boxes, prose with numbers (pixel conventions)."""

from __future__ import annotations

import json

from tests.curate.answers_b_context import ORDINAL, Ctx

SCENES = [
    "a uniform sky with light cloud", "a cluttered sea surface with wave glint", "thin cirrus over a dark background",
    "a building roofline along the bottom", "a tree line and a bright sky", "a hazy horizon with low-contrast clouds",
    "mostly dark sky with a few warm patches", "broken cumulus clouds", "open water with a faint horizon line",
]
OBJECTS = ["small bright blob", "point-like hot spot", "compact warm object", "tiny bright dot", "faint point source",
           "small thermal signature", "dim speck"]


def _p(c: Ctx, items: list):
    return c.rng.choice(items)


def _n(s: str) -> int | float:
    """A written number back as the JSON number it was written as."""
    return float(s) if "." in s else int(s)


def md_report(c: Ctx) -> str:
    """Long GPT/Claude markdown: heading, bullets, a Coordinates: line (point or box), a closing sentence."""
    use_box = c.rng.random() < 0.35
    if use_box:
        b = c.box(0, "px")
        coord = _p(c, [f"**Coordinates:** x1={b[0]}, y1={b[1]}, x2={b[2]}, y2={b[3]}",
                       f"Coordinates (bounding box, pixels): [{', '.join(b)}]"])
    else:
        x, y = c.pt(0, "px")
        coord = _p(c, [f"**Coordinates:** ({x}, {y})", f"Coordinates: x = {x}, y = {y}", f"**Coordinates (pixels):** `({x}, {y})`",
                       f"Coordinates: approximately ({x}, {y}) px"])
    head = _p(c, ["## Analysis", "### Infrared scene analysis", "**Summary of the image**", "# Target detection"])
    words = f" {c.loc(0)}" if c.words_on else ""
    obj = _p(c, OBJECTS)
    bullets = [
        f"- **Background:** {_p(c, SCENES)}.",
        f"- **Target:** a {obj}{words}, clearly warmer than its surroundings.",
        f"- **Size:** roughly {c.rng.randint(2, 5)}×{c.rng.randint(2, 5)} pixels.",
        f"- **Contrast:** {_p(c, ['moderate', 'high', 'low but visible', 'strong'])}.",
        f"- **Shape:** {_p(c, ['roughly circular', 'slightly elongated', 'a compact cluster of warm pixels'])}.",
    ]
    body = bullets[:2] + c.rng.sample(bullets[2:], c.rng.randint(1, 3))
    if c.rng.random() < 0.4:
        body = [bullets[0], "", "### Target", "", *body[1:]]
    close = _p(c, ["No other targets are visible in the frame.", "The rest of the scene appears to be background clutter only.",
                   "Let me know if you'd like a tighter bounding box.", "Overall, this looks like a single small aerial target.",
                   "I'm fairly confident this is the only target; everything else is cloud texture."])
    intro = _p(c, ["Here's what I see in this infrared image:\n\n", "", "Sure! Below is a breakdown of the frame.\n\n",
                   "I analysed the frame for small, point-like thermal targets.\n\n"])
    return f"{intro}{head}\n\n" + "\n".join(body) + f"\n\n{coord}\n\n{close}"


def json_objects(c: Ctx) -> str:
    """{"objects": [{"label", "confidence", "bbox"}]} with pixel x1,y1,x2,y2 boxes; several targets."""
    objs = []
    for i in range(c.n):
        b = c.box(i, "px")
        o = {"label": _p(c, ["target", "small target", "aircraft", "drone", "hot spot"]), "confidence": round(c.rng.uniform(0.55, 0.97), 2),
             "bbox": [_n(v) for v in b]}
        if c.rng.random() < 0.4:
            o["bbox_format"] = "xyxy"
        objs.append(o)
    doc = {"objects": objs}
    if c.rng.random() < 0.5:
        doc["image_description"] = _p(c, SCENES)
    if c.rng.random() < 0.4:
        doc["num_objects"] = len(objs)
        c.count = len(objs)
    text = json.dumps(doc, indent=_p(c, [2, 2, None]))
    pre = _p(c, ["", "```json\n", "Here is the detection result:\n\n```json\n"])
    return pre + text + ("\n```" if pre else "")


def json_target_xy(c: Ctx) -> str:
    """{"target": {"x", "y"}} with extra fields (Claude-ish prose around it)."""
    x, y = c.pt(0, "px")
    doc: dict = {"target": {"x": _n(x), "y": _n(y)}}
    extras = [("confidence", round(c.rng.uniform(0.5, 0.95), 2)), ("type", _p(c, ["point target", "small aircraft", "unknown"])),
              ("visible", True), ("notes", _p(c, ["low contrast against cloud", "isolated warm pixel cluster", "clearly separated from clutter"]))]
    for k, v in c.rng.sample(extras, c.rng.randint(1, 3)):
        doc[k] = v
    if c.rng.random() < 0.3:
        doc["target"]["units"] = "pixels"
    body = json.dumps(doc, indent=2)
    pre = _p(c, ["```json\n" + body + "\n```", "I found one target.\n\n```json\n" + body + "\n```", body])
    post = _p(c, ["", "\n\nCoordinates are measured from the top-left corner.", "\n\nThe target is small, so the position may be off by a pixel or two."])
    return pre + post


def json_center_size(c: Ctx) -> str:
    """{"center": [x, y], "size": [w, h]} in pixels, with the image size as an extra field sometimes."""
    cx, cy, w, h = c.box(0, "px", shape="cwh")
    doc: dict = {"center": [_n(cx), _n(cy)], "size": [_n(w), _n(h)]}
    if c.rng.random() < 0.5:
        sw, sh = c.sent or (c.frame.w, c.frame.h)
        doc["image_size"] = [sw, sh]
    if c.rng.random() < 0.5:
        doc["score"] = round(c.rng.uniform(0.4, 0.9), 2)
    return _p(c, ["", "Detection (center/size format, pixels):\n", "Result:\n"]) + json.dumps(doc)


def yaml_kv(c: Ctx) -> str:
    """YAML-ish key: value lists, optional region field."""
    if c.rng.random() < 0.6:
        c.state_count()
        lines = [f"targets_found: {c.count}", "targets:"]
    else:
        lines = ["status: target(s) detected", "targets:"]
    for i in range(c.n):
        x, y = c.pt(i, "px")
        lines.append(f"  - id: {i + 1}")
        lines.append(f"    x: {x}")
        lines.append(f"    y: {y}")
        if c.words_on:
            lines.append(f"    region: {c.tag(i)}")
        lines.append(f"    intensity: {_p(c, ['high', 'medium', 'low'])}")
    if c.rng.random() < 0.5:
        lines.append(f"background: {_p(c, SCENES)}")
    lines.append("units: pixels" if c.rng.random() < 0.5 else "coordinate_origin: top-left")
    return "\n".join(lines)


def md_table(c: Ctx) -> str:
    """Markdown table | # | x | y | … with a count sentence."""
    cols = _p(c, [("#", "x", "y", "note"), ("Target", "x (px)", "y (px)", "Appearance"), ("ID", "X", "Y", "Brightness")])
    rows = [f"| {' | '.join(cols)} |", "|" + "---|" * len(cols)]
    for i in range(c.n):
        x, y = c.pt(i, "px")
        rows.append(f"| {i + 1} | {x} | {y} | {_p(c, ['bright point', 'faint', 'compact blob', 'very small'])} |")
    n = c.state_count()
    lead = _p(c, [f"I can identify **{n}** small target{'s' if c.n > 1 else ''}:", f"Detected {n} object{'s' if c.n > 1 else ''} (pixel coordinates):",
                  f"There {'are' if c.n > 1 else 'is'} {n} candidate{'s' if c.n > 1 else ''} in this frame."])
    tail = _p(c, ["", "\n\nAll positions are estimates from the image as provided.", "\n\nNothing else stands out from the background."])
    return lead + "\n\n" + "\n".join(rows) + tail


def xy_decimals(c: Ctx) -> str:
    """"(x=…, y=…)" with decimals: fractions named as such, or pixel decimals."""
    if c.rng.random() < 0.5:
        x, y = c.pt(0, "frac")
        say = _p(c, ["as fractions of the image width and height", "normalized to [0, 1]", "in normalized coordinates (0-1)"])
        return _p(c, [f"Target position ({say}): (x={x}, y={y}).",
                      f"The object sits at (x={x}, y={y}) {say}, against {_p(c, SCENES)}.",
                      f"Estimated location {say}:\n(x={x}, y={y})\nConfidence is moderate."])
    x, y = c.pt(0, "px", dec=1)
    return _p(c, [f"Target centroid: (x={x}, y={y}) pixels.", f"I estimate the hot spot at (x={x}, y={y}) in pixel coordinates.",
                  f"Sub-pixel estimate of the target: (x={x}, y={y})."])


def box_formats(c: Ctx) -> str:
    """Pixel boxes written as "x1,y1,x2,y2" or "[x, y, w, h]" with the format named."""
    if c.rng.random() < 0.5:
        b = c.box(0, "px")
        return _p(c, [f"Bounding box (x1,y1,x2,y2): {','.join(b)}", f"bbox = {', '.join(b)}  (format: x_min, y_min, x_max, y_max)",
                      f"The target's box in xyxy pixel format is [{', '.join(b)}].",
                      f"A {_p(c, OBJECTS)} is enclosed by the box x1={b[0]}, y1={b[1]}, x2={b[2]}, y2={b[3]}."])
    b = c.box(0, "px", shape="xywh")
    return _p(c, [f"Bounding box [x, y, w, h]: [{', '.join(b)}]", f"COCO-style box (x, y, width, height): [{', '.join(b)}]",
                  f"Detection: top-left corner at ({b[0]}, {b[1]}), width {b[2]} px, height {b[3]} px.",
                  f"[x, y, w, h] = [{', '.join(b)}] — a {_p(c, OBJECTS)} against {_p(c, SCENES)}."])


def prose_paren(c: Ctx) -> str:
    """Prose with coordinates in parentheses after it."""
    obj, scene = _p(c, OBJECTS), _p(c, SCENES)
    words = c.loc(0) if c.words_on else ""
    x, y = c.pt(0, "px")
    return _p(c, [
        f"The image shows {scene}. A {obj} is visible {words} (approx. {x}, {y}).",
        f"There is a {obj} {words} (around x={x}, y={y}), standing out from {scene}.",
        f"I can see one target: a {obj} {words} ({x}, {y} in pixels). The rest of the frame is {scene}.",
        f"Against {scene}, the target appears {words} (roughly at {x},{y}).",
    ]).replace("  ", " ")


def words_and_box(c: Ctx) -> str:
    """A pixel box and a word region given together."""
    tag = c.tag(0)
    b = c.box(0, "px")
    return _p(c, [
        f"**Location:** {tag}\n**Bounding box:** [{', '.join(b)}] (x_min, y_min, x_max, y_max, pixels)",
        f"Target found in the {tag} part of the image, bounding box ({b[0]}, {b[1]}) to ({b[2]}, {b[3]}).",
        f"Region: {tag}. Box: x from {b[0]} to {b[2]}, y from {b[1]} to {b[3]}.",
        f"The {_p(c, OBJECTS)} is in the {tag} of the frame; its pixel bounding box is [{', '.join(b)}].",
    ])


def llava_norm(c: Ctx) -> str:
    """LLaVA-style normalised [x1, y1, x2, y2] boxes (fractions of width and height)."""
    b = c.box(0, "frac")
    return _p(c, [f"[{', '.join(b)}]", f"The small target is at [{', '.join(b)}].",
                  f"small bright target: [{', '.join(b)}]", f"There is a {_p(c, OBJECTS)} located at [{', '.join(b)}] in the image."])


def multi_enum(c: Ctx) -> str:
    """Several targets with enumerations and ordinal words."""
    n = c.state_count()
    parts = []
    style = c.rng.randint(0, 2)
    for i in range(c.n):
        x, y = c.pt(i, "px")
        if style == 0:
            parts.append(f"{ORDINAL[i].capitalize()} target: ({x}, {y})")
        elif style == 1:
            parts.append(f"{i + 1}. A {_p(c, OBJECTS)} at x={x}, y={y}")
        else:
            parts.append(f"- The {ORDINAL[i]} one is at pixel ({x}, {y}).")
    lead = _p(c, [f"I count {n} small targets in this image.", f"There are {n} targets:", f"{n.capitalize()} point-like objects are visible."])
    tail = _p(c, ["", "\nNo further objects are visible.", "\nThey are all much brighter than the background."])
    return lead + "\n" + "\n".join(parts) + tail


def chatty_prose(c: Ctx) -> str:
    """Claude/GPT chatty paragraphs: reasoning, a pixel estimate with ≈, numbers that are not positions."""
    x, y = c.pt(0, "px")
    where = f" {c.loc(0)}" if c.words_on else ""
    obj = _p(c, OBJECTS)
    opening = _p(c, ["Looking at this infrared image, ", "Let me take a careful look. ", "Okay — ", "At first glance the frame is mostly background, but "])
    middle = _p(c, [
        f"I can make out a {obj}{where}. It spans only {c.rng.randint(2, 4)} or so pixels and is noticeably brighter than the {_p(c, ['sky', 'clouds', 'sea surface'])} around it.",
        f"there's a {obj}{where} that stands out from {_p(c, SCENES)}.",
        f"the most likely target is a {obj}{where}; the rest looks like {_p(c, SCENES)}.",
    ])
    coords = _p(c, [f" Its approximate pixel coordinates are x ≈ {x}, y ≈ {y} (measured from the top-left).",
                    f" If I had to pin it down, I'd say around pixel ({x}, {y}).",
                    f"\n\nEstimated position: x≈{x}, y≈{y}."])
    close = _p(c, ["", " I don't see any other candidates.", " Hope this helps!", " Note that my pixel estimates may be off by a few pixels."])
    if opening.endswith(". "):
        middle = middle[0].upper() + middle[1:]
    return opening + middle + coords + close


def multi_words(c: Ctx) -> str:
    """Several targets named with ordinal words and regions, pixels in parentheses; the last in its own sentence."""
    with_nums = c.kind == "disagree" or c.rng.random() < 0.6
    n = c.state_count()
    parts = []
    for i in range(c.n):
        where = c.loc(i)
        nums = ""
        if with_nums:
            x, y = c.pt(i, "px")
            nums = f" ({x}, {y})"
        if i == 0:
            parts.append(f"The first target is {where}{nums}.")
        elif i == c.n - 1:
            parts.append(_p(c, [f"There is also a {ORDINAL[i]}, fainter one {where}{nums}.", f"Finally, the {ORDINAL[i]} sits {where}{nums}.",
                                f"And one more {where}{nums}."]))
        else:
            parts.append(f"The {ORDINAL[i]} is {where}{nums}.")
    lead = _p(c, [f"I see {n} small targets.", f"{n.capitalize()} targets are visible in this frame.", f"There are {n} point-like objects."])
    return lead + " " + " ".join(parts)
