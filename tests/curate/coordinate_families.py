"""The seventeen writing styles (families) of the coordinate corpus, templates written by hand."""

from __future__ import annotations

import json
import random

from tests.curate.coordinate_builders import (
    MT,
    OPENAI_ANTHROPIC,
    Meta,
    Picker,
    Row,
    T,
    multi_row,
    qwen25_sent,
    single_family,
)
from tests.curate.coordinate_geometry import Frame
from tests.curate.coordinate_prose import (
    ambiguous_family,
    disagree_family,
    fraction_word_rows,
    no_target_family,
    prose_family,
)

OA = OPENAI_ANTHROPIC
NONE: Meta = (None, None)

PIXEL_POINT = [
    T("The small bright target is at approximately ({x}, {y}) pixels."),
    T("A faint point-like hot spot is visible {w}, at roughly x = {x}, y = {y} (pixels)."),
    T("Target location: x: {x} px, y: {y} px."),
    T("I can see one small thermal target at pixel ({x},{y}), {w}."),
    T("There is a single dim target near column {x}, row {y}."),
    T("**Location:** ({x}, {y}) px — a tiny bright dot against the cloud background."),
    T("The target sits {w}; its centre is at about x={x}, y={y} in the {W}×{H} frame."),
    T("Estimated target centre (pixel coordinates): ({x}, {y})."),
    T("- **Target:** small, bright, roughly circular\n- **Position:** ({x}, {y}) in pixels"),
    T("A small heat signature appears about {x} px from the left edge and {y} px from the top."),
    T("Looking closely, the target is a tiny bright speck at approximately (x≈{x}, y≈{y})."),
    T("Answer: the target is at pixel coordinates [{x}, {y}]."),
    T("The point target lies {w}, at ({x} px, {y} px)."),
    T("Target center ≈ ({x}, {y})", dec=1),
    T("It's very faint, but there is a warm dot at around ({x}, {y}) — {w}."),
    T("The target is located at pixel (x={x}, y={y}).", dec=1),
    T("## Answer\nThe target is a faint point source {w}.\n\n**Approximate pixel position:** x ≈ {x}, y ≈ {y}"),
    T("Coordinates of the target (px): x={x}px, y={y}px"),
    T("The only candidate is a dim 2–3 pixel blob at ({x}, {y}); everything else is cloud edge."),
]

PIXEL_BOX = [
    T("Bounding box of the target: [{x0}, {y0}, {x1}, {y1}] (x_min, y_min, x_max, y_max, in pixels)."),
    T("The target is enclosed by the box from ({x0},{y0}) to ({x1},{y1})."),
    T("**Target**\n- Box (px): x {x0}–{x1}, y {y0}–{y1}\n- Appearance: faint, point-like"),
    T("A small bright blob {w}; bounding box top-left ({x0}, {y0}), bottom-right ({x1}, {y1})."),
    T("x_min={x0}, y_min={y0}, x_max={x1}, y_max={y1}"),
    T("### Detection\nOne target, box = ({x0}, {y0}, {x1}, {y1}) in pixel coordinates."),
    T("The hot spot spans roughly pixels {x0}-{x1} horizontally and {y0}-{y1} vertically."),
    T("Box: left {x0}, top {y0}, right {x1}, bottom {y1} (px)."),
    T("I'd draw a box at ({x0}, {y0}, {x1}, {y1}) around it — the target is tiny, a few pixels wide, {w}."),
    T("```\n[{x0}, {y0}, {x1}, {y1}]\n```\nThis is the pixel bounding box of the small target."),
    T("The target occupies the region x ∈ [{x0}, {x1}], y ∈ [{y0}, {y1}] (pixels)."),
    T("| corner | x | y |\n|---|---|---|\n| top-left | {x0} | {y0} |\n| bottom-right | {x1} | {y1} |"),
    T("Box (x, y, width, height): [{x0}, {y0}, {bw}, {bh}] in pixels."),
    T("Target bbox → top-left corner at ({x0}, {y0}), width {bw} px, height {bh} px, {w}."),
]

FRACTION = [
    T("Normalised coordinates of the target: ({x}, {y})."),
    T("x≈{x}, y≈{y} (fractions of the image width and height)"),
    T("The target's centre is at relative position x = {x}, y = {y}, {w}."),
    T("Relative bounding box (0–1): [{x0}, {y0}, {x1}, {y1}]"),
    T('```json\n{"x": {x}, "y": {y}}\n```'),
    T("Position (normalized 0-1): {x}, {y}"),
    T("It lies {w}, at about {x} of the width and {y} of the height."),
    T("Target centre ≈ ({x}, {y}) in normalised image coordinates (origin top-left)."),
    T("**Normalized box:** x_min {x0}, y_min {y0}, x_max {x1}, y_max {y1}"),
    T("The bright speck is located at (x, y) = ({x}, {y}), with both axes normalised to [0, 1]."),
]

