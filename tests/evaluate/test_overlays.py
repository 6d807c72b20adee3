"""Overlays of `langir predict` / `eval --save-preds`: boxes never cover a target, border boxes are whole,
predict tells detections apart by score and number, the legend is readable."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from langir.evaluate.outputs import PredictionWriter
from langir.evaluate.visualize import DETECTION, FALSE_ALARM, FONT_PX, MARGIN, WEAK, overlay


def _frame(pic: np.ndarray, shape: tuple[int, int], scale: int) -> np.ndarray:
    return pic[MARGIN : MARGIN + shape[0] * scale, MARGIN : MARGIN + shape[1] * scale]


def _is(pic: np.ndarray, colour) -> np.ndarray:
    return (pic == np.array(colour, np.uint8)).all(axis=-1)


@pytest.mark.parametrize("where", ["middle", "left border", "top-left corner", "bottom-right corner"])
def test_a_box_never_covers_its_component_leaves_a_gap_and_stays_whole_on_the_border(where):
    shape = (60, 80)
    pred = np.zeros(shape, bool)
    r, c = {"middle": (30, 40), "left border": (30, 0), "top-left corner": (0, 0), "bottom-right corner": (58, 78)}[where]
    pred[r : r + 2, c : c + 2] = True
    pic = overlay(np.full(shape, 0.3, np.float32), None, pred, legend=False)
    scale = 2
    big = np.zeros(pic.shape[:2], bool)
    big[MARGIN : MARGIN + shape[0] * scale, MARGIN : MARGIN + shape[1] * scale] = np.kron(pred, np.ones((2, 2), bool))
    box = _is(pic, DETECTION)
    assert not (box & big).any()
    assert not (box & ndimage.binary_dilation(big, np.ones((3, 3), bool), iterations=2)).any()  # a 2-pixel gap
    rows, cols = np.nonzero(big)
    r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
    # all four sides drawn, also where the component touches the image's edge (the box lies in the margin)
    assert box[r0 - 3, c0:c1 + 1].all() and box[r1 + 3, c0:c1 + 1].all()
    assert box[r0:r1 + 1, c0 - 3].all() and box[r0:r1 + 1, c1 + 3].all()


def test_predict_tells_strong_and_weak_detections_apart_and_labels_them():
    shape = (100, 120)
    pred = np.zeros(shape, bool)
    prob = np.full(shape, 0.01, np.float32)
    pred[20:23, 20:23] = True
    prob[20:23, 20:23] = 0.95
    pred[70:72, 90:92] = True
    prob[70:72, 90:92] = 0.55
    plain = overlay(np.full(shape, 0.3, np.float32), None, pred, legend=False, prob=prob)
    frame = _frame(plain, shape, 2)
    assert _is(frame[2 * 20 - 3, 2 * 20 : 2 * 23], DETECTION).all()  # strong: sky blue box
    assert _is(frame[2 * 70 - 3, 2 * 90 : 2 * 92], WEAK).all()  # weak: reddish purple box
    # a label ("1 0.95") right of the strong box, in its colour
    right = plain[MARGIN + 2 * 20 - 4 : MARGIN + 2 * 20 + FONT_PX, MARGIN + 2 * 23 + 6 : MARGIN + 2 * 23 + 60]
    tinted = (np.abs(right.astype(int) - np.array(DETECTION)).sum(axis=-1) < 60).sum()
    assert tinted > 20
    unlabelled = overlay(np.full(shape, 0.3, np.float32), None, pred, legend=False)  # no scores: no labels
    assert not (np.abs(unlabelled[MARGIN + 2 * 20 - 4 : MARGIN + 2 * 20 + FONT_PX, MARGIN + 2 * 23 + 6 : MARGIN + 2 * 23 + 60]
                       .astype(int) - np.array(DETECTION)).sum(axis=-1) < 60).any()


def test_eval_labels_false_alarms_with_their_score():
    shape = (80, 80)
    gt = np.zeros(shape, bool)
    pred = np.zeros(shape, bool)
    pred[40:42, 0:2] = True  # a false alarm on the left border
    prob = np.where(pred, 0.7, 0.0).astype(np.float32)
    pic = overlay(np.full(shape, 0.3, np.float32), gt, pred, legend=False, prob=prob)
    box = _is(pic, FALSE_ALARM)
    assert box[MARGIN + 80 - 3, MARGIN : MARGIN + 4].all() and box[MARGIN + 80 : MARGIN + 84, MARGIN - 3].all()
    assert box.sum() > 4 * 8  # box (and label text) drawn whole, not a clipped sliver


@pytest.mark.parametrize("width", [60, 300])
def test_legend_text_is_at_least_12_pixels_and_wraps_on_narrow_frames(width):
    shape = (40, width)
    pred = np.zeros(shape, bool)
    pred[10:12, 10:12] = True
    prob = np.where(pred, 0.9, 0.0).astype(np.float32)
    without = overlay(np.zeros(shape, np.float32), None, pred, legend=False, prob=prob)
    pic = overlay(np.zeros(shape, np.float32), None, pred, prob=prob)
    strip = pic[without.shape[0] :]
    assert strip.shape[1] == without.shape[1]
    text = strip[:, 20:].max(axis=-1) > 60  # glyph pixels (swatches are at the left)
    rows = np.nonzero(text.any(axis=1))[0]
    runs = np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1)  # one run per legend row
    assert max(len(r) for r in runs) >= 12  # ascender to descender of a 13-px font
    assert len(runs) >= (2 if width == 60 else 1)  # a narrow frame wraps its legend instead of cutting it


def test_prediction_writer_overlays_carry_scores(tmp_path):
    shape = (64, 64)
    prob = np.full(shape, 0.02, np.float32)
    prob[30:33, 30:33] = 0.9
    writer = PredictionWriter(tmp_path)
    writer.write("f", np.full(shape, 0.3, np.float32), prob)
    writer.finish()
    rows = writer.rows
    from PIL import Image

    pic = np.asarray(Image.open(tmp_path / "overlay" / "f.png").convert("RGB"))
    assert rows[0]["target"] == 1 and rows[0]["peak_prob"] == pytest.approx(0.9)
    label = pic[MARGIN + 2 * 30 - 4 : MARGIN + 2 * 30 + FONT_PX, MARGIN + 2 * 33 + 6 : MARGIN + 2 * 33 + 60]
    assert (np.abs(label.astype(int) - np.array(DETECTION)).sum(axis=-1) < 60).sum() > 20
