"""Positions written as numbers (issue 17): every notation VLMs use, judged against real SIRST masks.

Answers are written the way the models write them, with numbers computed from the mask: right ones
must agree, ones pointing at empty sky must be caught, words and numbers that disagree fail with
that reason, and two readings that give different verdicts are `ambiguous`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.curate.validate import coordinate_convention, judge_text, mask_targets
from langir.describe.checks import reply_problem
from tests.curate.curate_helpers import make_dataset, square

SAMPLE = "Misc_100"  # one target in the frame


def _sirst(sirst_root: Path, sample_id: str = SAMPLE):
    mask = np.asarray(Image.open(sirst_root / "masks" / f"{sample_id}_pixels0.png")) > 0
    found = mask_targets(mask[..., 0] if mask.ndim == 3 else mask)
    return found, found.pixel_targets()


def _judge(text, found, targets, provider=None, model=None, sent=None):
    return judge_text(text, found.centroids, targets=targets, convention=coordinate_convention(provider, model),
                      sent_size=sent)


def _answers(x: float, y: float, w: int, h: int, box: tuple[float, float, float, float]) -> list[tuple[str, str | None, str | None]]:
    """(text, provider, model): one answer per notation placing the target at pixel (x, y)."""
    x0, y0, x1, y1 = box
    k = lambda v, side: round(1000 * v / side)  # noqa: E731
    return [
        (f"The target is at pixel ({x:.0f}, {y:.0f}).", "openai", "gpt-4o"),
        (f"Target location: x={x:.0f}, y={y:.0f} (pixels).", "anthropic", "claude-sonnet-4-5"),
        (f"There is a single dim target near column {x:.0f}, row {y:.0f}.", "openai", "gpt-4.1"),
        (f"Bounding box: [{x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f}] (x_min, y_min, x_max, y_max).", "anthropic", "claude-opus-4-1"),
        (f"Normalised coordinates of the target: ({x / w:.3f}, {y / h:.3f}).", "openai", "gpt-4.1"),
        (f"On a 0–1000 scale, the target is at ({k(x, w)}, {k(y, h)}).", "anthropic", "claude-opus-4-1"),
        (f"<|object_ref_start|>target<|object_ref_end|><|box_start|>({k(x0, w)},{k(y0, h)}),({k(x1, w)},{k(y1, h)})<|box_end|>",
         "openai", "Qwen/Qwen2-VL-7B-Instruct"),
        (f"<ref>target</ref><box>[[{k(x0, w)}, {k(y0, h)}, {k(x1, w)}, {k(y1, h)}]]</box>", "openai", "internvl2_5-8b"),
        (f"A faint target[[{k(x0, w):03d},{k(y0, h):03d},{k(x1, w):03d},{k(y1, h):03d}]] against thin cloud.", "openai",
         "cogvlm2-llama3-chat-19b"),
        (f'```json\n[\n  {{"point_2d": [{k(x, w)}, {k(y, h)}], "label": "target"}}\n]\n```', "openai", "qwen3-vl-8b-instruct"),
        (f'[{{"box_2d": [{k(y0, h)}, {k(x0, w)}, {k(y1, h)}, {k(x1, w)}], "label": "small target"}}]', "gemini", "gemini-2.5-flash"),
        (f'<point x="{100 * x / w:.1f}" y="{100 * y / h:.1f}" alt="target">target</point>', "openai", "allenai/Molmo-7B-D-0924"),
        (f"The target is about {100 * x / w:.0f}% across and {100 * y / h:.0f}% down.", None, None),
    ]


def test_every_notation_agrees_when_right_and_is_caught_on_empty_sky(sirst_root):
    found, targets = _sirst(sirst_root)
    w, h = targets.size
    (cx, cy), (bx0, by0, bx1, by1) = targets.centroids[0], targets.boxes[0]
    right = _answers(cx, cy, w, h, (bx0 - 1, by0 - 1, bx1 + 1, by1 + 1))
    # the opposite corner of the frame: empty sky
    fx, fy = (w * 0.9 if cx < w / 2 else w * 0.1), (h * 0.9 if cy < h / 2 else h * 0.1)
    wrong = _answers(fx, fy, w, h, (fx - 4, fy - 4, fx + 4, fy + 4))
    for text, provider, model in right:
        judged = _judge(text, found, targets, provider, model)
        assert judged.verdict == "agrees" and not judged.failures, (text, judged.failures, judged.reason)
        assert judged.coords is not None and judged.coords.covered == 1
    for text, provider, model in wrong:
        judged = _judge(text, found, targets, provider, model)
        assert judged.verdict == "contradicts" and "contradicts" in judged.failures, text
        assert judged.coords.false_points >= 1


def test_qwen25_pixels_are_of_the_resized_image(sirst_root):
    found, targets = _sirst(sirst_root)
    w, h = targets.size
    cx, cy = targets.centroids[0]
    sent = (252, 168)  # what the server resized the frame to
    text = f'[{{"point_2d": [{cx * sent[0] / w:.0f}, {cy * sent[1] / h:.0f}], "label": "target"}}]'
    assert _judge(text, found, targets, "openai", "qwen2.5-vl-7b-instruct", sent).verdict == "agrees"
    # read as pixels of the original frame the same numbers point elsewhere
    assert _judge(text, found, targets, "anthropic", "claude-sonnet-4-5").verdict != "agrees"


def test_the_text_says_the_scale_first():
    found = mask_targets(square((200, 300), [(40, 250)], half=2))
    targets = found.pixel_targets()
    # Claude writes pixels by default; this answer says it uses a 0–1000 grid
    text = "Coordinates normalized to 1000: x=833, y=200."
    assert _judge(text, found, targets, "anthropic", "claude-sonnet-4-5").verdict == "agrees"
    assert _judge("The target is at (250, 40) in pixels.", found, targets, "gemini", "gemini-2.5-pro").verdict == "agrees"


def test_two_readings_with_different_verdicts_are_ambiguous_never_a_guess():
    found = mask_targets(square((400, 600), [(100, 150)], half=2))
    targets = found.pixel_targets()
    judged = _judge("Target at (150, 100).", found, targets)  # pixels: a hit; 0–1000: (90, 40) px, empty sky
    assert judged.verdict == "ambiguous" and judged.failures == ["ambiguous"]
    assert set(judged.coords.readings) == {"pixels", "grid1000"}
    # the same numbers from a model whose convention is known are not ambiguous
    assert _judge("Target at (150, 100).", found, targets, "openai", "gpt-4o").verdict == "agrees"
    # numbers that only fit one reading (beyond a 300×200 frame as pixels) are read on the other
    small = mask_targets(square((200, 300), [(120, 240)], half=2))
    assert _judge("Target at (800, 600).", small, small.pixel_targets()).verdict == "agrees"


def test_words_and_coordinates_that_disagree_fail_with_that_reason():
    found = mask_targets(square((200, 300), [(30, 250)], half=2))
    targets = found.pixel_targets()
    for text in ("The target is in the lower left, at approximately (250, 30) pixels.",
                 "The target is in the upper right, at approximately (40, 170) pixels."):
        judged = _judge(text, found, targets, "openai", "gpt-4o")
        assert judged.verdict == "contradicts" and judged.reason == "words and coordinates disagree", text
    judged = _judge("The target is in the upper right, at approximately (250, 30) pixels.", found, targets, "openai", "gpt-4o")
    assert judged.verdict == "agrees" and judged.grounding.claims  # words and numbers both judged


@pytest.mark.parametrize("text", ["None.", "No target.", "[]", "```json\n[]\n```", "targets: []", '{"targets": []}',
                                  "**Target:** none", "- Target: **none**", "0 targets.", "No object detected."])
def test_short_no_target_forms(text):
    empty = mask_targets(np.zeros((64, 64), dtype=bool))
    one = mask_targets(square((64, 64), [(10, 10)]))
    assert judge_text(text, empty.centroids).failures == []
    assert judge_text(text, one.centroids, targets=one.pixel_targets()).failures == ["says-no-target"]
    assert reply_problem(text, mask_empty=True) is None
    assert reply_problem(text, mask_empty=False) == "reply says no target but the mask has one"


def test_several_targets_each_must_hit():
    found = mask_targets(square((200, 300), [(30, 30), (170, 270)], half=2))
    targets = found.pixel_targets()
    both = "Two targets:\n1. (30, 30) px\n2. (270, 170) px"
    judged = _judge(both, found, targets, "openai", "gpt-4o")
    assert judged.verdict == "agrees" and judged.coords.covered == 2
    one_off = "Target 1: x=30, y=30; Target 2: x=150, y=100."
    judged = _judge(one_off, found, targets, "openai", "gpt-4o")
    assert judged.verdict == "contradicts" and judged.coords.false_points == 1


def test_describe_accepts_coordinates_and_rejects_what_validate_calls_no_position():
    assert reply_problem('```json\n[{"bbox_2d": [160, 127, 172, 131], "label": "target"}]\n```') is None
    assert reply_problem("<point x=\"51.0\" y=\"59.0\" alt=\"target\">target</point>") is None
    # position words that belong to a cloud place nothing: validate says no-position, so does describe
    text = "A bright cloud bank stretches across the upper left of the frame."
    assert reply_problem(text) is not None
    found = mask_targets(square((64, 64), [(10, 10)]))
    assert "no-position" in judge_text(text, found.centroids).failures


BAD = {
    "1e5 targets": json.dumps([{"point_2d": [101, 51], "label": "t"} for _ in range(100_000)]),
    "NaN": '[{"point_2d": [NaN, 51]}]',
    "infinity": '{"bbox_2d": [Infinity, 1, 2, 3]}',
    "negative": "The target is at (-101, -51) pixels.",
    "huge": "The target is at (1e308, 5e307).",
    "huge integer": '{"point_2d": [99999999999999999999999, 51]}',
    "1 MB prose": "The small target is in the upper left of the frame. " * 20_000,
    "1 MB numbers": "(1, 2), " * 130_000,
    "1 MB brackets": "[" * 1_000_000,
    "deep JSON": "[" * 5000 + "]" * 5000,
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_gives_one_clear_verdict_quickly(name):
    found = mask_targets(square((200, 300), [(51, 101)], half=2))
    start = time.perf_counter()
    judged = judge_text(BAD[name], found.centroids, targets=found.pixel_targets(), convention="qwen2.5")
    assert time.perf_counter() - start < 5.0
    assert judged.verdict in ("agrees", "contradicts", "vague")
    assert not judged.failures or set(judged.failures) <= {"too-long", "contradicts", "no-position"}
    if name in ("1e5 targets", "NaN", "infinity"):
        assert judged.verdict == "contradicts" and judged.reason.startswith("unreadable coordinates")
    if name in ("negative", "huge", "huge integer"):
        assert judged.verdict == "contradicts" and judged.coords.false_points == 1


def test_validate_reports_grounding_scores_per_model(tmp_path, cli):
    """`validate --json`: per provider, model and prompt style, words and coordinates apart, Pd/Fa-style rates."""
    from langir.data.answer_targets import write_targets
    from langir.describe.ledger import Ledger

    shape = (100, 150)
    upper_left = square(shape, [(15, 20)], half=2)
    items = {
        "qwen_ok": (upper_left, '[{"bbox_2d": [15, 10, 26, 21], "label": "target"}]'),
        "qwen_miss": (upper_left, '[{"bbox_2d": [120, 80, 130, 90], "label": "target"}]'),
        "gpt_words": (upper_left, "The small target lies in the upper left of the image."),
        "gpt_both_bad": (upper_left, "The small target lies in the upper left, at about (130, 85) px."),
        "structured": (upper_left, "A small target in the upper left."),
        "unknown": (upper_left, "Target at (20, 15)."),
    }
    root = make_dataset(tmp_path / "set", items)
    ledger = Ledger.for_dataset(root)
    for i, (sid, model) in enumerate([("qwen_ok", "qwen2.5-vl-7b-instruct"), ("qwen_miss", "qwen2.5-vl-7b-instruct"),
                                      ("gpt_words", "gpt-4o"), ("gpt_both_bad", "gpt-4o"), ("structured", "gpt-4o")]):
        ledger.record(f"k{i}", sid, "openai", model, "done", prompt_style="langir", text=items[sid][1])
    ledger.close()
    # a structured answer's stored pixel targets are judged like numbers in the text: this one is wrong
    write_targets(root, "structured", [{"point": [140.0, 90.0], "box": [136.0, 86.0, 144.0, 94.0]}], (150, 100))
    res = cli("validate", root, "--json", "--max-errors", "100")
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    rows = {(r["provider"], r["model"], r["prompt_style"]): r for r in summary["grounding_scores"]}
    qwen = rows[("openai", "qwen2.5-vl-7b-instruct", "langir")]
    assert qwen["coordinate_answers"] == 2 and qwen["coordinates"] == 0.5 and qwen["words_answers"] == 0
    assert qwen["point_hit"] == 0.5 and qwen["false_point"] == 0.5
    gpt = rows[("openai", "gpt-4o", "langir")]
    assert gpt["answers"] == 3 and gpt["words_answers"] == 3 and gpt["words"] == 1.0
    assert gpt["coordinate_answers"] == 2 and gpt["coordinates"] == 0.0 and gpt["agreement"] == pytest.approx(1 / 3, abs=1e-5)
    assert rows[("-", "-", "-")]["ambiguous"] == 1  # no ledger row: unit-less numbers on two scales
    assert summary["verdicts"]["ambiguous"] == 1
    assert set(summary["failing_ids"]) == {"qwen_miss", "gpt_both_bad", "structured", "unknown"}
    # the text output and the report's dataset card carry the same table
    res = cli("validate", root, "--max-errors", "100")
    assert "Grounding per model" in res.stdout and "words and coordinates disagree" in res.stdout
    res = cli("report", root, "--out", tmp_path / "card", "--gallery", "0")
    assert res.code in (0, 1), res.stderr
    card = (tmp_path / "card" / "README.md").read_text()
    assert "Grounding per provider, model and prompt style" in card
    assert "| openai | qwen2.5-vl-7b-instruct | langir | 2 | 50.0 % |" in card


@pytest.mark.parametrize("text", [
    "The target is located at approximately (x: 120, y: 45).", "Coordinates: 120, 45", "bbox: (116, 41) - (124, 49)",
    "[x=120, y=45]", "Center point: [120, 45]", "The bounding box is x1=116, y1=41, x2=124, y2=49.", "(120 px, 45 px)",
    "row 45, column 120", "y=45, x=120", "Top-left (116, 41), bottom-right (124, 49).", "x-coordinate: 120, y-coordinate: 45",
    "Horizontal: 120 px, vertical: 45 px", "The target: x≈120 px, y≈45 px, about 5 px wide.",
    "Located at around pixel (120, 45) in the 300x200 image.", "**Coordinates (x, y):** `(120, 45)`",
])
def test_free_form_pixel_notations(text):
    """Pixel positions as GPT-4o / Claude write them, in free form: all read, all agree (sizes and frame dimensions ignored)."""
    found = mask_targets(square((200, 300), [(45, 120)], half=2))
    judged = _judge(text, found, found.pixel_targets(), "openai", "gpt-4o")
    assert judged.verdict == "agrees" and not judged.failures, (judged.failures, judged.coords)
    wrong = text.replace("120", "270").replace("116", "266").replace("124", "274")
    judged = _judge(wrong, found, found.pixel_targets(), "openai", "gpt-4o")
    assert judged.verdict == "contradicts", wrong


@pytest.mark.parametrize("text", [
    "<ref>target</ref><box>(386,205),(413,245)</box>",  # Qwen-VL (v1), 0–1000
    "target<loc_386><loc_205><loc_413><loc_245>",  # Florence-2, 0–999 bins, x first
    "detect target: <loc0210><loc0395><loc0251><loc0423> target",  # PaliGemma, 0–1023 bins, y first
    "<point x='40.0' y='22.5' alt='t'>t</point>",  # Molmo with single quotes
    "[0.386, 0.205, 0.413, 0.245]",  # LLaVA-style 0–1 box
])
def test_other_grounding_tags(text):
    found = mask_targets(square((200, 300), [(45, 120)], half=2))
    judged = judge_text(text, found.centroids, targets=found.pixel_targets())
    assert judged.verdict == "agrees" and judged.coords.covered == 1


@pytest.mark.parametrize("text", [
    "The target is about 3 pixels wide, located in the upper left.", "There are 2 targets: one upper left, one lower right.",
    "At 10 o'clock from the centre, a faint dot.", "The image (320, 240) shows a target in the upper left.",
    "In this 256x256 frame the target is in the upper left.", "Image size: 640, 512. Target in the upper left.",
    "Confidence: 0.85. The target is in the upper left.", "With 95% confidence the target is in the upper left.",
])
def test_numbers_that_are_no_positions(text):
    """Sizes, counts, clock hours, frame sizes and confidences are not read as positions: the words decide."""
    from langir.text.coordinates import read_coordinates

    assert read_coordinates(text).positions == []