GRID_STATED = [
    T("On a 0–1000 scale, the target is at ({x}, {y})."),
    T("Coordinates normalized to 1000: x={x}, y={y}."),
    T("Box (normalized to 0-1000, x first): [{x0}, {y0}, {x1}, {y1}]"),
    T("The target sits {w}: ({x}, {y}) on a 1000×1000 grid."),
    T("Using coordinates scaled to 1000 per side, the bright spot is centred near x {x}, y {y}."),
    T("[{x0}, {y0}, {x1}, {y1}] — coordinates in thousandths of the image width and height."),
    T("Point (0–1000 normalised): {x}, {y}"),
    T("**Target** (normalised 0–1000): box [{x0}, {y0}, {x1}, {y1}], {w}."),
    T('```json\n{"point": [{x}, {y}], "scale": 1000}\n```'),
    T("The small target is at x = {x}/1000, y = {y}/1000."),
]

QWEN2_TAGS = [
    T("<|object_ref_start|>the small target<|object_ref_end|><|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>"),
    T("The infrared small target is <|object_ref_start|>a bright dot<|object_ref_end|>"
      "<|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>."),
    T("<|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>"),
    T("There is one target {w}: <|object_ref_start|>target<|object_ref_end|>"
      "<|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>"),
    T("<|object_ref_start|>target<|object_ref_end|><|box_start|>({x0}, {y0}), ({x1}, {y1})<|box_end|><|im_end|>"),
    T("Detected: <|object_ref_start|>small bright target<|object_ref_end|><|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>"),
    T("<|object_ref_start|>infrared target<|object_ref_end|>\n<|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>"),
    T("The faint target {w} is at <|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>."),
]

INTERNVL = [
    T("<ref>target</ref><box>[[{x0}, {y0}, {x1}, {y1}]]</box>"),
    T("The small target is located at <ref>the bright spot</ref><box>[[{x0}, {y0}, {x1}, {y1}]]</box>."),
    T("<ref>infrared small target</ref><box>[[{x0},{y0},{x1},{y1}]]</box>"),
    T("A dim target {w}. <ref>target</ref><box>[[{x0}, {y0}, {x1}, {y1}]]</box>"),
    T("Sure! <ref>small target</ref><box>[[{x0}, {y0}, {x1}, {y1}]]</box>"),
    T("<box>[[{x0}, {y0}, {x1}, {y1}]]</box>"),
    T("The target appears as a tiny bright point <ref>target</ref><box>[[{x0}, {y0}, {x1}, {y1}]]</box> against the sky."),
    T("<ref>the hot spot</ref><box>[[{x0}, {y0}, {x1}, {y1}]]</box> is the only target, {w}."),
]

COGVLM = [
    T("The target is located at [[{x0},{y0},{x1},{y1}]]."),
    T("small bright target[[{x0},{y0},{x1},{y1}]]"),
    T("There is a tiny hot spot {w} [[{x0},{y0},{x1},{y1}]]."),
    T("Answer: [[{x0},{y0},{x1},{y1}]]"),
    T("A faint target[[{x0},{y0},{x1},{y1}]] against thin cloud."),
    T("The target centre is at [[{x},{y}]]."),
    T("target[[{x},{y}]]"),
    T("The infrared target [[{x0},{y0},{x1},{y1}]] is small and dim, {w}."),
    T("Yes, there is a small target[[{x0},{y0},{x1},{y1}]] in the sky."),
    T("The bright point[[{x},{y}]] is the target."),
]

QWEN25 = [
    T('```json\n[\n\t{"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "small target"}\n]\n```'),
    T('```json\n[\n  {"point_2d": [{x}, {y}], "label": "target"}\n]\n```'),
    T('[{"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "bright dot"}]'),
    T('{"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "infrared small target"}'),
    T('The small target is here:\n```json\n[{"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "target"}]\n```'),
    T('```json\n[\n\t{"point_2d": [{x}, {y}], "label": "hot spot"}\n]\n```'),
    T('```json\n[\n  {\n    "bbox_2d": [{x0}, {y0}, {x1}, {y1}],\n    "label": "small target",\n'
      '    "sub_label": "faint"\n  }\n]\n```'),
    T('One target {w}.\n```json\n[{"point_2d": [{x}, {y}], "label": "target"}]\n```'),
    T('{"point_2d": [{x}, {y}]}'),
]

