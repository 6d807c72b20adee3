"""Families with words in the lead: fraction words, disagreements, ambiguous scales, no-target forms,
and prose classes that trip readers (distractor words, denials, landmarks, enumerations)."""

from __future__ import annotations

import random

from tests.curate.coordinate_builders import (
    CELL_PHRASES,
    OPENAI_ANTHROPIC,
    SHORT_PHRASES,
    Meta,
    Picker,
    Row,
    T,
    far_cells,
    fill,
    phrase,
    record,
    single,
    single_words,
)
from tests.curate.coordinate_fit import far_box, far_point, far_spot, fit_box, fit_point, word_target
from tests.curate.coordinate_geometry import Frame, Geom, Intent, decode, hits, misses_all, target_cell

NONE: Meta = (None, None)

# ---------------------------------------------------------------- fraction words
FRACTION_WORDS = [(1 / 10, "a tenth of the way"), (1 / 5, "a fifth of the way"), (1 / 4, "a quarter of the way"),
                  (1 / 3, "a third of the way"), (2 / 5, "two fifths of the way"), (1 / 2, "halfway"),
                  (3 / 5, "three fifths of the way"), (2 / 3, "two thirds of the way"),
                  (3 / 4, "three quarters of the way"), (4 / 5, "four fifths of the way"),
                  (9 / 10, "nine tenths of the way")]
FRACTION_TEMPLATES = [
    "The target is {fx} across from the left and {fy} down from the top.",
    "A small bright dot sits {fx} in from the left edge, {fy} down.",
    "Horizontally it is {fx} across; vertically, {fy} down from the top edge.",
    "Look {fx} along from the left and {fy} down: there is a faint target.",
    "The hot spot lies roughly {fy} down the frame and {fx} across it.",
]


def _fraction_geom(fx: float, fy: float) -> Geom:
    return Geom("point", "frac", (("x", f"{fx:.6f}"), ("y", f"{fy:.6f}")), spelled=True)


def fraction_word_rows(rng: random.Random, frames: dict[str, Frame], n_correct: int, n_wrong: int) -> list[Row]:
    """Points written as fraction words; correct ones only on frames whose target sits on such a point."""
    def on_fraction(f: Frame) -> tuple[tuple[float, str], tuple[float, str]] | None:
        t = f.targets[0]
        xs = [w for w in FRACTION_WORDS if t.x0 - 1 <= w[0] * f.width <= t.x1 + 1]
        ys = [w for w in FRACTION_WORDS if t.y0 - 1 <= w[0] * f.height <= t.y1 + 1]
        return (xs[0], ys[0]) if xs and ys else None

    picker = Picker(frames)
    kinds = ["correct"] * n_correct + ["wrong"] * n_wrong
    rng.shuffle(kinds)
    rows: list[Row] = []
    for i, kind in enumerate(kinds):
        tmpl = FRACTION_TEMPLATES[i % len(FRACTION_TEMPLATES)]
        meta = rng.choice(OPENAI_ANTHROPIC + [NONE])
        for _ in range(300):
            if kind == "correct":
                f = picker.pick(rng, lambda fr: single(fr) and on_fraction(fr) is not None)
                (fx, wx), (fy, wy) = on_fraction(f)
            else:
                f = picker.pick(rng, single)
                spot = far_spot(f, rng)
                if spot is None:
                    continue
                (fx, wx) = min(FRACTION_WORDS, key=lambda w: abs(w[0] * f.width - spot[0]))
                (fy, wy) = min(FRACTION_WORDS, key=lambda w: abs(w[0] * f.height - spot[1]))
                if not misses_all(decode(_fraction_geom(fx, fy), f, None), f):
                    continue
            g = _fraction_geom(fx, fy)
            assert kind == "wrong" or hits(decode(g, f, None), f.targets[0])
            rows.append((record(f, kind, tmpl.format(fx=wx, fy=wy), meta), Intent([g])))
            break
    return rows


