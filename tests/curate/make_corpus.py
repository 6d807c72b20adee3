"""Build tests/curate/corpus/descriptions.jsonl: VLM-style descriptions of real SIRST images, labelled by construction.

    PYTHONPATH=. python tests/curate/make_corpus.py [SIRST_ROOT]

Each record: id (a SIRST id; its truth is its mask `masks/{id}_pixels0.png`), family, kind, text,
empty_mask (ground against an empty mask instead: the target-free case), held_out (families kept
out of sight while the parser was fixed). Kinds and the verdict they must get:

- correct          the text names the target's true region(s): no failure;
- wrong            it names a region that holds no target (wrong half): contradicts;
- grid-wrong       it names a neighbouring 3×3 cell in the same halves: contradicts under grid only;
- vague            no position of the target: no-position;
- refusal          refusal;
- too-long         a true text over 50 words: too-long;
- no-target        empty mask, text says none is visible: no failure;
- claims-target    empty mask, text places a target: claims-target;
- says-no-target   non-empty mask, text says none is visible: says-no-target;
- count-mismatch   the text counts more targets than the mask has: plural-mismatch.

Regions come from the mask centroids (normalised row/H, col/W) with the 3×3 grid at thirds; a text
is "wrong" only when the named half-plane misses the centroid by a margin, so it is wrong under
both strictness levels. The prose families imitate GPT-4V / Claude answers (LangIR paper Figs. 6,
9, 10, 12): hedges, other objects with their own positions, negation, markdown, several targets.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

OUT = Path(__file__).parent / "corpus" / "descriptions.jsonl"
V = ("upper", "center", "lower")
H = ("left", "center", "right")
MARGIN = 0.08  # a wrong claim's half-plane misses the centroid by at least this much


def load_truth(root: Path) -> dict[str, np.ndarray]:
    truth = {}
    for path in sorted((root / "masks").glob("*_pixels0.png")):
        mask = np.asarray(Image.open(path)) > 0
        if mask.ndim == 3:
            mask = mask[..., 0]
        labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
        cents = np.array(ndimage.center_of_mass(mask, labels, range(1, n + 1))).reshape(-1, 2)
        truth[path.name[: -len("_pixels0.png")]] = cents / np.array(mask.shape)
    return truth


def cell(p) -> tuple[int, int]:
    return min(int(3 * p[0]), 2), min(int(3 * p[1]), 2)


def broad_wrong(v: int, h: int, p) -> bool:
    """True when the half-planes of grid cell (v, h) miss the point p by MARGIN on some axis."""
    r, c = p
    bad_v = (v == 0 and r > 0.5 + MARGIN) or (v == 2 and r < 0.5 - MARGIN) or (v == 1 and not 1 / 3 - MARGIN < r < 2 / 3 + MARGIN)
    bad_h = (h == 0 and c > 0.5 + MARGIN) or (h == 2 and c < 0.5 - MARGIN) or (h == 1 and not 1 / 3 - MARGIN < c < 2 / 3 + MARGIN)
    return bad_v or bad_h


# ---------------------------------------------------------------- region phrasings (prepositional phrases)
def _vw(rng, v):
    return rng.choice({0: ["upper", "top"], 2: ["lower", "bottom"]}[v])


def place(rng: random.Random, v: int, h: int, simple: bool = False) -> str:
    """A prepositional phrase naming grid cell (v, h), in one of many ways VLMs write it.

    `simple`: no comma inside (for negated places, whose scope would otherwise be ambiguous).
    """
    if simple:
        for _ in range(50):
            phrase = place(rng, v, h)
            if "," not in phrase:
                return phrase
    if v != 1 and h != 1:
        vw, hw = _vw(rng, v), H[h]
        name = rng.choice([f"{vw} {hw}", f"{vw}-{hw}", f"{vw}-{hw}"])
        return rng.choice([
            f"in the {name} of the image", f"in the {name} corner", f"near the {name} corner of the frame",
            f"toward the {name}", f"in the {name} region", f"in the {name} area of the scene",
            f"in the {name} portion of the frame", f"at the {name}", f"within the {name} section of the image",
            f"on the {hw} side, near the {'top' if v == 0 else 'bottom'}", f"on the {hw}-hand side, close to the {'top' if v == 0 else 'bottom'}",
            f"in the {name} part of the picture",
        ])
    if v == 1 and h != 1:
        hw = H[h]
        return rng.choice([
            f"in the center-{hw} of the image", f"on the {hw} side, vertically near the middle", f"in the middle of the {hw} side",
            f"on the {hw}, about halfway down", f"in the centre-{hw} region", f"at mid-height on the {hw} side",
            f"in the mid-{hw} area", f"along the {hw} side of the frame at mid-height", f"{hw} of the frame, halfway up",
            f"in the {hw} part of the image, at roughly mid-height",
        ])
    if v != 1 and h == 1:
        vw = _vw(rng, v)
        edge = "top" if v == 0 else "bottom"
        return rng.choice([
            f"near the {edge}, horizontally centered", f"in the {vw} middle of the frame", f"at the {vw} center",
            f"in the {vw}-central part of the image", f"near the {edge} edge, roughly in the middle horizontally",
            f"in the {vw} center of the image", f"at the {edge} of the frame, horizontally in the middle",
            f"in the middle of the {vw} part of the image", f"{edge}-center",
        ])
    return rng.choice([
        "in the center of the image", "near the middle of the frame", "almost dead centre", "in the central region",
        "roughly at the image center", "close to the centre of the scene", "in the middle of the picture",
        "near the center", "at the very center of the frame",
    ])


def bare(rng: random.Random, v: int, h: int) -> str:
    """A bare region name, as in markdown fields ('Upper left of the frame')."""
    if v == 1 and h == 1:
        return rng.choice(["Center of the image", "Image center", "Middle of the frame", "Central region"])
    if v == 1:
        return rng.choice([f"Center-{H[h]}", f"Middle of the {H[h]} side", f"{H[h].capitalize()} side, mid-height"])
    if h == 1:
        vw = _vw(rng, v)
        return rng.choice([f"{vw.capitalize()} center", f"{vw.capitalize()} middle of the frame"])
    return rng.choice([f"{_vw(rng, v).capitalize()} {H[h]}", f"{_vw(rng, v).capitalize()}-{H[h]} corner",
                       f"{_vw(rng, v).capitalize()} {H[h]} of the frame"])


def region_np(rng: random.Random, v: int, h: int) -> str:
    """A noun phrase naming grid cell (v, h): 'the upper-left corner', 'the middle of the left side'."""
    if v == 1 and h == 1:
        return rng.choice(["the center", "the middle of the frame", "the image centre"])
    if v == 1:
        return rng.choice([f"the middle of the {H[h]} side", f"the center-{H[h]} region"])
    if h == 1:
        return rng.choice([f"the {_vw(rng, v)} center", f"the middle of the {'top' if v == 0 else 'bottom'} edge"])
    return rng.choice([f"the {_vw(rng, v)}-{H[h]} corner", f"the {_vw(rng, v)} {H[h]} region"])


def wrong_cell(rng: random.Random, p) -> tuple[int, int] | None:
    """A grid cell whose half-planes miss p (wrong under both strictness levels), or None."""
    options = [(v, h) for v in range(3) for h in range(3) if (v, h) != (1, 1) and broad_wrong(v, h, p)]
    return rng.choice(options) if options else None


def grid_neighbour(rng: random.Random, p) -> tuple[int, int] | None:
    """A neighbouring cell that shares p's half-planes: wrong only on the 3×3 grid."""
    v, h = cell(p)
    options = []
    for dv, dh in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nv, nh = v + dv, h + dh
        if not (0 <= nv < 3 and 0 <= nh < 3) or (nv, nh) == (1, 1):
            continue
        r, c = p
        # the claimed cell is off by at least 0.1 of the image from p on the axis it changed
        far = (dv == 0 or abs(r - (nv + 0.5) / 3) > 1 / 6 + 0.1) and (dh == 0 or abs(c - (nh + 0.5) / 3) > 1 / 6 + 0.1)
        if far and not broad_wrong(nv, nh, p):
            options.append((nv, nh))
    return rng.choice(options) if options else None


