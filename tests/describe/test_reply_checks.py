"""Each VLM reply is judged by the same text rules validate uses: refusals re-asked, hedges kept."""

from __future__ import annotations

import pytest

from langir.describe.checks import reply_problem


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't help with identifying objects in this image.",
    "Unfortunately, I cannot complete this request.",
    "As an AI assistant, I am unable to do this task.",
])
def test_refusals_are_rejected(text):
    assert reply_problem(text) == "refusal"


@pytest.mark.parametrize("text", [
    "I can't be completely certain, but the small target appears to be in the upper left of the image.",
    "It is difficult to say for sure; the faint dot seems to sit slightly right of center, low in the frame.",
])
def test_hedges_that_place_the_target_are_answers(text):
    assert reply_problem(text) is None


def test_no_target_reply_is_right_only_for_an_empty_mask():
    text = "There does not appear to be any target in this infrared image."
    assert reply_problem(text, mask_empty=True) is None
    assert reply_problem(text, mask_empty=False) == "reply says no target but the mask has one"