# ---------------------------------------------------------------- words and numbers disagree
DISAGREE = [
    T("The target is {w}, at approximately ({x}, {y}) pixels.", "px", meta=("gpt-4o", "openai")),
    T("A small bright dot sits {w}. Bounding box: [{x0}, {y0}, {x1}, {y1}] px.", "px",
      meta=("claude-sonnet-4-5", "anthropic")),
    T("It lies {w} — normalised position ({x}, {y}).", "frac", 3, meta=("gpt-4.1", "openai")),
    T('The target appears {w}.\n```json\n[{"box_2d": [{y0}, {x0}, {y1}, {x1}], "label": "target"}]\n```', "g1000",
      meta=("gemini-2.5-flash", "gemini")),
    T("One faint target {w}: <ref>target</ref><box>[[{x0}, {y0}, {x1}, {y1}]]</box>", "g1000",
      meta=("internvl2_5-8b", "openai-compatible")),
    T("Target {w}; on a 0–1000 scale it is at ({x}, {y}).", "g1000", meta=NONE),
    T('There is a hot spot {w} <point x="{x}" y="{y}" alt="target">target</point>', "pct", 1,
      meta=("molmo-7b-d", "openai-compatible")),
    T("**Position:** {w}\n**Pixel coordinates:** x = {x}, y = {y}", "px", meta=("gpt-4o-mini", "openai")),
    T('A faint target {w}.\n```json\n[{"point_2d": [{x}, {y}], "label": "target"}]\n```', "g1000",
      meta=("qwen3-vl-235b-a22b-instruct", "openai-compatible")),
    T("The small target is {w}, roughly {x}% across and {y}% down.", "pct", 0, meta=("claude-opus-4-1", "anthropic")),
    T("Target found {w} <|box_start|>({x0},{y0}),({x1},{y1})<|box_end|>", "g1000",
      meta=("qwen2-vl-7b-instruct", "openai-compatible")),
    T("- Location: {w}\n- Centre: ({x} px, {y} px)", "px", meta=("claude-3-5-sonnet-20241022", "anthropic")),
]


def disagree_family(rng: random.Random, frames: dict[str, Frame]) -> list[Row]:
    """Each template twice: right words with numbers on empty sky, right numbers with wrong words."""
    picker = Picker(frames)
    rows: list[Row] = []
    for t in DISAGREE:
        for words_right in (True, False):
            box = "{x0}" in t.text
            for _ in range(300):
                f = picker.pick(rng, single_words)
                tgt = f.targets[0]
                true_cell = target_cell(tgt, f)
                if words_right:
                    spot = far_spot(f, rng, words=True)
                    if spot is None:
                        continue
                    g = (far_box(*spot, f, t.scale, rng, t.dec or 0) if box
                         else far_point(*spot, f, t.scale, t.dec or 0))
                    cell = true_cell
                else:
                    g = (fit_box(tgt, f, t.scale, rng, t.dec or 0) if box
                         else fit_point(tgt, f, t.scale, rng, t.dec or 0))
                    if g is None:
                        continue
                    cell = rng.choice(far_cells([true_cell]))
                text = fill(t.text, {**g.raw(), "w": phrase(cell, rng)})
                rows.append((record(f, "disagree", text, t.meta), Intent([g], [cell])))
                break
    return rows


# ---------------------------------------------------------------- ambiguous scale
AMBIGUOUS = ["Target at ({x}, {y}).", "({x}, {y})", "x={x}, y={y}", "The small target: [{x0}, {y0}, {x1}, {y1}]",
             "Bounding box {x0},{y0},{x1},{y1}", "**Target:** ({x}, {y})", "Location: [{x}, {y}]",
             "A faint bright dot at {x}, {y}.", "[{x0}, {y0}, {x1}, {y1}]", "Box from ({x0}, {y0}) to ({x1}, {y1}).",
             "target: {x} {y}", "Centre of the target: ({x}, {y})"]


