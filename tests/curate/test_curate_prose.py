"""Reading real VLM prose: owners, negation, word senses, clock positions, several targets, strictness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from langir.curate.validate import judge_text, validate_dataset
from langir.data.dataset import LangIRDataset
from langir.data.text_rules import is_refusal, mentions_plural_target, says_no_target, stated_count
from langir.text.claims import parse_claims, parse_text
from langir.text.judge import ground
from tests.curate.curate_helpers import make_dataset, square

UL = np.array([[0.15, 0.15]])
CL_EDGE = np.array([[0.5, 0.05]])


def labels(text: str) -> list[str]:
    return [c.label for c in parse_claims(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # other things' positions are not the target's
        ("A bright target in the upper left, well away from the cloud bank on the right side.", ["upper left"]),
        ("The tree line runs along the bottom; the target is a faint dot in the upper left.", ["upper left"]),
        ("The bright structure on the right is a building; the target is a small spot at the top left.", ["upper left"]),
        ("Clouds cover the lower half, while the target sits in the upper left.", ["upper left"]),
        # negation removes claims
        ("The target is not in the lower half; near the top left corner.", ["upper left"]),
        ("The target lies in the upper left rather than the center.", ["upper left"]),
        ("Instead of the lower right, the target appears in the upper left.", ["upper left"]),
        ("It is neither in the lower half nor on the right; it is in the upper left.", ["upper left"]),
        # word senses
        ("The target is right at the left edge, vertically near the middle.", ["left", "center"]),
        ("The target sits right next to a cloud in the upper left.", ["upper left"]),
        ("A hot spot sits on top of a cloud in the upper left.", ["upper left"]),
        ("A jet has left a contrail; the jet is the dot in the upper right.", ["upper right"]),
        ("One target is in the upper left; the other, slightly lower than the first, is on the right.",
         ["upper left", "right"]),
        # qualifiers, thirds, clock, relative to the centre
        ("The target is halfway up the right side.", ["center right"]),
        ("The target is horizontally centred, close to the top.", ["center", "upper"]),
        ("The dot is in the upper third of the frame, within the left third.", ["upper", "left"]),
        ("Relative to the image centre, the target is at about two o'clock.", ["2 o'clock"]),
        ("The target is slightly left of centre.", ["left"]),
        ("Relative to the image center, the target is up and to the left.", ["upper left"]),
        ("The target is about 30% from the left and 20% from the top.", ["left", "upper"]),
        ("It sits roughly two-thirds of the way down from the top, on the right.", ["lower", "right"]),
        # alternatives, compass words, a place the target is only said to be by
        ("The target is in the upper left or upper center.", ["upper left or upper center"]),
        ("A small target in the northeast corner.", ["upper right"]),
        ("A bright target sits above the tree line on the left side of the image.", ["left"]),
        ("Two targets: one in the upper left and one slightly lower, near the left edge.", ["upper left", "left"]),
        # a position word modifying another thing's noun; words that are no places
        ("A small target below the upper cloud layer, in the lower right.", ["lower right"]),
        ("The left building is bright; the target is in the upper right.", ["upper right"]),
        ("The target has lower contrast than the clouds and sits in the top left.", ["upper left"]),
    ],
)
def test_target_claims(text, expected):
    assert labels(text) == expected


def test_scales_per_strictness():
    (near,) = parse_claims("The target is slightly left of centre.")
    assert near.h_scale == "near"
    assert near.contains(np.array([[0.5, 0.4]]), 0.0, "grid")[0] and not near.contains(np.array([[0.5, 0.05]]), 0.0, "grid")[0]
    (edge,) = parse_claims("at the far left")
    assert edge.h_scale == "third" and not edge.contains(np.array([[0.5, 0.45]]), 0.05, "broad")[0]
    (clock,) = parse_claims("at ten o'clock relative to the center")
    assert clock.contains(np.array([[0.2, 0.2]]), 0.0, "grid")[0] and not clock.contains(np.array([[0.8, 0.8]]), 0.0, "broad")[0]


def test_several_targets_matched_one_to_one():
    two = np.array([[0.2, 0.1], [0.8, 0.9]])
    assert ground("One target is in the upper left, the other in the lower right.", two).verdict == "agrees"
    # two claims that fit only the same component: one-to-one matching catches it
    g = ground("One target is in the upper left. Another target is in the upper left too.", two)
    assert g.verdict == "contradicts" and g.covered == 1
    # singular wording on a two-target mask stays allowed; repeating its place is no second target
    assert ground("The target is in the upper left. It is a bright dot near the top left corner.", two).verdict == "agrees"
    assert parse_text("Two targets: one on the left, one on the right.").distinct
    # a plural subject's places, one per target; attributes of both stay together
    assert ground("The targets are in the upper left and lower right.", two).verdict == "agrees"
    assert ground("Two targets are in the upper left and upper right.", two).verdict == "contradicts"
    assert ground("Two small targets are on the right side, near the top.", two).verdict == "contradicts"
    # a plural header's place holds for each target it introduces
    top = np.array([[0.1, 0.5], [0.15, 0.9]])
    assert ground("Two targets near the top: one roughly centred, another further to the right.", top).verdict == "agrees"
    assert ground("Two targets near the bottom: one roughly centred, another further to the right.", top).verdict == "contradicts"


def test_counts_and_phrases():
    assert stated_count("Two small targets are visible.") == 2 and stated_count("A pair of bright dots") == 2
    assert not mentions_plural_target("A single target in the upper left; no other objects are visible.")
    one = np.array([[0.2, 0.2]])
    assert "plural-mismatch" in judge_text("Three faint targets in the upper left.", np.array([[0.2, 0.2], [0.3, 0.1]])).failures
    assert "plural-mismatch" not in judge_text("Two faint targets in the upper left.", np.array([[0.2, 0.2], [0.3, 0.1]])).failures
    assert "plural-mismatch" in judge_text("Two faint targets in the upper left.", one).failures
    assert is_refusal("Unfortunately, I cannot complete this request.")
    assert is_refusal("I'm afraid I can't help with that.")
    hedge = "I can't determine it exactly, but the target seems to be in the upper left."
    assert is_refusal(hedge) and judge_text(hedge, one).failures == []  # a hedge with a place is an answer
    for text in ("There does not appear to be any target in this image.", "The scene has no identifiable small target.",
                 "I don't see any target.", "The frame appears to be empty of targets."):
        assert says_no_target(text) and not is_refusal(text), text
    assert not says_no_target("A target in the upper left; no other targets are present.")


def test_empty_masks_no_target_valid_claims_target_fails():
    none = np.zeros((0, 2))
    assert judge_text("There does not appear to be any target in this image.", none).failures == []
    assert judge_text("The small target is in the upper left.", none).failures == ["claims-target"]
    assert judge_text("No small target is visible.", UL).failures == ["says-no-target"]


def test_strictness_in_library_and_cli(tmp_path, cli):
    shape = (90, 90)
    # target at row 0.42: in the upper half, but in the grid's centre row
    items = {
        "loose": (square(shape, [(38, 10)]), "The small target is in the upper left."),
        "exact": (square(shape, [(38, 10)]), "The small target is on the left, vertically near the middle."),
        "quadrant": (square(shape, [(38, 10)]), "The small target lies in the top-left quadrant."),
    }
    root = make_dataset(tmp_path / "ds", items)
    ds = LangIRDataset.open(root)
    grid = validate_dataset(ds, sorted(items), strictness="grid")
    broad = validate_dataset(ds, sorted(items), strictness="broad")
    assert grid.strictness == "grid" and broad.strictness == "broad"
    assert grid.redescribe_ids() == ["loose"] and broad.redescribe_ids() == []
    assert grid.summary()["agreement_by_strictness"] == broad.summary()["agreement_by_strictness"] == {
        "broad": 1.0, "grid": round(2 / 3, 6)}
    with pytest.raises(Exception, match="strictness"):
        validate_dataset(ds, sorted(items), strictness="loose")
    res = cli("validate", root, "--json", "--strictness", "broad")
    assert res.code == 0 and json.loads(res.stdout)["strictness"] == "broad"
    res = cli("validate", root, "--json", "--write-ids", tmp_path / "redo.txt")
    summary = json.loads(res.stdout)
    assert res.code == 1 and summary["strictness"] == "grid" and summary["failing_ids"] == ["loose"]
    assert (tmp_path / "redo.txt").read_text().split() == ["loose"]
    res = cli("validate", root)
    assert "broad 100.0 %" in res.stdout and "grid 66.7 %" in res.stdout


def test_any_text_is_judged_without_error():
    # random word salad from the corpus, punctuation, clock words, empty and huge texts
    import random

    from langir.text.judge import VERDICTS
    from tests.curate.corpus_eval import load_corpus

    words = " ".join(r["text"] for r in load_corpus()).split() + ["o'clock", "13", "-", "—", "**", "\n", "or", "not"]
    rng = random.Random(1)
    masks = [np.zeros((0, 2)), UL, np.array([[0.1, 0.1], [0.9, 0.9], [0.5, 0.2]])]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 60))) for _ in range(150)]
    for text in texts + ["", "....", "13 o'clock", "left " * 300, "one " * 40]:
        for cents in masks:
            judged = judge_text(text, cents)
            assert judged.verdict in VERDICTS and judged.grounding.claims == judged.other.claims


@pytest.mark.parametrize("text", [
    "There's a faint dot near the upper right corner, just above a wispy cloud; nothing else stands out on the left side.",
    "The target is in the upper right. No other objects are visible on the left.",
    "There are no obvious targets except a faint spot near the upper right.",
    "Nothing but a faint speck in the upper right catches the eye.",
    "A tiny hot spot, likely a drone, hovers in the northeast part of the scene against clear sky.",
])
def test_negating_subjects_and_their_exceptions(text):
    """'nothing / no other … on the left' places nothing; 'no targets except … upper right' places the target."""
    import numpy as np

    from langir.curate.validate import judge_text

    assert judge_text(text, np.array([[0.22, 0.78]])).verdict == "agrees"
    assert judge_text(text, np.array([[0.80, 0.20]])).verdict == "contradicts"


# ---------------------------------------------------------------- issue 17 §5: prose that used to fail
_LR = np.array([[0.8, 0.8]])  # one target low on the right
_TWO = np.array([[0.15, 0.15], [0.8, 0.8]])  # upper left and lower right


@pytest.mark.parametrize(("centroids", "passes", "text"), [
    # a position word owned by the target's glow, a contrail, a cloud band
    (_LR, True, "A faint target sits in the lower right, with a soft glow trailing off to the left of it."),
    (_LR, True, "The small target is low on the right; a contrail streaks across the upper left."),
    (_LR, True, "There is a dim point in the bottom-right corner, below a cloud band that runs along the top."),
    (_LR, False, "A faint target sits in the upper left, with a soft glow trailing off to the lower right."),
    # a region denied before the right one is given
    (_LR, True, "No target in the upper half; it sits low on the right."),
    (_LR, True, "Nothing is visible on the left side. The target is in the lower right corner."),
    (_LR, False, "No target in the lower half; it sits high on the left."),
    # a landmark that is itself placed
    (_LR, True, "The target is just left of the bright band at the right edge, in the lower part of the frame."),
    # enumerations and a second target in a later sentence
    (_TWO, True, "First target: upper left.\nSecond target: lower right."),
    (_TWO, True, "- **Target A**: top left corner\n- **Target B**: bottom right corner"),
    (_TWO, True, "I count two targets — one in the upper left and one in the lower right."),
    (_TWO, True, "The main target is in the top-left corner. Further away, a dimmer second target sits near the bottom right."),
    (_TWO, False, "First target: upper right.\nSecond target: lower left."),
    (_TWO, False, "A bright target is in the upper left. A second one sits in the upper right."),
])
def test_prose_classes_of_issue_17(centroids, passes, text):
    from langir.curate.validate import judge_text

    judged = judge_text(text, centroids)
    assert (not judged.failures) == passes, (judged.failures, [c.label for c in judged.grounding.claims])
