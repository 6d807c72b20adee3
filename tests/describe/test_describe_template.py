"""Template provider: text from the mask, true positions, singular wording, word limit."""

from __future__ import annotations

import numpy as np
import pytest

from langir.data.positions import cell_phrase, find_targets, grid_cell, quadrant
from langir.data.text_rules import NO_TARGET_SENTENCE, mentions_plural_target, word_count
from langir.describe.template import template_description


def _mask(shape, boxes):
    m = np.zeros(shape, bool)
    for r0, c0, r1, c1 in boxes:
        m[r0:r1, c0:c1] = True
    return m


def test_quadrant_style_is_the_paper_sentence():
    m = _mask((100, 100), [(10, 10, 13, 13)])
    assert template_description(m, "quadrant") == "The small target lies in the top-left quadrant."
    m = _mask((100, 100), [(80, 70, 83, 73)])
    assert template_description(m, "quadrant") == "The small target lies in the bottom-right quadrant."


def test_rich_names_true_grid_cell_and_quadrant_singular():
    m = _mask((90, 120), [(40, 100, 45, 105)])
    text = template_description(m, "rich")
    assert "center right" in text and "top-right quadrant" in text
    assert not mentions_plural_target(text)
    assert "targets" not in text


def test_empty_mask_says_no_target():
    assert template_description(np.zeros((8, 8), bool)) == NO_TARGET_SENTENCE


def test_several_targets_count_and_limit():
    boxes = [(5 + 20 * i, 5 + 20 * i, 8 + 20 * i, 8 + 20 * i) for i in range(6)]
    m = _mask((128, 128), boxes)
    text = template_description(m, "rich")
    assert "6 small target regions" in text
    assert word_count(text) <= 50
    assert not mentions_plural_target(text)


def test_unknown_style():
    with pytest.raises(ValueError):
        template_description(np.zeros((4, 4), bool), "poem")


def test_real_sirst_positions_true(sirst_root):
    from langir.data.dataset import LangIRDataset

    ds = LangIRDataset.open(sirst_root)
    for image_id in ds.ids(None):
        mask = ds.read_mask(image_id)
        text = template_description(mask)
        assert word_count(text) <= 50
        h, w = mask.shape[:2]
        targets = find_targets(mask)
        if not targets:
            assert text == NO_TARGET_SENTENCE
            continue
        first = targets[0]
        assert cell_phrase(grid_cell(*first.centroid, h, w)) in text
        if len(targets) == 1:
            assert quadrant(*first.centroid, h, w) in template_description(mask, "quadrant")
            assert "targets" not in text