QWEN3 = [
    T('```json\n[\n  {"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "small target"}\n]\n```'),
    T('```json\n[\n  {"point_2d": [{x}, {y}], "label": "target"}\n]\n```'),
    T('[{"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "infrared target"}]'),
    T('The target is a faint dot {w}.\n\n```json\n[\n  {"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "target"}\n]\n```'),
    T('{"point_2d": [{x}, {y}], "label": "bright speck"}'),
    T('```json\n[{"bbox_2d":[{x0},{y0},{x1},{y1}],"label":"small target"}]\n```'),
    T('```\n[\n  {"point_2d": [{x}, {y}], "label": "small bright target"}\n]\n```'),
    T('```json\n[\n\t{"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "target", "confidence": "high"}\n]\n```'),
]

GEMINI = [
    T('```json\n[\n  {"box_2d": [{y0}, {x0}, {y1}, {x1}], "label": "small target"}\n]\n```'),
    T('```json\n[\n  {"point": [{y}, {x}], "label": "target"}\n]\n```'),
    T('[{"box_2d": [{y0}, {x0}, {y1}, {x1}], "label": "bright dot"}]'),
    T('Here is the bounding box of the small target:\n\n```json\n[\n  {"box_2d": [{y0}, {x0}, {y1}, {x1}], '
      '"label": "infrared target"}\n]\n```'),
    T('{"box_2d": [{y0}, {x0}, {y1}, {x1}]}'),
    T('```json\n[\n  {\n    "box_2d": [\n      {y0},\n      {x0},\n      {y1},\n      {x1}\n    ],\n'
      '    "label": "target"\n  }\n]\n```'),
    T('The target is {w}.\n```json\n[{"point": [{y}, {x}], "label": "hot spot"}]\n```'),
    T('[{"point": [{y}, {x}], "label": "small target"}]'),
    T('The only target is a faint point {w}: `{"box_2d": [{y0}, {x0}, {y1}, {x1}]}`'),
]

MOLMO = [
    T(' <point x="{x}" y="{y}" alt="small target">small target</point>'),
    T('<point x="{x}" y="{y}" alt="target">target</point>'),
    T('The target is here: <point x="{x}" y="{y}" alt="bright dot">bright dot</point>'),
    T(' <point x="{x}" y="{y}" alt="infrared small target">infrared small target</point>'),
    T('There is one small target {w}. <point x="{x}" y="{y}" alt="target">target</point>'),
    T('<point x="{x}" y="{y}" alt="hot spot">hot spot</point>'),
    T('Sure, here it is: <point x="{x}" y="{y}" alt="the small bright target">the small bright target</point>'),
    T('Counting the <point x="{x}" y="{y}" alt="small target">small target</point> shows a total of 1.'),
]

PERCENT = [
    T("The target is about {x}% across and {y}% down."),
    T("Roughly {x} % from the left edge and {y} % from the top, there is a small bright dot."),
    T("Horizontal position ≈ {x}%, vertical ≈ {y}% (measured from the top-left corner)."),
    T("A faint target sits about {x}% in from the right edge and {y}% down from the top.", flip=(True, False)),
    T("The hot spot is {x}% of the way across the frame and {y}% of the way up from the bottom.", flip=(False, True)),
    T("Position: x = {x}%, y = {y}% of the image size.", dec=1),
    T("It appears {w}, roughly {x}% from the left and {y}% from the top."),
    T("**Where:** ~{x}% across, ~{y}% down"),
]

QWEN25_METAS: list[Meta] = [("qwen2.5-vl-72b-instruct", "openai-compatible"),
                            ("qwen2.5-vl-7b-instruct", "openai-compatible"),
                            ("qwen2.5-vl-32b-instruct", "openai-compatible"),
                            ("Qwen/Qwen2.5-VL-7B-Instruct", "openai-compatible")]
QWEN3_METAS: list[Meta] = [("qwen3-vl-235b-a22b-instruct", "openai-compatible"),
                           ("qwen3-vl-30b-a3b-instruct", "openai-compatible"),
                           ("qwen3-vl-8b-instruct", "openai-compatible"),
                           ("Qwen/Qwen3-VL-8B-Instruct", "openai-compatible")]