# ---------------------------------------------------------------- vocabulary
TARGETS = ["small target", "tiny bright spot", "faint point-like object", "small hot spot", "bright dot",
           "small heat source", "dim blob", "small bright target", "point target", "tiny thermal signature"]
BACKGROUNDS = ["a cloudy sky", "a uniform dark sky", "scattered clouds", "a cluttered urban background",
               "a band of trees", "a hazy sky with soft cloud texture", "dark sea clutter", "a mountain ridge"]
OTHERS = {  # distractors whose own position is named (never the target's)
    0: ["clouds", "a bright cloud bank", "the sky", "a thin layer of cirrus"],
    2: ["the tree line", "the ground", "a row of buildings", "the horizon", "rooftops", "the treetops"],
}
SIDE_OTHERS = ["a tall building", "a bright structure", "a dense cloud bank", "a cluster of trees", "a hillside", "a radio mast"]


def other_place(rng: random.Random, p) -> tuple[str, str]:
    """A distractor and a place for it in the opposite part of the image (so a naive reader would contradict)."""
    v, h = cell(p)
    if v != 1 and rng.random() < 0.6:
        ov = 2 - v
        thing = rng.choice(OTHERS[ov])
        edge = "top" if ov == 0 else "bottom"
        where = rng.choice([f"along the {edge} of the frame", f"across the {edge} of the image",
                            f"in the {_vw(rng, ov)} part of the scene"])
        return thing, where
    oh = 2 - h if h != 1 else rng.choice([0, 2])
    return rng.choice(SIDE_OTHERS), rng.choice([f"on the {H[oh]}", f"on the {H[oh]} side", f"at the far {H[oh]}",
                                               f"along the {H[oh]} edge"])