def ambiguous_family(rng: random.Random, frames: dict[str, Frame]) -> list[Row]:
    """Unit-less integers, no model: read as pixels or as a 0–1000 grid, one reading hits, one misses."""
    picker = Picker(frames)
    rows: list[Row] = []
    for tmpl in AMBIGUOUS:
        box = "{x0}" in tmpl
        for hit_scale, other in (("px", "g1000"), ("g1000", "px")):
            def fits(f: Frame, s: str = hit_scale) -> bool:
                if not single(f):
                    return False
                lim = min(f.width, f.height, 1000) - 6
                t = f.targets[0]
                k = (1.0, 1.0) if s == "px" else (1000 / f.width, 1000 / f.height)
                return t.cx * k[0] <= lim and t.cy * k[1] <= lim and min(t.cx * k[0], t.cy * k[1]) >= 8
            for _ in range(300):
                f = picker.pick(rng, fits)
                tgt = f.targets[0]
                g = fit_box(tgt, f, hit_scale, rng) if box else fit_point(tgt, f, hit_scale, rng)
                if g is None:
                    continue
                nums = [float(v) for v in g.raw().values()]
                if max(nums) > min(f.width, f.height, 1000) or min(nums) < 2:
                    continue
                if not misses_all(decode(g, f, None, other), f):
                    continue
                rows.append((record(f, "ambiguous", fill(tmpl, g.raw()), NONE), Intent([g], readings=("px", "g1000"))))
                break
    return rows


# ---------------------------------------------------------------- short no-target answers
NO_TARGET = [
    ("None.", NONE), ("No target.", ("gpt-4o", "openai")), ("[]", ("gemini-2.5-flash", "gemini")),
    ("```json\n[]\n```", ("qwen2.5-vl-72b-instruct", "openai-compatible")), ('{"targets": []}', ("gpt-4.1", "openai")),
    ("**Target:** none", ("claude-sonnet-4-5", "anthropic")), ("No infrared target is visible.", NONE),
    ("There is no small target in this image.", ("claude-3-5-sonnet-20241022", "anthropic")),
    ("none", ("qwen3-vl-8b-instruct", "openai-compatible")), ("N/A — no target detected.", ("gpt-4o-mini", "openai")),
    ("```\n[]\n```", ("qwen3-vl-235b-a22b-instruct", "openai-compatible")), ("No targets found.", NONE),
    ("The image contains only background clutter; I cannot see any target.", ("claude-opus-4-1", "anthropic")),
    ('```json\n{"targets": []}\n```', ("gpt-4o", "openai")), ("Target: none visible.", ("gemini-2.5-pro", "gemini")),
    ("I don't see any small target here.", ("gpt-4o", "openai")), ("- Target: **none**", ("claude-sonnet-4-5", "anthropic")),
    ("There's no target.", NONE), ("Nothing that looks like a small target is present.", ("gemini-2.0-flash", "gemini")),
    ("0 targets.", NONE), ("There are no bright point targets in this frame.", ("internvl2_5-8b", "openai-compatible")),
    ("```json\n[]\n```\nNo target is visible.", ("gemini-2.5-flash", "gemini")),
    ("No object detected.", ("molmo-7b-d", "openai-compatible")),
    ("### Result\nNo target could be located in the image.", ("gpt-4.1", "openai")),
]


def no_target_family(rng: random.Random, frames: dict[str, Frame]) -> list[Row]:
    """Short no-target answers. SIRST has no empty mask, so every one sits on a frame with targets."""
    picker = Picker(frames)
    empty = [f for f in frames.values() if not f.targets]
    rows: list[Row] = []
    for i, (text, meta) in enumerate(NO_TARGET):
        if empty and i % 2 == 0:
            f = rng.choice(empty)
            rows.append((record(f, "no-target", text, meta), Intent(count=0)))
        else:
            f = picker.pick(rng, lambda fr: bool(fr.targets))
            rows.append((record(f, "says-no-target", text, meta), Intent(count=0)))
    return rows


# ---------------------------------------------------------------- prose classes
DIRECTIONS = {"left": ["on the left", "along the left edge", "toward the left"],
              "right": ["on the right", "along the right edge", "toward the right"],
              "top": ["across the top", "along the top edge", "near the top"],
              "bottom": ["along the bottom", "near the bottom edge", "across the lower part"]}
