"""Answer forms found by a second, independently written corpus (answers_b): tables, x/y JSON, YAML lists,
percent pairs, texts that state their own image size, Qwen2.5-VL pixels of the resized image.

Each answer is composed here from a real SIRST mask (numbers computed from the target, or from empty sky
far from it): right ones must agree, wrong ones must be caught.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langir.curate.validate import coordinate_convention, judge_text
from langir.text.conventions import qwen25_size
from tests.curate.curate_helpers import sirst_target

SAMPLE = "Misc_100"  # one target in the frame


def _sirst(sirst_root: Path, sample_id: str = SAMPLE):
    return sirst_target(sirst_root, sample_id)


def _judge(text, found, targets, provider=None, model=None, sent=None):
    return judge_text(text, found.centroids, targets=targets, convention=coordinate_convention(provider, model),
                      sent_size=sent)


@pytest.mark.parametrize("header", ["| No. | x | y | remark |", "| Id | X | Y | Contrast |", "| obj | x (px) | y (px) | look |"])
def test_markdown_table_with_x_and_y_columns_gives_positions(sirst_root, header):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    rule = "|" + "---|" * 4
    right = f"Here is what I see:\n\n{header}\n{rule}\n| 1 | {x:.0f} | {y:.0f} | dim dot |\n\nThat is all."
    wrong = f"Here is what I see:\n\n{header}\n{rule}\n| 1 | {sx:.0f} | {sy:.0f} | dim dot |\n"
    assert _judge(right, found, targets, "openai", "gpt-4o").verdict == "agrees"
    j = _judge(wrong, found, targets, "openai", "gpt-4o")
    assert j.verdict == "contradicts" and "no-position" not in j.failures


def test_markdown_table_with_a_second_row_on_empty_sky_is_caught(sirst_root):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    text = f"| # | x | y |\n|:-:|:-:|:-:|\n| 1 | {x:.0f} | {y:.0f} |\n| 2 | {sx:.0f} | {sy:.0f} |"
    j = _judge(text, found, targets, "anthropic", "claude-sonnet-4-5")
    assert j.verdict == "contradicts" and j.coords is not None and j.coords.given == 2


def test_qwen25_points_are_pixels_of_its_resize_of_the_sent_image(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    sent = (round(w * 0.7), round(h * 0.7))  # the client shrank the image before sending it
    rw, rh = qwen25_size(*sent)
    model = "Qwen/Qwen2.5-VL-7B-Instruct"
    right = f'[{{"point_2d": [{x * rw / w:.0f}, {y * rh / h:.0f}], "label": "hot spot"}}]'
    wrong = f'[{{"point_2d": [{sx * rw / w:.0f}, {sy * rh / h:.0f}], "label": "hot spot"}}]'
    assert _judge(right, found, targets, "openai-compatible", model, sent).verdict == "agrees"
    assert _judge(wrong, found, targets, "openai-compatible", model, sent).verdict == "contradicts"


def test_json_with_x_and_y_keys_and_an_origin_note_is_not_a_word_claim(sirst_root):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    for note in ("The origin is the upper-left corner of the frame.", "Pixel offsets are measured from the top left."):
        right = f'Result:\n{{"detection": {{"x": {x:.0f}, "y": {y:.0f}, "unit": "px"}}, "certainty": 0.6}}\n{note}'
        wrong = f'Result:\n{{"detection": {{"x": {sx:.0f}, "y": {sy:.0f}, "unit": "px"}}, "certainty": 0.6}}\n{note}'
        assert _judge(right, found, targets, "anthropic", "claude-opus-4-1").verdict == "agrees", note
        j = _judge(wrong, found, targets, "anthropic", "claude-opus-4-1")
        assert j.verdict == "contradicts" and j.reason != "words and coordinates disagree", note


def test_centre_and_size_notation_names_no_place(sirst_root):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    right = f'Output (centre/size, px): {{"centre": [{x:.0f}, {y:.0f}], "size": [5, 3]}}'
    wrong = f'Output (centre/size, px): {{"centre": [{sx:.0f}, {sy:.0f}], "size": [5, 3]}}'
    assert _judge(right, found, targets, "openai", "gpt-4o").verdict == "agrees"
    assert _judge(wrong, found, targets, "openai", "gpt-4o").reason != "words and coordinates disagree"


def test_yaml_list_keys_are_no_counts_and_its_region_is_a_word_claim(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    col = "left" if x < w / 3 else "right" if x > 2 * w / 3 else ""
    row = "top" if y < h / 3 else "bottom" if y > 2 * h / 3 else ""
    place = f"{row}-{col}".strip("-") or "centre"
    far = f"{'bottom' if y < h / 2 else 'top'}-{'right' if x < w / 2 else 'left'}"
    text = "hits: 1\ntargets:\n  - index: 1\n    x: {:.0f}\n    y: {:.0f}\n    region: {}\n    brightness: strong\nframe_origin: upper-left"
    j = _judge(text.format(x, y, place), found, targets, "openai", "gpt-4o")
    assert j.verdict == "agrees" and "plural-mismatch" not in j.failures
    j = _judge(text.format(x, y, far), found, targets, "openai", "gpt-4o")
    assert j.verdict == "contradicts" and j.reason == "words and coordinates disagree"
    j = _judge(text.format(sx, sy, place), found, targets, "openai", "gpt-4o")
    assert j.reason == "words and coordinates disagree" and "plural-mismatch" not in j.failures


def test_a_stated_image_size_on_the_line_before_a_label_is_no_count(sirst_root):
    found, targets, (x, y), _, (w, h) = _sirst(sirst_root)
    j = _judge(f"Frame size: {w} x {h}\nTarget: ({x:.0f}, {y:.0f})", found, targets, "anthropic", "claude-sonnet-4-5")
    assert "plural-mismatch" not in j.failures


def test_a_pair_of_percentages_is_a_position_on_the_percent_scale(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    right = f"Where it is, in percent of the frame's width and height: [{100 * x / w:.1f} %, {100 * y / h:.1f} %]."
    wrong = f"Where it is, in percent of the frame's width and height: [{100 * sx / w:.1f} %, {100 * sy / h:.1f} %]."
    j = _judge(right, found, targets, "openai", "gpt-4o")
    assert j.verdict == "agrees" and j.coords is not None and j.coords.scale == "percent"
    assert _judge(wrong, found, targets, "openai", "gpt-4o").verdict == "contradicts"


def test_numbers_within_a_size_the_text_states_are_pixels_of_that_size(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    sw, sh = round(w * 0.8), round(h * 0.8)  # the model saw a smaller copy and says so
    right = f"Input resolution = {sw} × {sh}\nHot spot: ({x * sw / w:.0f}, {y * sh / h:.0f})"
    wrong = f"Input resolution = {sw} × {sh}\nHot spot: ({sx * sw / w:.0f}, {sy * sh / h:.0f})"
    j = _judge(right, found, targets)
    assert j.verdict == "agrees" and j.coords is not None and j.coords.scale == "pixels"
    assert _judge(wrong, found, targets).verdict == "contradicts"


def test_a_json_answer_with_a_null_target_says_there_is_none(sirst_root):
    found, targets, *_ = _sirst(sirst_root)
    text = '{"detection": null, "why": "only sensor noise"}'
    none = judge_text(text, np.zeros((0, 2)), targets=None)
    assert none.verdict == "no-target" and "claims-target" not in none.failures
    j = _judge(text, found, targets, "openai", "gpt-4o")
    assert j.verdict == "contradicts" and "says-no-target" in j.failures


def _words_for(x: float, y: float, w: int, h: int) -> str:
    col = "left" if x < w / 3 else "right" if x > 2 * w / 3 else "centre"
    row = "upper" if y < h / 3 else "lower" if y > 2 * h / 3 else "middle"
    return f"{row} {col}" if col != "centre" or row != "middle" else "dead centre"


def test_a_header_naming_the_order_of_box_numbers_is_not_read_as_positions(sirst_root):
    found, targets, (x, y), _, _ = _sirst(sirst_root)
    for order in ("(x0, y0, x1, y1)", "(x1,y1,x2,y2)", "[x_min, y_min, x_max, y_max]"):
        text = f"Extent {order}: {x - 3:.0f},{y - 3:.0f},{x + 3:.0f},{y + 3:.0f}"
        j = _judge(text, found, targets, "openai", "gpt-4o")
        assert j.verdict == "agrees" and j.coords is not None and j.coords.given == 1, order


def test_axis_ranges_written_with_from_and_to_are_a_box(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    words = _words_for(x, y, w, h)
    right = f"Area: {words}. Extent: x from {x - 4:.0f} to {x + 4:.0f}, y from {y - 4:.0f} to {y + 4:.0f}."
    wrong = f"Area: {words}. Extent: x from {sx - 4:.0f} to {sx + 4:.0f}, y from {sy - 4:.0f} to {sy + 4:.0f}."
    assert _judge(right, found, targets, "anthropic", "claude-sonnet-4-5").verdict == "agrees"
    j = _judge(wrong, found, targets, "anthropic", "claude-sonnet-4-5")
    assert j.verdict == "contradicts" and j.reason == "words and coordinates disagree"


def test_a_place_word_before_numbers_in_brackets_stays_a_word_claim(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    words = _words_for(x, y, w, h)
    for numbers in (f"({sx:.0f}, {sy:.0f} in pixels)", f"(near {sx:.0f}, {sy:.0f})"):
        j = _judge(f"One faint blob, about {words} {numbers}; the rest is sky.", found, targets, "openai", "gpt-4o")
        assert j.verdict == "contradicts" and j.reason == "words and coordinates disagree", numbers


def test_markdown_table_of_box_corners_and_of_percent_columns(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    boxes = "| x_min | y_min | x_max | y_max |\n|---|---|---|---|\n| {:.0f} | {:.0f} | {:.0f} | {:.0f} |"
    assert _judge(boxes.format(x - 3, y - 3, x + 3, y + 3), found, targets, "openai", "gpt-4o").verdict == "agrees"
    assert _judge(boxes.format(sx - 3, sy - 3, sx + 3, sy + 3), found, targets, "openai", "gpt-4o").verdict == "contradicts"
    pct = "| target | x (%) | y (%) |\n|---|---|---|\n| A | {:.1f} | {:.1f} |"
    j = _judge(pct.format(100 * x / w, 100 * y / h), found, targets, "openai", "gpt-4o")
    assert j.verdict == "agrees" and j.coords is not None and j.coords.scale == "percent"


def test_a_huge_table_like_answer_is_read_quickly():
    import time

    from langir.text.coordinates import read_coordinates

    text = "| x | y |\n|---|---|\n" + "| 1 | 2 | 3 | 4 | 5 |\n" * 3000 + "|" * 20_000
    start = time.perf_counter()
    read_coordinates(text)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("note", ["(0,0) is the top-left corner.", "Origin (0, 0) at the upper left.",
                                  "x grows to the right and y grows downward.", "Pixel units, top-left origin.",
                                  "These use the upper-left corner as origin.", "Offsets relative to the top left corner."])
def test_notes_on_the_coordinate_system_are_neither_places_nor_positions(sirst_root, note):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    right = f'{{"hit": {{"x": {x:.0f}, "y": {y:.0f}}}}}\n{note}'
    wrong = f'{{"hit": {{"x": {sx:.0f}, "y": {sy:.0f}}}}}\n{note}'
    j = _judge(right, found, targets, "openai", "gpt-4o")
    assert j.verdict == "agrees" and not j.grounding.claims and j.coords is not None and j.coords.given == 1
    j = _judge(wrong, found, targets, "openai", "gpt-4o")
    assert j.verdict == "contradicts" and j.reason != "words and coordinates disagree"


@pytest.mark.parametrize("form", [
    "| Object | Centre X | Centre Y |\n|---|---|---|\n| a | {:.0f} | {:.0f} |",
    "| n | X position | Y position |\n|--|--|--|\n| 1 | {:.0f} | {:.0f} |",
    '{{"frame_size": [900, 700], "spot": [{:.0f}, {:.0f}]}}',
    '{{"found": [{{"n": 1, "cx": {:.0f}, "cy": {:.0f}}}]}}',
    '{{"center_x": {:.0f}, "center_y": {:.0f}, "size": [3, 3]}}',
])
def test_more_column_and_key_names_for_x_and_y(sirst_root, form):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    j = _judge(form.format(x, y), found, targets, "openai", "gpt-4o")
    assert j.verdict == "agrees" and j.coords is not None and j.coords.given == 1
    j = _judge(form.format(sx, sy), found, targets, "openai", "gpt-4o")
    assert j.verdict == "contradicts" and j.coords is not None and j.coords.given == 1


def test_a_bare_percent_pair_and_a_size_in_brackets_after_frame(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    for px, py, want in ((x, y, "agrees"), (sx, sy, "contradicts")):
        j = _judge(f"Share of the frame's width and height: {100 * px / w:.1f}%, {100 * py / h:.1f}%.", found, targets)
        assert j.verdict == want and j.coords is not None and j.coords.scale == "percent"
        sw, sh = w // 2, h // 2
        j = _judge(f"The frame ({sw} x {sh}) shows one faint blob at ({px / 2:.0f}, {py / 2:.0f}).", found, targets)
        assert j.verdict == want and j.coords is not None and j.coords.scale == "pixels"


def test_a_place_word_in_a_table_row_is_a_word_claim_and_x_px_keys_are_read(sirst_root):
    found, targets, (x, y), (sx, sy), (w, h) = _sirst(sirst_root)
    far = f"{'lower' if y < h / 2 else 'upper'} {'right' if x < w / 2 else 'left'}"
    table = "| Target | X | Y | Where |\n|---|---|---|---|\n| 1 | {:.0f} | {:.0f} | {} |"
    j = _judge(table.format(x, y, far), found, targets, "openai", "gpt-4o")
    assert j.verdict == "contradicts" and j.reason == "words and coordinates disagree"
    j = _judge(table.format(sx, sy, "dim"), found, targets, "openai", "gpt-4o")
    assert j.verdict == "contradicts" and j.reason != "words and coordinates disagree"
    keys = "- target_id: 1\n  x_px: {:.0f}\n  y_px: {:.0f}"
    assert _judge(keys.format(x, y), found, targets, "openai", "gpt-4o").verdict == "agrees"
    assert _judge(keys.format(sx, sy), found, targets, "openai", "gpt-4o").verdict == "contradicts"


def test_table_rows_naming_the_corners_of_a_box_make_one_box(sirst_root):
    found, targets, (x, y), (sx, sy), _ = _sirst(sirst_root)
    table = "| which | x | y |\n|---|---|---|\n| upper-left | {:.0f} | {:.0f} |\n| lower-right | {:.0f} | {:.0f} |"
    j = _judge(table.format(x - 5, y - 4, x + 5, y + 4), found, targets, "anthropic", "claude-sonnet-4-5")
    assert j.verdict == "agrees" and j.coords is not None and j.coords.given == 1 and not j.grounding.claims
    j = _judge(table.format(sx - 5, sy - 4, sx + 5, sy + 4), found, targets, "anthropic", "claude-sonnet-4-5")
    assert j.verdict == "contradicts" and j.coords is not None and j.coords.given == 1


def test_a_list_key_is_no_count_but_plural_prose_before_a_colon_still_is():
    from langir.data.text_rules import stated_count

    assert stated_count("objects_seen: 1\ntargets:\n  - n: 1\n    x: 40\n    y: 12") is None
    assert stated_count('{"targets": [{"x": 40, "y": 12}]}') is None
    assert stated_count("I can make out targets: one near the top, one lower down.") == 2


def test_qwen25_box_with_place_words_on_a_resized_image(sirst_root):
    found, targets, (x, y), _, (w, h) = _sirst(sirst_root)
    sent = (round(w * 0.55), round(h * 0.55))
    rw, rh = qwen25_size(*sent)
    box = f'[{{"bbox_2d": [{(x - 4) * rw / w:.0f}, {(y - 3) * rh / h:.0f}, {(x + 4) * rw / w:.0f}, {(y + 3) * rh / h:.0f}], "label": "blob"}}]'
    model = "Qwen/Qwen2.5-VL-32B-Instruct"
    j = _judge(f"A compact warm blob near the middle of the frame.\n{box}", found, targets, "openai-compatible", model, sent)
    assert j.verdict == "agrees"
    j = _judge(f"A compact warm blob in the lower left.\n{box}", found, targets, "openai-compatible", model, sent)
    assert j.verdict == "contradicts" and j.reason == "words and coordinates disagree"