GEMINI_METAS: list[Meta] = [("gemini-2.5-flash", "gemini"), ("gemini-2.5-pro", "gemini"), ("gemini-2.0-flash", "gemini")]
MOLMO_METAS: list[Meta] = [("molmo-7b-d", "openai-compatible"), ("molmo-72b", "openai-compatible"),
                           ("molmo-7b-o", "openai-compatible"), ("allenai/Molmo-7B-D-0924", "openai-compatible")]
INTERNVL_METAS: tuple[Meta, ...] = (("internvl2_5-8b", "openai-compatible"), ("internvl2_5-26b", "openai-compatible"),
                                    ("OpenGVLab/InternVL2_5-8B", "openai-compatible"))
QWEN2_METAS: tuple[Meta, ...] = (("qwen2-vl-7b-instruct", "openai-compatible"), ("qwen2-vl-72b-instruct", "openai-compatible"),
                                 ("qwen2-vl-2b-instruct", "openai-compatible"),
                                 ("Qwen/Qwen2-VL-7B-Instruct", "openai-compatible"))
COGVLM_METAS: tuple[Meta, ...] = (("cogvlm2-llama3-chat-19b", "openai-compatible"),
                                  ("THUDM/cogvlm2-llama3-chat-19B", "openai-compatible"))


def _enum(items: list[dict[str, str]], fmt: str, sep: str) -> str:
    return sep.join(fmt.format(i=i, **d) for i, d in enumerate(items, 1))


def _jlist(items: list[dict[str, str]], fmt: str, indent: str = "  ") -> str:
    return "[\n" + ",\n".join(indent + fmt.format(i=i, **d) for i, d in enumerate(items, 1)) + "\n]"