DISTRACTOR = ["A faint target sits {w}, with a soft glow trailing off {d}.",
              "There is a small bright target {w}; a thin contrail runs {d}.",
              "The target is {w}, while a bright cloud band stretches {d}.",
              "A tiny hot spot is visible {w}. The sun glare {d} is not a target.",
              "A dim point target {w}, with heavy sea clutter {d}.",
              "Small target {w}. Some bright noise {d} looks similar but is background."]
HALVES = {"upper": "the upper half", "lower": "the lower half", "left": "the left half", "right": "the right half"}
DENIAL = ["There is no target in {h}; it sits {w}.", "Nothing shows up in {h}. The small target is {w}.",
          "Not in {h} — the bright dot is {w}.", "No target in {h}, but there is a faint one {w}.",
          "I see nothing in {h}. The target lies {w}.", "The target is not in {h}; look {w}."]
LANDMARKS = {"right": ["just left of the bright cloud band at the right edge",
                       "next to the building on the right edge", "beside the bright band along the right side"],
             "left": ["just right of the dark tree line on the left edge", "beside the cloud bank along the left side"],
             "top": ["just below the bright cloud layer along the top", "under the thin cloud band near the top edge"],
             "bottom": ["just above the ground clutter at the bottom",
                        "a little above the sea surface along the bottom edge"]}
ROW_OTHER = {0: "high in the frame", 1: "about halfway down", 2: "low in the frame"}
COL_OTHER = {0: "toward the left", 1: "horizontally centred", 2: "toward the right"}
LANDMARK = ["The target is {L}, {o}.", "A small bright dot lies {L}, {o}.", "There is a faint target {L} ({o})."]


def _sides(cell: tuple[int, int]) -> list[str]:
    r, c = cell
    return [s for s, ok in (("top", r == 0), ("bottom", r == 2), ("left", c == 0), ("right", c == 2)) if ok]


def _halves(cell: tuple[int, int]) -> list[str]:
    r, c = cell
    return [h for h, ok in (("upper", r == 0), ("lower", r == 2), ("left", c == 0), ("right", c == 2)) if ok]


OPPOSITE = {"upper": "lower", "lower": "upper", "left": "right", "right": "left",
            "top": "bottom", "bottom": "top"}
HALF_CELLS = {"upper": {(0, 0), (0, 1), (0, 2)}, "lower": {(2, 0), (2, 1), (2, 2)},
              "left": {(0, 0), (1, 0), (2, 0)}, "right": {(0, 2), (1, 2), (2, 2)}}


def _distractor(rng: random.Random, f: Frame, i: int, correct: bool) -> tuple[str, list] | None:
    true = target_cell(f.targets[0], f)
    if not correct and not _sides(true):
        return None
    if correct:
        cell = true
        sides = [OPPOSITE[s] for s in _sides(true)] or ["left", "right"]
    else:
        cell = rng.choice(far_cells([true]))
        sides = _sides(true)
    text = DISTRACTOR[i % len(DISTRACTOR)].format(w=phrase(cell, rng), d=rng.choice(DIRECTIONS[rng.choice(sides)]))
    return text, [cell]


def _denial(rng: random.Random, f: Frame, i: int, correct: bool) -> tuple[str, list] | None:
    true = target_cell(f.targets[0], f)
    halves = _halves(true)
    if not halves:
        return None
    half = rng.choice(halves)
    if correct:
        cell, denied = true, OPPOSITE[half]
    else:  # deny the half the target is in, then name a far cell of the other half
        options = [c for c in far_cells([true]) if c in HALF_CELLS[OPPOSITE[half]]]
        if not options:
            return None
        cell, denied = rng.choice(options), half
    return DENIAL[i % len(DENIAL)].format(h=HALVES[denied], w=phrase(cell, rng)), [cell]


def _landmark(rng: random.Random, f: Frame, i: int, correct: bool) -> tuple[str, list] | None:
    true = target_cell(f.targets[0], f)
    cell = true if correct else rng.choice([c for c in far_cells([true]) if _sides(c)])
    sides = _sides(cell)
    if not sides:
        return None
    side = rng.choice(sides)
    other = COL_OTHER[cell[1]] if side in ("top", "bottom") else ROW_OTHER[cell[0]]
    return LANDMARK[i % len(LANDMARK)].format(L=rng.choice(LANDMARKS[side]), o=other), [cell]


