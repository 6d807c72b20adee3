"""Builders shared by the corpus families: pick frames, fit numbers, fill hand-written templates."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from tests.curate.coordinate_fit import far_box, far_point, far_spot, fit_box, fit_point, word_target
from tests.curate.coordinate_geometry import Frame, Geom, Intent, cell_of, target_cell

Row = tuple[dict, Intent]
Meta = tuple[str | None, str | None]

CELL_PHRASES = {
    (0, 0): ["in the upper left", "in the top-left corner", "near the upper-left corner", "toward the top left"],
    (0, 1): ["at the top centre", "in the upper middle of the frame", "near the top, horizontally centred",
             "in the top-centre region"],
    (0, 2): ["in the upper right", "in the top-right corner", "near the upper-right corner", "toward the top right"],
    (1, 0): ["on the left side at mid-height", "in the middle of the left side", "at the middle left",
             "on the left, halfway down"],
    (1, 1): ["near the centre of the image", "in the middle of the frame", "almost dead centre",
             "in the central region"],
    (1, 2): ["on the right side at mid-height", "in the middle of the right side", "at the middle right",
             "on the right, halfway down"],
    (2, 0): ["in the lower left", "in the bottom-left corner", "near the lower-left corner", "toward the bottom left"],
    (2, 1): ["at the bottom centre", "in the lower middle of the frame", "near the bottom, horizontally centred",
             "in the bottom-centre region"],
    (2, 2): ["in the lower right", "in the bottom-right corner", "near the lower-right corner",
             "toward the bottom right"],
}
SHORT_PHRASES = {
    (0, 0): ["upper left", "top-left"], (0, 1): ["top centre", "upper middle"], (0, 2): ["upper right", "top-right"],
    (1, 0): ["middle left", "left side, mid-height"], (1, 1): ["centre", "dead centre"],
    (1, 2): ["middle right", "right side, mid-height"],
    (2, 0): ["lower left", "bottom-left"], (2, 1): ["bottom centre", "lower middle"], (2, 2): ["lower right", "bottom-right"],
}
NUM_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
_KEYS = re.compile(r"\{(x|y|x0|y0|x1|y1|bw|bh|w|W|H)\}")

OPENAI_ANTHROPIC: list[Meta] = [("gpt-4o", "openai"), ("gpt-4.1", "openai"), ("gpt-4o-mini", "openai"),
                                ("claude-sonnet-4-5", "anthropic"), ("claude-3-5-sonnet-20241022", "anthropic"),
                                ("claude-opus-4-1", "anthropic")]


def phrase(cell: tuple[int, int], rng: random.Random) -> str:
    return rng.choice(CELL_PHRASES[cell])


def far_cells(cells: list[tuple[int, int]], steps: int = 2) -> list[tuple[int, int]]:
    """3×3 cells at least `steps` (Manhattan) from every given cell."""
    return [(r, c) for r in range(3) for c in range(3)
            if all(abs(r - a) + abs(c - b) >= steps for a, b in cells)]


def fill(text: str, vals: dict[str, str]) -> str:
    return _KEYS.sub(lambda m: vals[m.group(1)], text)


@dataclass(frozen=True)
class T:
    """A hand-written template; {x} {y} make a point, {x0} {y0} {x1} {y1} a box, {w} words."""

    text: str
    scale: str | None = None
    dec: int | None = None
    flip: tuple[bool, bool] = (False, False)
    meta: Meta | None = None


class Picker:
    """Frames for one family: each frame used once while unused ones remain."""

    def __init__(self, frames: dict[str, Frame]) -> None:
        self.frames = frames
        self.used: set[str] = set()

    def pick(self, rng: random.Random, ok: Callable[[Frame], bool]) -> Frame:
        pool = [f for f in self.frames.values() if ok(f)]
        fresh = [f for f in pool if f.id not in self.used] or pool
        f = rng.choice(fresh)
        self.used.add(f.id)
        return f


def single(f: Frame) -> bool:
    return len(f.targets) == 1


def single_words(f: Frame) -> bool:
    return len(f.targets) == 1 and word_target(f)


def record(f: Frame, kind: str, text: str, meta: Meta, sent: tuple[int, int] | None = None) -> dict:
    return {"id": f.id, "kind": kind, "text": text, "model": meta[0], "provider": meta[1],
            "sent_size": list(sent) if sent else None}


def single_row(rng: random.Random, picker: Picker, t: T, kind: str, scale: str, dec: int, meta: Meta,
               sent_fn: Callable[[Frame, random.Random], tuple[int, int]] | None = None, pad: int = 0) -> Row:
    """One answer about a one-target frame: `correct` hits the target, `wrong` points at empty sky."""
    words = "{w}" in t.text
    box = "{x0}" in t.text
    scale, dec = t.scale or scale, dec if t.dec is None else t.dec
    for _ in range(300):
        f = picker.pick(rng, single_words if words else single)
        sent = sent_fn(f, rng) if sent_fn else None
        tgt = f.targets[0]
        if kind == "correct":
            g = (fit_box(tgt, f, scale, rng, dec, pad, sent) if box
                 else fit_point(tgt, f, scale, rng, dec, pad, sent, flip=t.flip))
            if g is None:
                continue
            cell = target_cell(tgt, f)
        else:
            spot = far_spot(f, rng, words=words)
            if spot is None:
                continue
            g = (far_box(*spot, f, scale, rng, dec, pad, sent) if box
                 else far_point(*spot, f, scale, dec, pad, sent, t.flip))
            cell = cell_of(*spot, f)
        if "{bw}" in t.text:  # the same box written as corner, width and height
            r = g.raw()
            g = Geom("xywh", g.scale, (("x0", r["x0"]), ("y0", r["y0"]), ("bw", str(int(r["x1"]) - int(r["x0"]))),
                                       ("bh", str(int(r["y1"]) - int(r["y0"])))))
        vals = {**g.raw(), "W": str(f.width), "H": str(f.height)}
        if words:
            vals["w"] = phrase(cell, rng)
        intent = Intent([g], [cell] if words else [])
        return record(f, kind, fill(t.text, vals), t.meta or meta, sent), intent
    raise RuntimeError(f"no frame fits template {t.text!r}")


def single_family(rng: random.Random, frames: dict[str, Frame], templates: list[T], n_correct: int,
                  n_wrong: int, scale: str, decs: list[int], metas: list[Meta],
                  sent_fn: Callable[[Frame, random.Random], tuple[int, int]] | None = None,
                  pad: int = 0) -> list[Row]:
    """Templates taken in turn (each used for both kinds as counts allow), kinds interleaved."""
    kinds = ["correct"] * n_correct + ["wrong"] * n_wrong
    rng.shuffle(kinds)
    picker = Picker(frames)
    rows = []
    for i, kind in enumerate(kinds):
        t = templates[i % len(templates)]
        rows.append(single_row(rng, picker, t, kind, scale, rng.choice(decs), rng.choice(metas), sent_fn, pad))
    return rows


@dataclass(frozen=True)
class MT:
    """A multi-target template: fn(items, n) → text; items are the written value dicts per target."""

    fn: Callable[[list[dict[str, str]], int], str]
    shape: str
    scale: str
    dec: int
    metas: tuple[Meta, ...]
    sent: bool = False
    pad: int = 0
    words: bool = False  # items carry "w", the words for where that target is


def multi_frame(f: Frame, lo: int = 2, hi: int = 4, words: bool = False) -> bool:
    if not lo <= len(f.targets) <= hi:
        return False
    cells = [target_cell(t, f) for t in f.targets]
    return not words or (word_target(f) and len(set(cells)) == len(cells))


def multi_row(rng: random.Random, picker: Picker, mt: MT, kind: str,
              sent_fn: Callable[[Frame, random.Random], tuple[int, int]] | None = None,
              lo: int = 2, hi: int = 4) -> Row:
    """An answer listing every target of a multi-target frame (`correct`) or as many empty spots."""
    for _ in range(300):
        f = picker.pick(rng, lambda fr: multi_frame(fr, lo, hi, mt.words))
        sent = sent_fn(f, rng) if mt.sent and sent_fn else None
        geoms: list[Geom] = []
        cells: list[tuple[int, int]] = []
        if kind == "correct":
            for tgt in f.targets:
                g = (fit_box(tgt, f, mt.scale, rng, mt.dec, mt.pad, sent) if mt.shape == "box"
                     else fit_point(tgt, f, mt.scale, rng, mt.dec, mt.pad, sent))
                if g is None:
                    break
                geoms.append(g)
                cells.append(target_cell(tgt, f))
        else:
            spots: list[tuple[float, float]] = []
            for _t in f.targets:
                s = far_spot(f, rng, words=mt.words, avoid=spots)
                if s is None:
                    break
                spots.append(s)
                geoms.append(far_box(*s, f, mt.scale, rng, mt.dec, mt.pad, sent) if mt.shape == "box"
                             else far_point(*s, f, mt.scale, mt.dec, mt.pad, sent))
                cells.append(cell_of(*s, f))
        if len(geoms) != len(f.targets):
            continue
        items = [{**g.raw(), "w": phrase(c, rng)} for g, c in zip(geoms, cells, strict=True)]
        text = mt.fn(items, len(geoms))
        intent = Intent(geoms, cells if mt.words else [], len(geoms))
        return record(f, kind, text, rng.choice(mt.metas), sent), intent
    raise RuntimeError("no multi-target frame fits")


def smart_resize(height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56,
                 max_pixels: int = 28 * 28 * 1280) -> tuple[int, int]:
    """Qwen2.5-VL's resize (qwen_vl_utils): sides to multiples of 28 within a pixel budget."""
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = math.floor(height / beta / factor) * factor
        w = math.floor(width / beta / factor) * factor
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def qwen25_sent(f: Frame, rng: random.Random) -> tuple[int, int]:
    """sent_size (W, H) of a frame as a Qwen2.5-VL server resized it: default, upscaled or capped."""
    budget = rng.choice([{}, {"min_pixels": 256 * 28 * 28}, {"max_pixels": 64 * 28 * 28}, {"min_pixels": 320 * 28 * 28}])
    h, w = smart_resize(f.height, f.width, **budget)
    return w, h
