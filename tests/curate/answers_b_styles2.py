"""Answer writers, part 2: native grounding formats (Gemini, Qwen, InternVL, CogVLM, Molmo), stated scales,
tricky prose, no-target answers and unit-less (ambiguous) numbers."""

from __future__ import annotations

import json

from tests.curate.answers_b_context import LOC, Ctx, Reject
from tests.curate.answers_b_geometry import FAR, cell, min_dist
from tests.curate.answers_b_styles import OBJECTS, SCENES, _n, _p


def self_sized(c: Ctx) -> str:
    """The answer names the image size itself, then gives pixels of that image."""
    sw, sh = c.sent or (c.frame.w, c.frame.h)
    x, y = c.pt(0, "px")
    size = _p(c, [f"{sw}×{sh}", f"{sw}x{sh}", f"{sw} x {sh}"])
    return _p(c, [f"In this {size} image, the target is at ({x}, {y}).",
                  f"The image is {size} pixels. I see a {_p(c, OBJECTS)} at roughly x={x}, y={y}.",
                  f"Image resolution: {size}\nTarget: ({x}, {y})\nBackground: {_p(c, SCENES)}",
                  f"Given the {size} frame, the hot spot lies at pixel ({x}, {y}), measured from the top-left corner."])


DISTRACT = [
    lambda c: f"It is about {c.rng.randint(2, 3)}-{c.rng.randint(4, 5)} pixels wide",
    lambda c: f"with an apparent temperature near {c.rng.randint(18, 45)} °C",
    lambda c: f"detection confidence {c.rng.choice(['0.74', '0.8', '0.91', '85%'])}",
    lambda c: f"the frame looks like it was captured on 2019-0{c.rng.randint(1, 9)}-1{c.rng.randint(0, 9)}",
    lambda c: f"SNR roughly {c.rng.randint(3, 9)}.{c.rng.randint(0, 9)} dB",
    lambda c: f"it covers maybe {c.rng.randint(4, 20)} pixels in total",
    lambda c: f"at an estimated range of {c.rng.randint(2, 15)} km",
]


def distractors(c: Ctx) -> str:
    """Pixel point plus other numbers: sizes, temperatures, confidence, dates."""
    x, y = c.pt(0, "px")
    d1, d2 = c.rng.sample(DISTRACT, 2)
    return _p(c, [
        f"There is one small target at ({x}, {y}). {d1(c).capitalize()}, {d2(c)}.",
        f"Target: pixel ({x}, {y}); {d1(c)}; {d2(c)}.",
        f"{d1(c).capitalize()}. The object itself is located at x={x}, y={y} — {d2(c)}.",
        f"A {_p(c, OBJECTS)} ({d1(c)}) appears at ({x}, {y}). Note: {d2(c)}.",
    ])


def molmo_points(c: Ctx) -> str:
    """Molmo <point>/<points> tags, percent of width and height."""
    alt = _p(c, ["small target", "target", "bright dot", "drone"])
    if c.n == 1:
        x, y = c.pt(0, "pct")
        tag = f'<point x="{x}" y="{y}" alt="{alt}">{alt}</point>'
    else:
        attrs = []
        for i in range(c.n):
            x, y = c.pt(i, "pct")
            attrs.append(f'x{i + 1}="{x}" y{i + 1}="{y}"')
        tag = f'<points {" ".join(attrs)} alt="{alt}s">{alt}s</points>'
    return _p(c, [tag, f" {tag}", f"Counting the {alt}s: {tag}" if c.n > 1 else f"Here: {tag}"])


def gemini_json(c: Ctx) -> str:
    """Gemini box_2d [y_min, x_min, y_max, x_max] or point [y, x] on 0–1000, with labels, fenced."""
    use_points = c.rng.random() < 0.35
    items = []
    for i in range(c.n):
        label = _p(c, ["small target", "aircraft", "bright spot", "drone", "target"])
        if use_points:
            items.append({"point": [_n(v) for v in c.pt(i, "k1000yx")], "label": label})
        else:
            items.append({"box_2d": [_n(v) for v in c.box(i, "k1000yx")], "label": label})
    body = json.dumps(items, indent=2)
    return _p(c, ["```json\n" + body + "\n```", body, "```json\n" + json.dumps(items) + "\n```"])


def qwen25_json(c: Ctx) -> str:
    """Qwen2.5-VL fenced JSON: bbox_2d / point_2d in absolute pixels of its resized input."""
    use_points = c.rng.random() < 0.4
    items = []
    for i in range(c.n):
        if use_points:
            items.append({"point_2d": [_n(v) for v in c.pt(i, "qwen25")], "label": "small target"})
        else:
            items.append({"bbox_2d": [_n(v) for v in c.box(i, "qwen25")], "label": _p(c, ["small target", "target", "infrared target"])})
    body = "[\n" + ",\n".join("\t" + json.dumps(it) for it in items) + "\n]"
    return "```json\n" + body + "\n```"


