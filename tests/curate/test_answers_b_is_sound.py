"""The second answer corpus (answers_b.jsonl) says what its labels claim, checked from the SIRST masks.

The positions each record states are converted back to original pixels here, with this file's own scale
table, and compared with the 8-connected components of the mask (scipy.ndimage) — not with the generator's
geometry.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from tests.curate import make_answers_b

HERE = Path(__file__).parent
CORPUS = HERE / "corpus" / "answers_b.jsonl"
ROOT = make_answers_b.sirst_root(make_answers_b.REPO)
pytestmark = pytest.mark.skipif(ROOT is None, reason="SIRST masks not available")
FIELDS = ["id", "family", "kind", "text", "empty_mask", "held_out", "model", "provider", "sent_size"]
DIV = {"frac": 1.0, "pct": 100.0, "k1000": 1000.0, "k1000yx": 1000.0, "k999": 999.0}


@functools.cache
def targets(name: str) -> tuple[int, int, list[tuple[slice, slice]], np.ndarray]:
    mask = np.asarray(Image.open(ROOT / "masks" / f"{name}_pixels0.png")) > 0
    mask = mask[..., 0] if mask.ndim == 3 else mask
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    cents = np.array(ndimage.center_of_mass(mask, labels, range(1, n + 1))).reshape(-1, 2)[:, ::-1]  # (x, y)
    return mask.shape[1], mask.shape[0], ndimage.find_objects(labels), cents


def qwen_size(w: int, h: int) -> tuple[int, int]:
    """Qwen2.5-VL's input size for SIRST-sized images: each side rounded to a multiple of 28."""
    assert 56 * 56 <= w * h <= 28 * 28 * 1280
    return round(w / 28) * 28, round(h / 28) * 28


def readings(claim: dict, rec: dict, w: int, h: int) -> list[tuple[float, float, float, float]]:
    """The claim as boxes (x0, y0, x1, y1) in original index pixels, under both pixel-centre conventions."""
    v, scale, shape = claim["values"], claim["scale"], claim["shape"]
    if scale.endswith("yx"):
        v = [v[1], v[0], v[3], v[2]] if shape == "box" else [v[1], v[0]]
    if shape == "xywh":
        v = [v[0], v[1], v[0] + v[2], v[1] + v[3]]
    elif shape == "cwh":
        v = [v[0] - v[2] / 2, v[1] - v[3] / 2, v[0] + v[2] / 2, v[1] + v[3] / 2]
    elif shape == "point":
        v = [v[0], v[1], v[0], v[1]]
    if scale in DIV:
        sx, sy, shifts = w / DIV[scale], h / DIV[scale], (-0.5, 0.0)
    else:
        sw, sh = rec["sent_size"] or (w, h)
        if scale == "qwen25":
            sw, sh = qwen_size(sw, sh)
        sx, sy, shifts = w / sw, h / sh, (0.0, -0.5)
    return [(v[0] * sx + d, v[1] * sy + d, v[2] * sx + d, v[3] * sy + d) for d in shifts]


def gap(box: tuple[float, float, float, float], sl: tuple[slice, slice], w: int, h: int) -> float:
    dx = max(sl[1].start - box[2], 0.0, box[0] - (sl[1].stop - 1))
    dy = max(sl[0].start - box[3], 0.0, box[1] - (sl[0].stop - 1))
    return math.hypot(dx / w, dy / h)


def hits(box: tuple[float, float, float, float], sls: list, cents: np.ndarray, point: bool) -> set[int]:
    """Targets a point hits (inside the target's box ± 1 px) or a box hits (contains the centroid)."""
    if point:
        x, y = box[0], box[1]
        return {i for i, sl in enumerate(sls) if sl[1].start - 1 <= x <= sl[1].stop and sl[0].start - 1 <= y <= sl[0].stop}
    return {i for i, (cx, cy) in enumerate(cents) if box[0] <= cx <= box[2] and box[1] <= cy <= box[3]}


def cell_of(cx: float, cy: float, w: int, h: int) -> tuple[tuple[int, int], float]:
    fx, fy = (cx + 0.5) / w, (cy + 0.5) / h
    return (min(2, int(3 * fy)), min(2, int(3 * fx))), min(abs(f - k / 3) for f in (fx, fy) for k in (1, 2))


def claims_state(rec: dict, truth: dict) -> tuple[bool, bool, set[int]]:
    """(every claim hits, every claim misses every target by ≥ 0.15, targets hit) under all readings."""
    w, h, sls, cents = targets(rec["id"])
    all_hit, all_far, hit = True, True, set()
    for claim in truth["claims"]:
        for box in readings(claim, rec, w, h):
            got = hits(box, sls, cents, claim["shape"] == "point")
            all_hit &= bool(got)
            hit |= got
            all_far &= min(gap(box, sl, w, h) for sl in sls) >= 0.15
    return all_hit, all_far, hit


