"""The coordinate corpus means what its labels say, re-derived from the SIRST masks (issue 17).

Independent of langir's parser: positions are decoded with the convention the generator wrote
them in (coordinate_geometry), targets come from the masks through scipy.ndimage.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.curate.coordinate_geometry import (
    MISS_DIST,
    clear_of_thirds,
    hits,
    load_frames,
    misses_all,
    sirst_root,
    target_cell,
)
from tests.curate.make_coordinate_corpus import OUT, build, intended_positions, numbers_in, render

KINDS = {"correct", "wrong", "disagree", "ambiguous", "no-target", "says-no-target"}
PROVIDERS = {None, "gemini", "openai", "anthropic", "openai-compatible"}

pytestmark = pytest.mark.skipif(not (sirst_root() / "masks").is_dir(),
                                reason=f"real SIRST dataset not found at {sirst_root()}")


@pytest.fixture(scope="module")
def frames():
    return load_frames()


@pytest.fixture(scope="module")
def rows(frames):
    return build(frames)


def _sent(rec):
    return tuple(rec["sent_size"]) if rec["sent_size"] else None


def _words_hold(cells, frame) -> bool:
    """Every cell the words name holds a target, and those targets are clear of third boundaries."""
    by_cell = {target_cell(t, frame): t for t in frame.targets}
    return all(c in by_cell and clear_of_thirds(by_cell[c].cx, by_cell[c].cy, frame) for c in cells)


def _words_empty(cells, frame) -> bool:
    taken = {target_cell(t, frame) for t in frame.targets}
    return bool(cells) and not any(c in taken for c in cells)


def test_file_is_the_generators_output(rows):
    assert Path(OUT).read_text(encoding="utf-8") == render(rows)


def test_records_are_well_formed(rows, frames):
    assert len(rows) >= 360
    for rec, _ in rows:
        assert list(rec) == ["id", "family", "kind", "text", "empty_mask", "held_out", "model", "provider", "sent_size"]
        assert rec["id"] in frames and rec["kind"] in KINDS and rec["provider"] in PROVIDERS
        assert rec["empty_mask"] == (not frames[rec["id"]].targets)
        json.dumps(rec)


def test_written_numbers_are_in_the_text(rows):
    for rec, intent in rows:
        found = Counter(numbers_in(rec["text"]))
        for g in intent.geoms:
            if g.spelled:
                continue
            for v in g.raw().values():
                assert found[v] > 0, (rec["text"], v)
                found[v] -= 1


def test_correct_answers_hit_every_target_they_name(rows, frames):
    n = 0
    for rec, intent in (r for r in rows if r[0]["kind"] == "correct"):
        f = frames[rec["id"]]
        positions = intended_positions(intent, f, _sent(rec))
        for pos in positions:
            assert any(hits(pos, t) for t in f.targets), (rec, pos)
        assert _words_hold(intent.cells, f), rec
        assert positions or intent.cells, rec
        if intent.count is not None:
            assert intent.count == len(f.targets), rec
        if len(f.targets) > 1 and positions:  # a several-target answer locates each target
            assert all(any(hits(p, t) for p in positions) for t in f.targets), rec
            assert len(positions) == len(f.targets)
        n += 1
    assert n >= 150


def test_wrong_answers_miss_every_target(rows, frames):
    for rec, intent in (r for r in rows if r[0]["kind"] == "wrong"):
        f = frames[rec["id"]]
        for pos in intended_positions(intent, f, _sent(rec)):
            assert misses_all(pos, f), (rec, pos, MISS_DIST)
        if intent.cells:
            assert _words_empty(intent.cells, f), rec


def test_disagreements_have_one_side_right_and_one_wrong(rows, frames):
    recs = [r for r in rows if r[0]["kind"] == "disagree"]
    assert len(recs) >= 12
    sides = Counter()
    for rec, intent in recs:
        f = frames[rec["id"]]
        positions = intended_positions(intent, f, _sent(rec))
        assert positions and intent.cells
        numbers_right = all(any(hits(p, t) for t in f.targets) for p in positions)
        numbers_wrong = all(misses_all(p, f) for p in positions)
        if _words_hold(intent.cells, f):
            assert numbers_wrong, rec
            sides["words"] += 1
        else:
            assert _words_empty(intent.cells, f) and numbers_right, rec
            sides["numbers"] += 1
    assert sides["words"] and sides["numbers"]


def test_ambiguous_answers_have_two_readings_with_different_verdicts(rows, frames):
    recs = [r for r in rows if r[0]["kind"] == "ambiguous"]
    assert len(recs) >= 12
    for rec, intent in recs:
        f = frames[rec["id"]]
        assert rec["model"] is None and rec["provider"] is None and rec["sent_size"] is None
        assert not re.search(r"px|pixel|%|percent|1000|normali[sz]|scale|grid", rec["text"], re.I), rec
        for g in intent.geoms:
            assert all(2 <= float(v) <= min(f.width, f.height, 1000) for v in g.raw().values()), rec
            assert all(re.fullmatch(r"\d+", v) for v in g.raw().values())
        verdicts = []
        for scale in intent.readings:
            pos = intended_positions(intent, f, None, scale)
            if all(any(hits(p, t) for t in f.targets) for p in pos):
                verdicts.append("hit")
            elif all(misses_all(p, f) for p in pos):
                verdicts.append("miss")
            else:
                verdicts.append("between")
        assert sorted(verdicts) == ["hit", "miss"], (rec, verdicts)


def test_no_target_forms_sit_on_the_right_masks(rows, frames):
    for rec, intent in rows:
        if rec["kind"] in ("no-target", "says-no-target"):
            assert not intent.geoms and not intent.cells
            assert (rec["kind"] == "no-target") == (not frames[rec["id"]].targets)


def test_a_third_of_every_family_is_held_out(rows):
    fams = defaultdict(list)
    for rec, _ in rows:
        fams[rec["family"]].append(rec["held_out"])
    assert len(fams) == 17
    for fam, held in fams.items():
        assert len(held) >= 12, fam
        assert 3 * sum(held) == len(held), fam


def test_every_family_but_the_single_kind_ones_mixes_kinds(rows):
    kinds = defaultdict(set)
    for rec, _ in rows:
        kinds[rec["family"]].add(rec["kind"])
    single = {"disagree", "ambiguous-scale", "no-target-short"}
    for fam, ks in kinds.items():
        assert fam in single or {"correct", "wrong"} <= ks, fam


def test_texts_are_short_where_the_style_allows(rows):
    for rec, _ in rows:
        if "{" not in rec["text"] and "<" not in rec["text"]:
            assert len(rec["text"].split()) <= 50, rec


def test_intended_positions_are_exported_per_line(frames, rows):
    from tests.curate.make_coordinate_corpus import intended

    meant = intended(frames)
    assert len(meant) == len(rows)
    for (rec, intent), m in zip(rows, meant, strict=True):
        assert len(m["points"]) + len(m["boxes"]) == len(intent.geoms)
        assert bool(m["readings"]) == (rec["kind"] == "ambiguous")