def grid_tags(c: Ctx) -> str:
    """0–1000 (0–999) grid formats, x first: Qwen2-VL box tokens, InternVL <box>, Qwen3-VL JSON, CogVLM [[...]]."""
    m = c.model or ""
    qwen3_points = c.rng.random() < 0.5
    out = []
    for i in range(c.n):
        if "Qwen2-VL" in m:
            b = c.box(i, "k1000")
            out.append(f"<|object_ref_start|>the small target<|object_ref_end|><|box_start|>({b[0]},{b[1]}),({b[2]},{b[3]})<|box_end|>")
        elif "InternVL" in m:
            b = c.box(i, "k1000")
            out.append(f"<ref>small target</ref><box>[[{b[0]}, {b[1]}, {b[2]}, {b[3]}]]</box>")
        elif "cogvlm" in m.lower():
            b = c.box(i, "k999")
            out.append("[[" + ",".join(f"{int(v):03d}" for v in b) + "]]")
        else:
            if not qwen3_points:
                out.append(json.dumps({"bbox_2d": [_n(v) for v in c.box(i, "k1000")], "label": "small target"}))
            else:
                out.append(json.dumps({"point_2d": [_n(v) for v in c.pt(i, "k1000")], "label": "small target"}))
    if "cogvlm" in m.lower():
        return _p(c, ["The small target", "A small bright object", "Target"]) + " " + " and ".join(out) + "."
    if "Qwen3" in m:
        return "```json\n[\n  " + ",\n  ".join(out) + "\n]\n```"
    return "\n".join(out) if c.rng.random() < 0.5 else "Detected: " + " ".join(out)


def stated_scale(c: Ctx) -> str:
    """No known model: the answer names its own scale."""
    r = c.rng.randint(0, 3)
    if r == 0:
        x, y = c.pt(0, "k1000")
        return _p(c, [f"Target at ({x}, {y}), coordinates normalized to 0-1000.", f"Position (normalized to a 1000×1000 grid): x={x}, y={y}",
                      f"Using a 0–1000 scale for both axes, the target is at [{x}, {y}]."])
    if r == 1:
        x, y = c.pt(0, "pct")
        return _p(c, [f"The target is {x}% of the way across and {y}% of the way down.", f"Location as percentages of width/height: ({x}%, {y}%).",
                      f"x = {x}% , y = {y}% (percent of image size)"])
    if r == 2:
        b = c.box(0, "frac")
        return _p(c, [f"Box as fractions of the image: [{', '.join(b)}] (x0, y0, x1, y1).", f"Normalized bbox (0-1 range): {', '.join(b)}"])
    x, y = c.pt(0, "px")
    return _p(c, [f"The target is at ({x}, {y}) in pixels.", f"Pixel coordinates of the target: x={x} px, y={y} px.",
                  f"In pixels (origin top-left): {x}, {y}."])


# column/row phrases for a landmark that is NOT the target
LANDMARK = {
    0: ["a cloud bank on the left", "a warm building edge along the left side", "bright clutter toward the left edge"],
    2: ["a cloud bank on the right", "a warm rooftop along the right side", "sun glint toward the right edge"],
}
LANDMARK_ROW = {0: ["a bright band of cloud across the top", "a contrail near the top"], 2: ["warm ground clutter along the bottom", "a bright horizon strip at the bottom"]}


def _other_cell(c: Ctx, said: tuple[int, int]) -> tuple[int, int]:
    """A cell that a correct answer may deny: any cell but the target's own."""
    return c.rng.choice([(r, k) for r in range(3) for k in range(3) if (r, k) != said])


def tricky_prose(c: Ctx) -> str:
    """Words only, with a landmark placed elsewhere in the same sentence (position words owned by clutter)."""
    t = c.frame.targets[0]
    true_cell = cell(c.frame, t.cx, t.cy)
    said = true_cell if c.words_ok else c.wrong_xy(0)[2]
    # a correct answer puts the landmark opposite the target; a wrong one puts it where the target really is
    r, col = (2 - said[0], 2 - said[1]) if c.words_ok else true_cell
    if col != 1 and (r == 1 or c.rng.random() < 0.6):
        land = _p(c, LANDMARK[col])
    elif r != 1:
        land = _p(c, LANDMARK_ROW[r])
    else:
        land = _p(c, ["some haze", "a faint horizontal streak", "sensor noise"])
    where = c.loc(0)
    obj = _p(c, OBJECTS)
    denied = LOC[true_cell if not c.words_ok else _other_cell(c, said)]
    side = _p(c, ["left", "right", "upper", "lower"])
    return _p(c, [
        f"There is nothing {_p(c, [d for d in denied if d.split()[0] in ('in', 'at', 'on', 'near')])}; the target is {where}.",
        f"No, not {_p(c, [d for d in denied if d.split()[0] in ('in', 'at', 'on', 'near')])} — the target is {where}.",
        f"The target is {where}, with a faint glow trailing off on its {side} side.",
        f"The scene has {land}; the target itself is a {obj} {where}.",
        f"Don't be misled by {land} — that's background. The actual target is {where}.",
        f"There is {land}, but it is not the target. A {obj} is {where}.",
        f"Background: {land}. Target: a {obj} {where}, well separated from the clutter.",
    ])