def words_state(rec: dict, truth: dict) -> tuple[bool, bool]:
    """(every region holds a target well inside its cell, every region is two cells from every target)."""
    w, h, _, cents = targets(rec["id"])
    cells = [cell_of(cx, cy, w, h) for cx, cy in cents]
    right = wrong = True
    for reg in truth["regions"]:
        inside = {(r, c) for r in reg["rows"] for c in reg["cols"]}
        right &= any(cl in inside and m >= 0.05 for cl, m in cells)
        wrong &= all(max(abs(r - a), abs(c - b)) >= 2 for r, c in inside for (a, b), _ in cells)
    return right, wrong


@pytest.fixture(scope="module")
def built() -> list[tuple[dict, dict]]:
    return make_answers_b.build(ROOT)


def test_file_is_the_generator_output(built):
    assert CORPUS.read_text(encoding="utf-8") == make_answers_b.render(built)


def test_schema_sizes_and_held_out_third(built):
    recs = [r for r, _ in built]
    assert len(recs) >= 300
    assert all(list(r) == FIELDS for r in recs)
    fams = defaultdict(list)
    for r in recs:
        fams[r["family"]].append(r)
        mask = Image.open(ROOT / "masks" / f"{r['id']}_pixels0.png")
        assert Image.open(ROOT / "images" / f"{r['id']}.png").size == mask.size, r["id"]
        assert r["sent_size"] is None or (len(r["sent_size"]) == 2 and min(r["sent_size"]) > 0)
        assert (r["model"] is None) == (r["provider"] is None)
    for fam, rows in fams.items():
        assert len(rows) >= 15, fam
        assert sum(r["held_out"] for r in rows) == round(len(rows) / 3), fam


def test_stated_numbers_are_in_the_text(built):
    for rec, truth in built:
        written = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", rec["text"])}
        for claim in truth["claims"]:
            assert set(claim["values"]) <= written, (rec["id"], rec["text"])


def test_correct_answers_hit_every_target_they_speak_of(built):
    for rec, truth in (b for b in built if b[0]["kind"] == "correct"):
        all_hit, _, hit = claims_state(rec, truth)
        right, _ = words_state(rec, truth)
        n = len(targets(rec["id"])[3])
        assert truth["claims"] or truth["regions"], rec["text"]
        assert all_hit and right, (rec["id"], rec["text"])
        assert not truth["claims"] or hit == set(range(n)), (rec["id"], rec["text"])
        assert truth["count"] in (None, n)
        assert not rec["empty_mask"]


def test_wrong_answers_miss_every_target(built):
    for rec, truth in (b for b in built if b[0]["kind"] == "wrong"):
        _, all_far, _ = claims_state(rec, truth)
        _, wrong = words_state(rec, truth)
        assert all_far and wrong, (rec["id"], rec["text"])


def test_disagreeing_answers_have_one_side_right_and_one_far(built):
    for rec, truth in (b for b in built if b[0]["kind"] == "disagree"):
        all_hit, all_far, _ = claims_state(rec, truth)
        right, wrong = words_state(rec, truth)
        assert truth["claims"] and truth["regions"]
        assert (all_hit and wrong) or (all_far and right), (rec["id"], rec["text"])


def test_ambiguous_numbers_hit_one_way_and_miss_the_other(built):
    for rec, truth in (b for b in built if b[0]["kind"] == "ambiguous"):
        assert rec["model"] is None and rec["provider"] is None and rec["sent_size"] is None
        w, h, sls, cents = targets(rec["id"])
        for claim in truth["claims"]:
            assert max(claim["values"]) <= min(w, h, 1000)
            as_px = readings({**claim, "scale": "px"}, rec, w, h)
            as_k = readings({**claim, "scale": "k1000"}, rec, w, h)
            good, bad = (as_px, as_k) if claim["hit_as"] == "px" else (as_k, as_px)
            assert all(hits(b, sls, cents, True) for b in good), rec["text"]
            assert all(min(gap(b, sl, w, h) for sl in sls) >= 0.15 for b in bad), rec["text"]


def test_no_target_answers_state_no_position(built):
    kinds = Counter(r["kind"] for r, _ in built)
    assert kinds["no-target"] >= 15 and kinds["says-no-target"] >= 15
    for rec, truth in built:
        if rec["kind"] in ("no-target", "says-no-target"):
            assert not truth["claims"] and not truth["regions"]
            assert rec["empty_mask"] == (rec["kind"] == "no-target")
            assert len(targets(rec["id"])[3]) >= 1


def test_corpus_code_imports_nothing_from_langir():
    for path in [*HERE.glob("answers_b_*.py"), HERE / "make_answers_b.py", Path(__file__)]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "langir" or n.startswith("langir.") for n in names), path
