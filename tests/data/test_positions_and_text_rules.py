from __future__ import annotations

import numpy as np
import pytest

from langir.data.positions import (
    count_position_words,
    find_targets,
    grid_cell,
    has_position_term,
    quadrant,
    swap_left_right,
    swap_upper_lower,
)
from langir.data.text_rules import (
    NO_TARGET_SENTENCE,
    is_refusal,
    mentions_plural_target,
    says_no_target,
    word_count,
)


def test_table1_counting_rule() -> None:
    text = "The small target is in the Upper-left corner; leftmost clouds, near the top centre."
    assert count_position_words(text) == {"upper": 1, "left": 1}
    assert count_position_words(text, synonyms=True) == {"upper": 2, "left": 1, "center": 1}
    assert not has_position_term("A bright dot in the sky.")


def test_eight_connected_components_and_centroids() -> None:
    m = np.zeros((30, 40), bool)
    m[2:4, 2:4] = True  # 4 px
    m[4, 4] = True  # touches diagonally: same component under 8-connectivity
    m[20, 30:33] = True
    targets = find_targets(m)
    assert [t.area for t in targets] == [5, 3]
    assert targets[1].centroid == (20.0, 31.0)
    assert find_targets(np.zeros((5, 5), bool)) == []


@pytest.mark.parametrize(("point", "quad", "cell"), [
    ((0, 0), "top-left", (0, 0)), ((99, 199), "bottom-right", (2, 2)), ((50, 100), "bottom-right", (1, 1)),
    ((49.9, 99.9), "top-left", (1, 1)), ((10, 150), "top-right", (0, 2)),
])
def test_quadrant_and_grid(point, quad, cell) -> None:
    assert quadrant(*point, 100, 200) == quad
    assert grid_cell(*point, 100, 200) == cell


def test_flip_swaps_keep_case() -> None:
    assert swap_left_right("Upper-LEFT, Left and right; leftmost.") == "Upper-RIGHT, Right and left; rightmost."
    assert swap_upper_lower("Top-left, upper half, above the lower edge") == "Bottom-left, lower half, below the upper edge"
    assert swap_left_right(swap_left_right("left of the right bank")) == "left of the right bank"


def test_text_rules() -> None:
    assert word_count("The target's in the upper-left.") == 5
    assert is_refusal("As an AI assistant, I am unable to do this task.")
    assert not is_refusal("The small target is in the upper left.")
    assert says_no_target(NO_TARGET_SENTENCE) and not is_refusal(NO_TARGET_SENTENCE)
    assert not says_no_target("The small target is near the center.")
    assert mentions_plural_target("Two small targets on the right.")
    assert not mentions_plural_target("A small target on the right.")