def _and(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _cap(n: int) -> str:
    return {2: "Two", 3: "Three", 4: "Four"}[n]


MOLMO_MULTI = MT(lambda it, n: "<points " + " ".join(f'x{i}="{d["x"]}" y{i}="{d["y"]}"' for i, d in enumerate(it, 1))
                 + ' alt="small targets">small targets</points>', "point", "pct", 1, tuple(MOLMO_METAS))
MOLMO_COUNT = MT(lambda it, n: "Counting the <points " + " ".join(f'x{i}="{d["x"]}" y{i}="{d["y"]}"'
                                                              for i, d in enumerate(it, 1))
                 + f' alt="targets">targets</points> shows a total of {n}.', "point", "pct", 1, tuple(MOLMO_METAS))

MULTI = [
    MT(lambda it, n: f"{_cap(n)} targets:\n" + _enum(it, "{i}. ({x}, {y}) px", "\n"), "point", "px", 0, tuple(OA)),
    MT(lambda it, n: _enum(it, "Target {i}: x={x}, y={y}", "; ") + ".", "point", "px", 0, tuple(OA[:3])),
    MT(lambda it, n: "```json\n" + _jlist(it, '{{"bbox_2d": [{x0}, {y0}, {x1}, {y1}], "label": "small target"}}', "\t")
       + "\n```", "box", "sent", 0, tuple(QWEN25_METAS), sent=True),
    MT(lambda it, n: "```json\n" + _jlist(it, '{{"box_2d": [{y0}, {x0}, {y1}, {x1}], "label": "target {i}"}}')
       + "\n```", "box", "g1000", 0, tuple(GEMINI_METAS)),
    MT(lambda it, n: json.dumps([{"point": [int(d["y"]), int(d["x"])], "label": "target"} for d in it]),
       "point", "g1000", 0, tuple(GEMINI_METAS)),
    MT(lambda it, n: "```json\n" + _jlist(it, '{{"point_2d": [{x}, {y}], "label": "small target"}}') + "\n```",
       "point", "g1000", 0, tuple(QWEN3_METAS)),
    MT(lambda it, n: f"I see {NUMW(n)} small targets (normalised x, y):\n" + _enum(it, "- ({x}, {y})", "\n"),
       "point", "frac", 3, tuple(OA) + ((None, None),)),
    MT(lambda it, n: "On a 0–1000 grid the targets are at " + _and([f"({d['x']}, {d['y']})" for d in it]) + ".",
       "point", "g1000", 0, ((None, None), ("gpt-4o", "openai"))),
    MT(lambda it, n: "<ref>targets</ref><box>[" + ", ".join(f"[{d['x0']}, {d['y0']}, {d['x1']}, {d['y1']}]" for d in it)
       + "]</box>", "box", "g1000", 0, INTERNVL_METAS),
    MOLMO_MULTI,
    MT(lambda it, n: "".join(f"<|object_ref_start|>target<|object_ref_end|><|box_start|>({d['x0']},{d['y0']}),"
                             f"({d['x1']},{d['y1']})<|box_end|>" for d in it), "box", "g1000", 0, QWEN2_METAS),
    MT(lambda it, n: f"There are {NUMW(n)} small targets[[" + "];[".join(f"{d['x0']},{d['y0']},{d['x1']},{d['y1']}" for d in it)
       + "]].", "box", "g999", 0, COGVLM_METAS, pad=3),
    MT(lambda it, n: f"**Targets ({n})**\n" + _enum(it, "- box {i}: [{x0}, {y0}, {x1}, {y1}] px", "\n"),
       "box", "px", 0, tuple(OA)),
    MT(lambda it, n: _enum(it, "Target {i} — {w}: ({x}, {y}) px", "\n"), "point", "px", 0, tuple(OA), words=True),
    MT(lambda it, n: f"{_cap(n)} small targets, on a 0–1000 grid: "
       + "; ".join(f"one {d['w']} at [{d['x0']}, {d['y0']}, {d['x1']}, {d['y1']}]" for d in it) + ".",
       "box", "g1000", 0, ((None, None), ("claude-sonnet-4-5", "anthropic")), words=True),
    MT(lambda it, n: f"I can make out {NUMW(n)} faint targets. The first is {it[0]['w']}, around ({it[0]['x']}, "
       f"{it[0]['y']}). " + " ".join(f"Another sits {d['w']}, near ({d['x']}, {d['y']})." for d in it[1:]),
       "point", "frac", 2, tuple(OA), words=True),
]


def NUMW(n: int) -> str:  # noqa: N802 - reads like the word it returns
    return {2: "two", 3: "three", 4: "four"}[n]


def multi_family(rng: random.Random, frames: dict[str, Frame], templates: list[MT], n_correct: int,
                 n_wrong: int) -> list[Row]:
    kinds = ["correct"] * n_correct + ["wrong"] * n_wrong
    rng.shuffle(kinds)
    picker = Picker(frames)
    return [multi_row(rng, picker, templates[i % len(templates)], k, qwen25_sent) for i, k in enumerate(kinds)]


def _sf(templates: list[T], scale: str, decs: list[int], metas: list[Meta], pad: int = 0, sent: bool = False,
        n: tuple[int, int] = (14, 10)):
    def make(rng: random.Random, frames: dict[str, Frame]) -> list[Row]:
        return single_family(rng, frames, templates, n[0], n[1], scale, decs, metas,
                             qwen25_sent if sent else None, pad)
    return make


def _molmo(rng: random.Random, frames: dict[str, Frame]) -> list[Row]:
    rows = single_family(rng, frames, MOLMO, 11, 7, "pct", [1, 1, 0], MOLMO_METAS)
    return rows + multi_family(rng, frames, [MOLMO_MULTI, MOLMO_COUNT], 4, 2)


def _percent(rng: random.Random, frames: dict[str, Frame]) -> list[Row]:
    rows = single_family(rng, frames, PERCENT, 8, 6, "pct", [0], OA + [NONE])
    return rows + fraction_word_rows(rng, frames, 6, 4)


FAMILIES = [
    ("pixel-point", _sf(PIXEL_POINT, "px", [0], OA)),
    ("pixel-box", _sf(PIXEL_BOX, "px", [0], OA)),
    ("fraction", _sf(FRACTION, "frac", [2, 3, 3], OA + [NONE])),
    ("grid-1000-stated", _sf(GRID_STATED, "g1000", [0], OA + [NONE])),
    ("qwen2-vl-tags", _sf(QWEN2_TAGS, "g1000", [0], list(QWEN2_METAS))),
    ("internvl-ref-box", _sf(INTERNVL, "g1000", [0], list(INTERNVL_METAS))),
    ("cogvlm-grid", _sf(COGVLM, "g999", [0], list(COGVLM_METAS), pad=3)),
    ("qwen2.5-vl-json", _sf(QWEN25, "sent", [0], QWEN25_METAS, sent=True)),
    ("qwen3-vl-json", _sf(QWEN3, "g1000", [0], QWEN3_METAS)),
    ("gemini-box_2d", _sf(GEMINI, "g1000", [0], GEMINI_METAS)),
    ("molmo-point", _molmo),
    ("percent-and-fraction-words", _percent),
    ("multi-target", lambda rng, frames: multi_family(rng, frames, MULTI, 17, 13)),
    ("disagree", disagree_family),
    ("ambiguous-scale", ambiguous_family),
    ("no-target-short", no_target_family),
    ("prose-hard", prose_family),
]
