"""Answer forms added in the twelfth session: Kosmos-2 patch-index boxes, one axis's range written as a bracketed
pair after its label (``x ∈ [118, 124]``, ``x in [118, 124]``, ``columns: [118, 124]``), and numbers
separated by spaces after a label (``Bounding box (xmin, ymin, xmax, ymax): 118 38 124 44``).

Each answer is composed from a real SIRST mask (numbers from the target, or from empty sky far from it):
right ones must agree, wrong ones must be caught — never read as points that land by chance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langir.curate.validate import coordinate_convention, judge_text, mask_targets
from langir.describe.checks import reply_problem
from langir.text.coordinates import read_coordinates
from tests.curate.curate_helpers import sirst_target

SAMPLE = "Misc_100"  # one target in the frame


def _sirst(sirst_root: Path, sample_id: str = SAMPLE):
    return sirst_target(sirst_root, sample_id)


def _verdict(text, found, targets, provider="openai", model="gpt-4o"):
    return judge_text(text, found.centroids, targets=targets, convention=coordinate_convention(provider, model)).verdict


def _right_agrees_wrong_is_caught(text, found, targets, target, sky) -> None:
    """`text(x, y)` written at the target agrees; written at empty sky it is caught."""
    assert _verdict(text(*target), found, targets) == "agrees"
    assert _verdict(text(*sky), found, targets) == "contradicts"


def _patch(x: float, y: float, w: int, h: int) -> int:
    return int(y / h * 32) * 32 + int(x / w * 32)


def test_kosmos2_patch_index_boxes(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)

    def answer(px, py):
        i = _patch(px, py, w, h)
        return (f"<grounding> An infrared image of<phrase> a small target</phrase><object><patch_index_{i:04d}>"
                f"<patch_index_{i:04d}></object> in the sky.")

    assert _verdict(answer(x, y), found, targets) == "agrees"
    assert _verdict(answer(sx, sy), found, targets) == "contradicts"
    reading = read_coordinates(answer(x, y))
    assert "patch_index" not in reading.prose and "a small target" in reading.prose


def test_a_patch_index_off_the_grid_is_no_position():
    assert read_coordinates("<object><patch_index_1024><patch_index_1030></object>").positions == []


@pytest.mark.parametrize("form", [
    "Target: x∈[{x0},{x1}], y∈[{y0},{y1}]",
    "x in [{x0}, {x1}], y in [{y0}, {y1}]",
    "The target spans columns: [{x0}, {x1}] and rows: [{y0}, {y1}].",
    "x range: [{x0}, {x1}]; y range: [{y0}, {y1}]",
    "rows {y0}-{y1}, columns {x0}-{x1}",
])
def test_one_axis_range_per_bracketed_pair(sirst_root, form):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)

    def text(cx, cy):
        return form.format(x0=round(cx) - 3, x1=round(cx) + 3, y0=round(cy) - 3, y1=round(cy) + 3)

    reading = read_coordinates(text(x, y))
    assert [p.kind for p in reading.positions] == ["box"]  # not two points (x0, x1) and (y0, y1)
    _right_agrees_wrong_is_caught(text, found, targets, (x, y), (sx, sy))


@pytest.mark.parametrize(("form", "xywh"), [
    ("Bounding box (xmin, ymin, xmax, ymax): {x0} {y0} {x1} {y1}", False),
    ("box: {x0} {y0} {x1} {y1}", False),
    ("Box (x, y, w, h): {x0} {y0} 6 6", True),
])
def test_numbers_separated_by_spaces_after_a_label(sirst_root, form, xywh):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)

    def text(cx, cy):
        return form.format(x0=round(cx) - 3, y0=round(cy) - 3, x1=round(cx) + 3, y1=round(cy) + 3)

    (box,) = read_coordinates(text(x, y)).positions
    assert box.kind == "box" and box.values == (round(x) - 3, round(y) - 3, round(x) + 3, round(y) + 3)
    _right_agrees_wrong_is_caught(text, found, targets, (x, y), (sx, sy))


def test_a_bracketed_pair_without_an_axis_label_is_still_a_point(sirst_root):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    assert _verdict(f"The target is at [{x:.0f}, {y:.0f}].", found, targets) == "agrees"
    assert _verdict(f'{{"point": [{sx:.0f}, {sy:.0f}]}}', found, targets) == "contradicts"


@pytest.mark.parametrize("form", [
    "(row, col) = ({y:.0f}, {x:.0f})",
    "Target centre (y, x): ({y:.0f}, {x:.0f})",
    "Position (in pixels, y then x): {y:.0f}, {x:.0f}",
    "Box [y_min, x_min, y_max, x_max]: [{y0}, {x0}, {y1}, {x1}]",
    "Box (row_min, col_min, row_max, col_max) = ({y0}, {x0}, {y1}, {x1})",
])
def test_numbers_the_text_says_come_row_first(sirst_root, form):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)

    def text(cx, cy):
        return form.format(x=cx, y=cy, x0=round(cx) - 3, y0=round(cy) - 3, x1=round(cx) + 3, y1=round(cy) + 3)

    _right_agrees_wrong_is_caught(text, found, targets, (x, y), (sx, sy))


@pytest.mark.parametrize("form", [
    "The target is located at approximately {px:.0f}% from left and {py:.0f}% from top.",
    "The target sits {fx}/{den} across and {fy}/{den} down.",
    "Roughly {fx}/{den} of the way from the left and {fy}/{den} from the top.",
])
def test_offsets_without_the_and_as_written_fractions(sirst_root, form):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)

    def text(cx, cy):
        den = 40
        return form.format(px=100 * cx / w, py=100 * cy / h, fx=round(den * cx / w), fy=round(den * cy / h), den=den)

    _right_agrees_wrong_is_caught(text, found, targets, (x, y), (sx, sy))


@pytest.mark.parametrize(("form", "cells"), [
    ("Location on a 10x10 grid: column {c}, row {r}.", (10, 10)),
    ("On a 3×3 grid the target is in row {r}, column {c}.", (3, 3)),
    ("Dividing the frame into a grid of 8 by 6 cells: col {c}, row {r}.", (8, 6)),
])
def test_cells_counted_on_a_stated_grid(sirst_root, form, cells):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)

    def text(cx, cy):
        return form.format(c=int(cx / w * cells[0]) + 1, r=int(cy / h * cells[1]) + 1)

    _right_agrees_wrong_is_caught(text, found, targets, (x, y), (sx, sy))


def test_a_share_of_the_image_width_and_height(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)

    def text(cx, cy):
        return f"The target is at approximately {100 * cx / w:.0f}% of the image width and {100 * cy / h:.0f}% of the image height."

    _right_agrees_wrong_is_caught(text, found, targets, (x, y), (sx, sy))


NO_TARGET_FORMS = ["Target: not found", "Target present: no", "Found: false", '{"found": false}',
                   '{"target_present": false, "note": "sky and clutter only"}', '```json\n{"detected": false}\n```']


@pytest.mark.parametrize("text", NO_TARGET_FORMS)
def test_yes_no_answers_that_say_no(sirst_root, text):
    """Agree with an empty mask; for a frame with a target they say no target (caught), never a place."""
    empty = mask_targets(np.zeros((120, 160), bool))
    judged = judge_text(text, empty.centroids, targets=empty.pixel_targets())
    assert judged.verdict == "no-target" and judged.failures == []
    found, targets, _, _, _ = _sirst(sirst_root)
    judged = judge_text(text, found.centroids, targets=targets)
    assert judged.verdict == "contradicts" and "says-no-target" in judged.failures
    assert reply_problem(text, 50, mask_empty=True) is None  # describe keeps it for an empty frame
    assert reply_problem(text, 50, mask_empty=False) == "reply says no target but the mask has one"


def test_a_yes_answer_with_its_point_is_a_point(sirst_root):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    assert _verdict(f'{{"found": true, "point": [{x:.0f}, {y:.0f}]}}', found, targets) == "agrees"
    assert _verdict(f'{{"found": true, "point": [{sx:.0f}, {sy:.0f}]}}', found, targets) == "contradicts"


@pytest.mark.parametrize("text", ["Targets: upper left, lower right.", "**Targets:** upper left; lower right",
                                  "Target locations: upper left and lower right.", "Detected targets: top left, bottom right"])
def test_places_listed_under_a_plural_key_are_one_per_target(text):
    two = np.zeros((240, 320), bool)
    two[38:43, 48:53] = two[198:203, 278:283] = True
    found = mask_targets(two)
    assert judge_text(text, found.centroids, targets=found.pixel_targets()).verdict == "agrees"
    one = np.zeros((240, 320), bool)
    one[38:43, 48:53] = True
    found = mask_targets(one)
    assert judge_text(text, found.centroids, targets=found.pixel_targets()).verdict == "contradicts"  # no target lower right


@pytest.mark.parametrize("form", [
    "The object is positioned at left: {px:.0f}%, top: {py:.0f}%.",  # CSS-style offsets: a point
    "left: {x:.0f}px; top: {y:.0f}px",
    "Coordinates: ({x:.0f} ± 3, {y:.0f} ± 3)",  # a value and its error, not four numbers
    "x = {x:.0f} +/- 2 px, y = {y:.0f} +/- 2 px",
    "The target sits at ({x:.0f};{y:.0f}).",
])
def test_css_offsets_errors_and_semicolons(sirst_root, form):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)

    def text(cx, cy):
        return form.format(x=cx, y=cy, px=100 * cx / w, py=100 * cy / h)

    _right_agrees_wrong_is_caught(text, found, targets, (x, y), (sx, sy))