def _multi_words(f: Frame) -> bool:
    cells = [target_cell(t, f) for t in f.targets]
    return 2 <= len(f.targets) <= 3 and word_target(f) and len(set(cells)) == len(cells)


ENUMERATIONS = [
    lambda s, p, n: " ".join(f"{o} target: {x}." for o, x in zip(("First", "Second", "Third"), s, strict=False)),
    lambda s, p, n: f"{n.capitalize()} targets:\n" + "\n".join(f"{i}. {x}" for i, x in enumerate(s, 1)),
    lambda s, p, n: "\n".join(f"- Target {i} — {x}" for i, x in enumerate(s, 1)),
    lambda s, p, n: "Targets: " + "; ".join(f"({i}) {x}" for i, x in enumerate(s, 1)) + ".",
    lambda s, p, n: "\n".join(f"**Target {c}:** {x}" for c, x in zip("ABC", s, strict=False)),
    lambda s, p, n: "\n".join(f"{o} target:\n{x}." for o, x in zip(("First", "Second", "Third"), s, strict=False)),
    lambda s, p, n: f"I count {n} targets — " + ", ".join("one " + x for x in p[:-1]) + " and one " + p[-1] + ".",
]
LATER = [
    lambda p: f"A bright target lies {p[0]}. A second, fainter one can be seen {p[1]}.",
    lambda p: f"There is a small hot spot {p[0]}. Another target appears {p[1]}.",
    lambda p: f"The main target is {p[0]}. Further away, a dimmer second target sits {p[1]}.",
    lambda p: f"One target is clearly visible {p[0]}. Looking again, there is also one {p[1]}.",
]


def _multi_cells(rng: random.Random, f: Frame, correct: bool) -> list[tuple[int, int]] | None:
    true = [target_cell(t, f) for t in f.targets]
    if correct:
        return true
    empty = far_cells(true)
    if len(empty) < len(true):
        empty = far_cells(true, 1)
    if len(empty) < len(true):
        return None
    return rng.sample(empty, len(true))


def _enumeration(rng: random.Random, f: Frame, i: int, correct: bool) -> tuple[str, list] | None:
    cells = _multi_cells(rng, f, correct)
    if cells is None:
        return None
    short = [rng.choice(SHORT_PHRASES[c]) for c in cells]
    full = [rng.choice(CELL_PHRASES[c]) for c in cells]
    return ENUMERATIONS[i % len(ENUMERATIONS)](short, full, {2: "two", 3: "three"}[len(cells)]), cells


def _later(rng: random.Random, f: Frame, i: int, correct: bool) -> tuple[str, list] | None:
    cells = _multi_cells(rng, f, correct)
    if cells is None:
        return None
    full = [phrase(c, rng) for c in cells]
    text = LATER[i % len(LATER)](full)
    if len(cells) == 3:
        text += f" A third is {full[2]}."
    return text, cells


PROSE_CLASSES = [(_distractor, single_words), (_denial, single_words), (_landmark, single_words),
                 (_enumeration, _multi_words), (_later, _multi_words)]


def prose_family(rng: random.Random, frames: dict[str, Frame]) -> list[Row]:
    """Prose only: six (enumerations: nine) per class, right and wrong in turn, each on its own frame."""
    rows: list[Row] = []
    for make, ok in PROSE_CLASSES:
        picker = Picker(frames)
        for i in range(9 if make is _enumeration else 6):
            correct = i % 2 == 0
            for _ in range(300):
                f = picker.pick(rng, ok)
                made = make(rng, f, i, correct)
                if made is None:
                    continue
                text, cells = made
                meta = rng.choice(OPENAI_ANTHROPIC + [NONE])
                count = len(f.targets) if make in (_enumeration, _later) else None
                rows.append((record(f, "correct" if correct else "wrong", text, meta), Intent([], cells, count)))
                break
    return rows