NO_TARGET = [
    "No targets detected.", "None.", "```json\n[]\n```", '{"targets": []}', "**Target:** none", "No target.", "[]",
    "I don't see any small target in this image. The frame contains only sky and thin cloud.",
    "After examining the whole frame, I could not find any point-like hot object. It appears to be background only.",
    "## Result\n\n- **Targets:** 0\n- **Background:** uniform sky\n\nNo target is present.",
    '```json\n{"objects": [], "num_objects": 0}\n```', "targets: []", "Target: none visible.",
    "There is no target in this image.", "Nothing detected.", '{"target": null, "reason": "no compact warm object visible"}',
    "No small targets are visible; the bright regions are extended cloud edges, not targets.",
    "| # | x | y |\n|---|---|---|\n\n(no targets found)", "NONE", "The image appears empty — no target.",
]


def no_target(c: Ctx) -> str:
    return _p(c, NO_TARGET)


def ambiguous_units(c: Ctx) -> str:
    """Unit-less numbers that hit as pixels and miss as 0–1000 (or the reverse)."""
    f = c.frame
    t = f.targets[0]
    lim = min(f.w, f.h, 1000)
    as_px = (round(t.cx), round(t.cy))
    as_k = (round((t.cx + 0.5) / f.w * 1000), round((t.cy + 0.5) / f.h * 1000))
    options = []
    kx, ky = as_px[0] * f.w / 1000 - 0.5, as_px[1] * f.h / 1000 - 0.5
    if max(as_px) <= lim and min_dist(f, (kx, ky, kx, ky)) >= FAR:
        options.append(("px", as_px))
    if max(as_k) <= lim and min_dist(f, (as_k[0], as_k[1], as_k[0], as_k[1])) >= FAR:
        options.append(("k1000", as_k))
    if not options:
        raise Reject("no ambiguous reading")
    hit_as, (x, y) = c.rng.choice(options)
    c.claims.append({"shape": "point", "scale": "ambiguous", "hit_as": hit_as, "values": [float(x), float(y)]})
    return _p(c, [f"The target is at ({x}, {y}).", f"Target location: [{x}, {y}]", f"small bright point around {x}, {y}",
                  f"I see one target at coordinates ({x}, {y}).", f'{{"x": {x}, "y": {y}}}', f"Target: x={x}, y={y}"])


def says_no_target(c: Ctx) -> str:
    return _p(c, NO_TARGET[:7] + NO_TARGET[12:16] + [
        f"The image shows {_p(c, SCENES)}, but no target is visible.",
        "I can't identify any target here; the bright areas look like clutter.",
    ])



def native_mixed(c: Ctx) -> str:
    """A grounding model's native coordinates next to a word region (Gemini, Molmo, Qwen, InternVL)."""
    m = c.model or ""
    where, obj = c.loc(0), _p(c, OBJECTS)
    if m.startswith("gemini"):
        if c.rng.random() < 0.5:
            y, x = c.pt(0, "k1000yx")
            return _p(c, [f"The {obj} is {where}.\n\n```json\n" + json.dumps([{"point": [_n(y), _n(x)], "label": "target"}]) + "\n```",
                          f"I found the target {where}: " + json.dumps({"point": [_n(y), _n(x)], "label": obj})])
        b = c.box(0, "k1000yx")
        return _p(c, [f"There is a {obj} {where}. Bounding box: " + json.dumps({"box_2d": [_n(v) for v in b], "label": "target"}),
                      f"Target {where}.\n```json\n" + json.dumps([{"box_2d": [_n(v) for v in b], "label": obj}], indent=2) + "\n```"])
    if "Molmo" in m:
        x, y = c.pt(0, "pct")
        return _p(c, [f'The {obj} is {where}. <point x="{x}" y="{y}" alt="{obj}">{obj}</point>',
                      f'<point x="{x}" y="{y}" alt="target">target</point> It sits {where}.'])
    if "Qwen2.5" in m:
        if c.rng.random() < 0.5:
            v = c.pt(0, "qwen25")
            blob = json.dumps([{"point_2d": [_n(s) for s in v], "label": "target"}])
        else:
            blob = json.dumps([{"bbox_2d": [_n(s) for s in c.box(0, "qwen25")], "label": "target"}])
        return _p(c, [f"The target is {where}.\n```json\n{blob}\n```", f"```json\n{blob}\n```\nThe {obj} lies {where}."])
    b = c.box(0, "k1000")
    if "InternVL" in m:
        return f"The <ref>{obj}</ref><box>[[{b[0]}, {b[1]}, {b[2]}, {b[3]}]]</box> is {where}."
    return f"<|object_ref_start|>{obj}<|object_ref_end|><|box_start|>({b[0]},{b[1]}),({b[2]},{b[3]})<|box_end|> — {where}."