def cap(s: str) -> str:
    return s[0].upper() + s[1:]


# ---------------------------------------------------------------- families
# Each family: (name, kinds it yields, held_out, make(rng, p, where, ctx) -> text); `where` is the
# place phrase (true or wrong region), p the true centroid, ctx extra fields.

def f_plain(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([f"The {t} is located {w}.", f"A {t} lies {w}.", f"The {t} appears {w}.",
                       f"A {t} can be seen {w}.", f"There is a {t} {w}."])


def f_gpt4v(rng, p, w, c):
    t, bg = rng.choice(TARGETS), rng.choice(BACKGROUNDS)
    return rng.choice([
        f"The infrared image shows a {t} {w}, appearing as a bright spot against {bg}.",
        f"In this infrared image, a {t} is visible {w}. The background consists of {bg}.",
        f"The image depicts {bg}; a {t} stands out {w}, with higher intensity than its surroundings.",
        f"A {t} is present {w} of this thermal image, set against {bg} with low contrast.",
    ])


def f_hedged(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([
        f"There appears to be a {t} {w}. It is likely a distant aircraft, though the low contrast makes it hard to be certain.",
        f"What looks like a {t} is visible {w}; it could be a drone or possibly a bird.",
        f"I believe the target is the {t} {w}, although it is quite faint.",
        f"The target seems to be {w}. It is small and faint, possibly an aircraft at long range.",
        f"It's hard to say for sure, but a {t} seems to be {w}.",
    ])


def f_markdown(rng, p, w, c):
    bg = rng.choice(BACKGROUNDS)
    b = c["bare"]
    return rng.choice([
        f"**Target location:** {b}\n**Appearance:** small bright blob\n**Background:** {bg}",
        f"- **Target:** a bright dot {w}\n- **Background:** {bg}\n- **Contrast:** low",
        f"### Description\nThe target is {w}. It is a compact bright spot against {bg}.",
        f"**Position:** {b}.\n\n**Details:** A faint, point-like heat source against {bg}.",
    ])


def f_distractor_after(rng, p, w, c):
    t = rng.choice(TARGETS)
    thing, where = other_place(rng, p)
    return rng.choice([
        f"A {t} sits {w}, well away from {thing} {where}.",
        f"The {t} is {w}; {thing} {where} is much larger and is not the target.",
        f"A {t} is visible {w}. {cap(thing)} can be seen {where}.",
        f"The target, a {t}, lies {w}, with {thing} visible {where}.",
    ])


def f_distractor_before(rng, p, w, c):
    t = rng.choice(TARGETS)
    thing, where = other_place(rng, p)
    return rng.choice([
        f"{cap(thing)} {rng.choice(['runs', 'stretches', 'extends'])} {where}; the target is a {t} {w}.",
        f"With {thing} {where}, the image shows a {t} {w}.",
        f"{cap(thing)} occupies the area {where}, while the target appears as a {t} {w}.",
        f"Beyond {thing} {where}, a {t} is visible {w}.",
    ])


def f_bright_structure(rng, p, w, c):
    thing, where = other_place(rng, p)
    t = rng.choice(TARGETS)
    return rng.choice([
        f"The bright structure {where} is a building, not the target; the actual target is a {t} {w}.",
        f"Note that the large warm area {where} is background clutter. The true target is the {t} {w}.",
        f"Although {thing} {where} looks bright, the target is the {t} {w}.",
    ])


def f_negation(rng, p, w, c):
    t = rng.choice(TARGETS)
    nw = c["neg"]
    return rng.choice([
        f"The target is not {nw}; it is {w}.",
        f"The {t} isn't {nw} but rather {w}.",
        f"Contrary to first impressions, the target is not {nw}. It lies {w}.",
        f"It is not {nw}, the {t} is {w}.",
    ])


def f_rather_instead(rng, p, w, c):
    t = rng.choice(TARGETS)
    nw = c["neg"]
    return rng.choice([
        f"Rather than {nw}, the {t} lies {w}.",
        f"Instead of sitting {nw}, the target appears {w}.",
        f"The {t} is {w} rather than {nw}.",
        f"The target lies {w}, instead of {nw} as one might expect.",
    ])


def f_neither(rng, p, w, c):
    a, b = c["neg_names"]
    t = rng.choice(TARGETS)
    return rng.choice([
        f"The target is neither in the {a} nor in the {b} of the image; the {t} sits {w}.",
        f"Neither the {a} nor the {b} contains the target. It is a {t} {w}.",
    ])


def f_right_sense(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([
        f"The {t} is right {w.replace('in the ', 'in the ', 1)}.",
        f"Right {w}, a {t} is visible.",
        f"The target sits right next to a small cloud {w}.",
        f"A {t} is visible {w}, right by a patch of cloud.",
        f"The target is right there {w}, a {t}.",
    ])


def f_on_top_of(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([
        f"A {t}, perched on top of a thin cloud layer, is visible {w}.",
        f"The target appears on top of a faint cloud {w}.",
        f"A {t} is visible {w}, just on top of a building's roofline.",
    ])


def f_has_left(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([
        f"An aircraft has left a faint contrail; the aircraft itself is the {t} {w}.",
        f"The {t} {w} had left a weak thermal trail behind it.",
        f"A jet has left a contrail across the sky, and the target is the {t} {w}.",
        f"The target, which has left a faint streak, is located {w}.",
    ])


def f_axis(rng, p, w, c):
    t = rng.choice(TARGETS)
    v, h = cell(p)
    if v == 1 and h != 1:
        side = H[h]
        return rng.choice([
            f"The {t} is at the far {side} edge, vertically near the middle.",
            f"A {t} sits on the {side}, vertically centred in the frame.",
            f"The target is halfway up the {side} side of the image.",
            f"At mid-height, on the {side} side, a {t} is visible.",
        ])
    if h == 1 and v != 1:
        edge = "top" if v == 0 else "bottom"
        return rng.choice([
            f"The {t} is horizontally centred, close to the {edge}.",
            f"A {t} near the {edge} of the frame, horizontally in the middle.",
            f"The target sits in the {_vw(rng, v)} part of the image, centered horizontally.",
        ])
    return f"The {t} is located {w}."


def f_thirds(rng, p, w, c):
    t = rng.choice(TARGETS)
    v, h = c["cell"]
    vt = {0: rng.choice(["upper third", "top third"]), 1: "middle third", 2: rng.choice(["lower third", "bottom third"])}[v]
    ht = {0: "left third", 1: "central third", 2: "right third"}[h]
    return rng.choice([
        f"The {t} is in the {vt} of the frame, within the {ht}.",
        f"A {t} appears in the {ht} of the image, in its {vt}.",
        f"Located in the {vt} and the {ht} of the image, the target is a {t}.",
    ])


def f_edges(rng, p, w, c):
    t = rng.choice(TARGETS)
    r, col = p
    vpart = "top" if r < 0.5 else "bottom"
    hpart = "left" if col < 0.5 else "right"
    if c["extreme"] == "corner":
        return rng.choice([f"A {t} is tucked into the {vpart}-{hpart} corner.", f"The target sits in the {vpart} {hpart} corner, close to the border.",
                           f"Close to the {vpart}-{hpart} corner of the frame, a {t} is visible."])
    if c["extreme"] == "h":
        return rng.choice([f"A {t} hugs the {hpart} edge of the image.", f"The target is right at the {hpart} edge of the frame.",
                           f"The {t} lies along the {hpart} border."])
    return rng.choice([f"A {t} is just below the top edge." if vpart == "top" else f"A {t} sits just above the bottom edge.",
                       f"The target lies along the {vpart} edge of the image.", f"The {t} is at the very {vpart} of the frame."])


def f_clock(rng, p, w, c):
    t = rng.choice(TARGETS)
    k = c["clock"]
    return rng.choice([
        f"Relative to the image centre, the {t} sits at about {k} o'clock.",
        f"The target is at roughly the {k} o'clock position from the center of the frame.",
        f"Taking the image center as reference, the {t} is located at {k} o'clock.",
    ])


def f_rel_center(rng, p, w, c):
    t = rng.choice(TARGETS)
    return c["rel"].format(t=t)


def f_multi(rng, p, w, c):
    w1, w2 = c["wheres"]
    t = rng.choice(["small targets", "bright spots", "point-like targets", "faint heat sources"])
    return rng.choice([
        f"There are two {t}: one {w1}, the other {w2}.",
        f"Two {t} are visible. The first is {w1}, and the second is {w2}.",
        f"The image contains two {t}, one located {w1} and another {w2}.",
        f"A small target is {w1}, and another one appears {w2}.",
        f"One target lies {w1}. A second, fainter target is {w2}.",
    ])


def f_multi_comparative(rng, p, w, c):
    w1, w2 = c["wheres"]
    return rng.choice([
        f"Two small targets are present: one {w1} and one {w2}, slightly lower than the other.",
        f"There are two bright dots, one {w1} and the other {w2}; the second is a bit higher than the first.",
        f"One target is {w1}; a second target, slightly smaller than the first, is {w2}.",
    ])


def f_multi_singular(rng, p, w, c):
    w1, _ = c["wheres"]
    t = rng.choice(TARGETS)
    return rng.choice([f"The {t} is located {w1}.", f"A {t} is visible {w1} against {rng.choice(BACKGROUNDS)}.",
                       f"The target appears {w1}; it is small and bright."])


def f_count_mismatch(rng, p, w, c):
    n = c["count_word"]
    return rng.choice([
        f"{cap(n)} small targets are visible {w}.",
        f"The image shows {n} faint targets {w}.",
        f"There are {n} bright point targets, clustered {w}.",
    ])


def f_no_other(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([
        f"A single {t} is visible {w}; no other objects are visible in the scene.",
        f"The {t} is {w}. No other objects can be seen.",
        f"There is one {t} {w}, and no other targets or objects are present.",
    ])


def f_vague(rng, p, w, c):
    t = rng.choice(TARGETS)
    thing, where = other_place(rng, p)
    return rng.choice([
        f"A {t} is visible against {rng.choice(BACKGROUNDS)}.",
        "The image shows a faint heat signature amid background clutter.",
        f"A {t} stands out clearly from {rng.choice(BACKGROUNDS)}; it is likely an aircraft.",
        f"{cap(thing)} can be seen {where}. A {t} is also visible in the image.",
        f"The target is a {t} with a soft Gaussian-like intensity profile, brighter than its surroundings.",
    ])


REFUSALS = [
    "As an AI assistant, I am unable to do this task.",
    "Unfortunately, I cannot complete this request.",
    "I'm sorry, but I can't help with identifying objects in this image.",
    "I'm not able to analyze this image for targets.",
    "I cannot assist with this request.",
    "Sorry, I can't provide a description of targets in surveillance imagery.",
    "I apologize, but I am unable to process this image.",
    "I'm afraid I can't help with that.",
    "Unfortunately, I am not able to fulfil this request.",
    "I must decline to identify targets in this image.",
    "As a language model, I cannot detect objects in infrared images.",
    "I won't be able to help with this task.",
]

NO_TARGETS = [
    "No small target is visible in the infrared image.",
    "There does not appear to be any target in this image.",
    "The image shows only clouds; no identifiable small target is present.",
    "I could not find any small target in this infrared frame.",
    "No target can be seen; the scene contains only background clutter.",
    "There is no visible target in the image, just a uniform sky.",
    "The frame appears to be empty of targets.",
    "I don't see any target in this image.",
    "No distinct target is discernible against the cloudy background.",
    "There are no targets visible in this infrared image.",
    "Nothing resembling a small target can be identified in the image.",
    "The image does not contain any visible target.",
]


def f_refusal(rng, p, w, c):
    return c["pick"](REFUSALS)


def f_no_target(rng, p, w, c):
    return c["pick"](NO_TARGETS)


def f_too_long(rng, p, w, c):
    t, bg = rng.choice(TARGETS), rng.choice(BACKGROUNDS)
    return (f"This infrared image presents a scene dominated by {bg}, with varying levels of thermal intensity across the "
            f"frame. Upon careful inspection, a {t} can be identified {w}. The object exhibits a higher thermal signature "
            "than its immediate surroundings, which suggests it may be a distant aircraft or drone. The surrounding area "
            "shows gradual intensity changes, and there are no other prominent features that would indicate additional "
            "objects of interest in the scene.")


# held-out families: written together with the others, never looked at while fixing the parser
def h_claude_paren(rng, p, w, c):
    t, bg = rng.choice(TARGETS), rng.choice(BACKGROUNDS)
    return rng.choice([
        f"In this thermal (infrared) frame, I can see a {t} (likely an aircraft) {w}, set against {bg}.",
        f"Looking at the image, the target (a {t}) is positioned {w}. The rest of the frame shows {bg}.",
        f"The target — a {t} — is {w}, surrounded by {bg}.",
    ])


def h_while(rng, p, w, c):
    thing, where = other_place(rng, p)
    t = rng.choice(TARGETS)
    return rng.choice([
        f"{cap(thing)} dominates the view {where}, while the target itself is a {t} {w}.",
        f"The target is a {t} {w}, whereas {thing} {where} forms the background.",
        f"Apart from {thing} {where}, the only notable feature is a {t} {w}.",
    ])


def h_away(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([
        f"Located {w}, the {t} is far away from {c['neg_np']}.",
        f"The target lies {w}, outside {c['neg_np']}.",
        f"A {t} is {w}, nowhere near {c['neg_np']}.",
    ])


def h_multi_md(rng, p, w, c):
    b1, b2 = c["bares"]
    return rng.choice([
        f"1. **Target 1:** {b1}\n2. **Target 2:** {b2}",
        f"Two targets detected:\n- {b1}\n- {b2}",
        f"**Targets:**\n* First: {b1}\n* Second: {b2}",
    ])


def h_distractor_truth(rng, p, w, c):
    t = rng.choice(TARGETS)
    return rng.choice([
        f"A bright cloud sits {c['true_where']}, and the {t} is {w}.",
        f"Trees are visible {c['true_where']}; the target is a {t} {w}.",
    ])


REFUSALS_HELD = [
    "I'm not able to help with analyzing this kind of imagery.",
    "This isn't something I can assist with, sorry.",
    "Unfortunately I can't complete this task.",
    "I am unable to provide an analysis of this infrared image.",
    "Sorry — I can't do that.",
    "I'm unable to identify targets in images like this one.",
]
NO_TARGETS_HELD = [
    "The frame contains only sky and cloud texture; nothing resembling a small target is visible.",
    "No clear target is present in this infrared image.",
    "I cannot identify any small target in this image.",
    "There appears to be no target in the scene.",
    "This image does not seem to contain a small target.",
    "No obvious target stands out from the background clutter.",
]


def h_refusal(rng, p, w, c):
    return c["pick"](REFUSALS_HELD)


def h_no_target(rng, p, w, c):
    return c["pick"](NO_TARGETS_HELD)


def h_high_low(rng, p, w, c):
    t = rng.choice(TARGETS)
    v, h = cell(p)
    vert = {0: rng.choice(["high in the frame", "near the top of the image"]),
            2: rng.choice(["low in the frame", "near the bottom of the image"])}[v]
    side = {0: "toward the left", 1: "roughly centered horizontally", 2: "toward the right"}[h]
    return rng.choice([f"The {t} is {vert}, {side}.", f"A {t} appears {vert} and {side}."])


FAMILIES: list[tuple[str, tuple[str, ...], bool, object]] = [
    ("plain", ("correct", "wrong"), False, f_plain),
    ("gpt4v-system", ("correct", "wrong"), False, f_gpt4v),
    ("claude-hedged", ("correct", "wrong"), False, f_hedged),
    ("markdown", ("correct", "wrong"), False, f_markdown),
    ("distractor-after", ("correct", "wrong"), False, f_distractor_after),
    ("distractor-before", ("correct", "wrong"), False, f_distractor_before),
    ("bright-structure", ("correct", "wrong"), False, f_bright_structure),
    ("negation-not", ("correct", "wrong"), False, f_negation),
    ("rather-instead", ("correct", "wrong"), False, f_rather_instead),
    ("neither-nor", ("correct", "wrong"), False, f_neither),
    ("right-sense", ("correct", "wrong"), False, f_right_sense),
    ("on-top-of", ("correct", "wrong"), False, f_on_top_of),
    ("has-left", ("correct", "wrong"), False, f_has_left),
    ("axis-qualifier", ("correct",), False, f_axis),
    ("thirds", ("correct", "wrong"), False, f_thirds),
    ("edges-corners", ("correct",), False, f_edges),
    ("clock", ("correct", "wrong"), False, f_clock),
    ("relative-center", ("correct", "wrong"), False, f_rel_center),
    ("multi-two", ("correct", "wrong"), False, f_multi),
    ("multi-comparative", ("correct",), False, f_multi_comparative),
    ("multi-singular", ("correct",), False, f_multi_singular),
    ("count-mismatch", ("count-mismatch",), False, f_count_mismatch),
    ("no-other-objects", ("correct",), False, f_no_other),
    ("vague", ("vague",), False, f_vague),
    ("refusal", ("refusal",), False, f_refusal),
    ("no-target", ("no-target", "says-no-target"), False, f_no_target),
    ("claims-target", ("claims-target",), False, f_plain),
    ("over-length", ("too-long",), False, f_too_long),
    ("grid-neighbour", ("grid-wrong",), False, f_plain),
    ("held-claude-paren", ("correct", "wrong"), True, h_claude_paren),
    ("held-while-whereas", ("correct", "wrong"), True, h_while),
    ("held-away-outside", ("correct", "wrong"), True, h_away),
    ("held-multi-markdown", ("correct", "wrong"), True, h_multi_md),
    ("held-distractor-at-truth", ("wrong",), True, h_distractor_truth),
    ("held-refusal", ("refusal",), True, h_refusal),
    ("held-no-target", ("no-target", "says-no-target"), True, h_no_target),
    ("held-high-low", ("correct",), True, h_high_low),
]
PER_KIND = 8  # texts per (family, kind)

CLOCK_OF = {(0, 1): [12], (0, 2): [1, 2], (1, 2): [3], (2, 2): [4, 5], (2, 1): [6], (2, 0): [7, 8], (1, 0): [9], (0, 0): [10, 11]}


def clock_ok(p, k) -> bool:
    """The centroid lies within 30° of the hour's direction and away from the centre."""
    dy, dx = 0.5 - p[0], p[1] - 0.5
    if np.hypot(dx, dy) < 0.15:
        return False
    ang = np.degrees(np.arctan2(dx, dy)) % 360
    diff = abs((ang - 30 * (k % 12) + 180) % 360 - 180)
    return diff <= 30


def clock_wrong(p, k) -> bool:
    dy, dx = 0.5 - p[0], p[1] - 0.5
    ang = np.degrees(np.arctan2(dx, dy)) % 360
    return abs((ang - 30 * (k % 12) + 180) % 360 - 180) >= 120 and np.hypot(dx, dy) > 0.15


def rel_center_text(rng, p, correct: bool) -> str | None:
    r, c = p
    if correct:
        dv, dh = r - 0.5, c - 0.5
    else:
        dv, dh = 0.5 - r, 0.5 - c
    if abs(dv) < 0.12 and abs(dh) < 0.12:
        return None
    if max(abs(dv), abs(dh)) > 0.3 and min(abs(dv), abs(dh)) < 0.05:
        return None
    horiz = "left" if dh < 0 else "right"
    vert = "above" if dv < 0 else "below"
    updown = "up" if dv < 0 else "down"
    if abs(dv) < 0.08 and 0.06 < abs(dh) < 0.17:
        return rng.choice([f"The {{t}} is slightly {horiz} of centre, roughly level with the middle.",
                           f"A {{t}} sits just {horiz} of the image center."])
    if abs(dh) < 0.08 and 0.06 < abs(dv) < 0.17:
        return rng.choice([f"The {{t}} is slightly {vert} the center of the image.", f"A {{t}} is just {vert} the middle of the frame."])
    if abs(dv) >= 0.08 and abs(dh) >= 0.08:
        return rng.choice([
            f"Relative to the image center, the {{t}} is {updown} and to the {horiz}.",
            f"The {{t}} lies {vert} and to the {horiz} of the image centre.",
            f"Measured from the centre of the frame, the target sits {updown} and to the {horiz}.",
        ])
    return None


def build(root: Path, seed: int = 10) -> list[dict]:
    truth = load_truth(root)
    truth.pop("Misc_111", None)  # its mask and image differ in size in the public release
    singles = [i for i, t in truth.items() if len(t) == 1]
    doubles = [i for i, t in truth.items() if len(t) == 2 and cell(t[0]) != cell(t[1])]
    records: list[dict] = []
    seen: set[str] = set()

    def add(sid, fam, kind, text, held, empty=False):
        if text in seen:
            return False
        seen.add(text)
        records.append({"id": sid, "family": fam, "kind": kind, "text": text, "empty_mask": empty, "held_out": held})
        return True

    for name, kinds, held, make in FAMILIES:
        pool_r = random.Random(f"{seed}-{name}")
        for kind in kinds:
            made, tries = 0, 0
            picked: list[int] = []

            def pick(seq, picked=picked):  # cycle through a phrase list without repeats
                k = len(picked) % len(seq)
                picked.append(k)
                return seq[k]

            while made < PER_KIND and tries < 4000:
                tries += 1
                multi = name.startswith(("multi", "held-multi"))
                sid = pool_r.choice(doubles if multi else singles)
                cents = truth[sid]
                p = cents[0]
                ctx: dict = {"pick": pick}
                where = None
                if kind in ("correct", "too-long", "claims-target"):
                    where = place(pool_r, *cell(p))
                    ctx["bare"] = bare(pool_r, *cell(p))
                    ctx["cell"] = cell(p)
                elif kind == "wrong":
                    wc = wrong_cell(pool_r, p)
                    if wc is None:
                        continue
                    ctx["cell"] = wc
                    where = place(pool_r, *wc)
                    ctx["bare"] = bare(pool_r, *wc)
                    ctx["true_where"] = place(pool_r, *cell(p))
                elif kind == "grid-wrong":
                    nc = grid_neighbour(pool_r, p)
                    if nc is None:
                        continue
                    where = place(pool_r, *nc)
                elif kind == "count-mismatch":
                    where = place(pool_r, *cell(p))
                    ctx["count_word"] = pool_r.choice(["two", "three", "several", "multiple"])
                if name in ("negation-not", "rather-instead", "neither-nor", "held-away-outside"):
                    # the negated region is where the target is *not*; in wrong texts it is the truth
                    if kind == "correct":
                        nc = wrong_cell(pool_r, p)
                        if nc is None:
                            continue
                    else:
                        nc = cell(p)
                    ctx["neg"] = place(pool_r, *nc, simple=True)
                    ctx["neg_np"] = region_np(pool_r, *nc)
                    names = {0: "upper half", 2: "lower half"}
                    hn = {0: "left half", 2: "right half"}
                    if kind == "correct":
                        a = names.get(2 - cell(p)[0]) if cell(p)[0] != 1 else "central band"
                        b = hn.get(2 - cell(p)[1]) if cell(p)[1] != 1 else "center"
                    else:
                        a = names.get(cell(p)[0], "central band")
                        b = hn.get(cell(p)[1], "center")
                    ctx["neg_names"] = (a, b)
                if name == "edges-corners":
                    r, c = p
                    near_v, near_h = min(r, 1 - r) < 0.12, min(c, 1 - c) < 0.12
                    if near_v and near_h:
                        ctx["extreme"] = "corner"
                    elif near_h and 0.2 < r < 0.8:
                        ctx["extreme"] = "h"
                    elif near_v and 0.2 < c < 0.8:
                        ctx["extreme"] = "v"
                    else:
                        continue
                if name == "axis-qualifier" and not ((cell(p)[0] == 1) ^ (cell(p)[1] == 1)):
                    continue
                if name == "axis-qualifier" and cell(p)[0] == 1 and min(p[1], 1 - p[1]) > 0.2:
                    continue  # "far left edge" only for targets near that edge
                if name == "held-high-low" and cell(p)[0] == 1:
                    continue
                if name == "clock":
                    hours = [k for k in range(1, 13) if (clock_ok(p, k) if kind == "correct" else clock_wrong(p, k))]
                    if not hours:
                        continue
                    ctx["clock"] = pool_r.choice(hours)
                if name == "relative-center":
                    rel = rel_center_text(pool_r, p, kind == "correct")
                    if rel is None:
                        continue
                    ctx["rel"] = rel
                if multi:
                    c1, c2 = cell(cents[0]), cell(cents[1])
                    if kind == "wrong":
                        wc = wrong_cell(pool_r, cents[1])
                        if wc is None or not broad_wrong(*wc, cents[0]):
                            continue
                        c2 = wc
                    ctx["wheres"] = (place(pool_r, *c1), place(pool_r, *c2))
                    ctx["bares"] = (bare(pool_r, *c1), bare(pool_r, *c2))
                empty = kind in ("no-target", "claims-target")
                if kind == "count-mismatch" and ctx["count_word"] == "three" and pool_r.random() < 0.5:
                    sid = pool_r.choice(doubles)
                    p = truth[sid][0]
                    ctx["count_word"] = "three"
                    where = place(pool_r, *cell(p))
                text = make(pool_r, p, where, ctx)
                if add(sid, name, kind, text, held, empty):
                    made += 1
    return records


CELL_CODES = {"UL": (0, 0), "UC": (0, 1), "UR": (0, 2), "CL": (1, 0), "C": (1, 1), "CR": (1, 2), "LL": (2, 0),
              "LC": (2, 1), "LR": (2, 2)}


def _hugs(p, edge: str) -> bool:
    r, c = p
    return all({"L": c < 0.15, "R": c > 0.85, "T": r < 0.15, "B": r > 0.85}[e] for e in edge)


def add_handwritten(records: list[dict], truth: dict[str, np.ndarray]) -> None:
    """The hand-written entries of corpus/handwritten.py, each on a SIRST id that makes its label true."""
    sys.path.insert(0, str(OUT.parent))
    from handwritten import HANDWRITTEN

    for family, kind, cells, edge, text in HANDWRITTEN:
        rng = random.Random(f"{family}|{kind}|{text}")
        held = family.startswith("hand-held")
        if kind in ("no-target", "claims-target"):
            records.append({"id": rng.choice(sorted(truth)), "family": family, "kind": kind, "text": text,
                            "empty_mask": True, "held_out": held})
            continue
        if isinstance(cells, tuple):
            want = sorted(CELL_CODES[c] for c in cells)
            ids = [i for i, t in truth.items() if len(t) == 2 and sorted(cell(p) for p in t) == want]
        elif kind == "wrong":
            v, h = CELL_CODES[cells]
            ids = [i for i, t in truth.items() if len(t) == 1 and broad_wrong(v, h, t[0])]
        else:
            ids = [i for i, t in truth.items() if len(t) == 1 and cell(t[0]) == CELL_CODES[cells] and _hugs(t[0], edge)]
        if not ids:
            raise SystemExit(f"no SIRST id fits {family} {kind} {cells} {edge}: {text}")
        records.append({"id": rng.choice(sorted(ids)), "family": family, "kind": kind, "text": text,
                        "empty_mask": False, "held_out": held})


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/datasets/sirst")
    records = build(root)
    truth = load_truth(root)
    truth.pop("Misc_111", None)
    add_handwritten(records, truth)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    fams = {r["family"] for r in records}
    print(f"{len(records)} records, {len(fams)} families -> {OUT}")


if __name__ == "__main__":
    main()
