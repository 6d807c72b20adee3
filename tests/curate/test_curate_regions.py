"""Claimed-region parsing and grounding geometry."""

from __future__ import annotations

import numpy as np
import pytest

from langir.data.positions import cell_phrase, grid_cell, quadrant
from langir.text.claims import parse_claims
from langir.text.judge import ground
from langir.text.region import claim_cells


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The target is in the upper left.", [("upper", "left")]),
        ("It sits in the lower right corner of the frame.", [("lower", "right")]),
        ("A bright dot near the center.", [("center", "center")]),
        ("The small target lies in the top-left quadrant.", [("upper", "left")]),
        ("in the middle of the right side", [("center", "right")]),
        ("The target is at the Bottom-Right.", [("lower", "right")]),
        ("upper center of the image", [("upper", "center")]),
        ("center left", [("center", "left")]),
        ("in the middle of the upper-left quadrant", [("upper", "left")]),
        ("one in the upper left and one in the lower right", [("upper", "left"), ("lower", "right")]),
        ("on the left. Another one at the top.", [(None, "left"), ("upper", None)]),
        ("the target is on the left side, far from anything", [(None, "left")]),
        ("the leftmost part of the image", [(None, "left")]),
        ("A warm object against a cloudy sky.", []),
        # the tree's position is the tree's, not the target's (the old reader counted it)
        ("It is bright, lying in the upper part, partly hidden by the right tree.", [("upper", None)]),
    ],
)
def test_parse_claims(text, expected):
    assert [(c.vertical, c.horizontal) for c in parse_claims(text)] == expected


def test_claim_regions_match_positions_geometry():
    # every point of a fine lattice: the grid phrase and the quadrant phrase that positions gives
    # it must both be claims that contain it (the two vocabularies are consistent)
    h, w = 90, 120
    for row in np.linspace(0, h - 1, 31):
        for col in np.linspace(0, w - 1, 37):
            grid_text = cell_phrase(grid_cell(row, col, h, w))
            for text in (grid_text, f"{quadrant(row, col, h, w)} quadrant"):
                (claim,) = parse_claims(text)
                assert claim.contains(np.array([[row / h, col / w]]))[0], (text, row, col)


def test_claim_cells_and_distance():
    (claim,) = parse_claims("upper left")
    cells = claim_cells(claim)
    assert cells[0, 0] and cells[1, 1] and not cells[2, 2] and not cells[0, 2]
    (center,) = parse_claims("center")
    assert claim_cells(center).sum() == 1 and claim_cells(center)[1, 1]
    d = center.distance(np.array([[0.5, 0.5], [0.5, 0.9], [0.0, 0.0]]))
    assert d[0] == 0 and d[1] == pytest.approx(0.9 - 2 / 3) and d[2] == pytest.approx(np.hypot(1 / 3, 1 / 3))


def test_ground_verdicts_and_tolerance():
    left_target = np.array([[0.2, 0.1]])
    assert ground("The target is in the upper left.", left_target).verdict == "agrees"
    assert ground("The target is in the upper right.", left_target).verdict == "contradicts"
    assert ground("A warm object over the sea.", left_target).verdict == "vague"
    assert ground("No small target is visible in the infrared image.", left_target).verdict == "contradicts"
    assert ground("The target is in the upper left.", np.zeros((0, 2))).verdict == "no-target"
    # broad: a centroid just past the half line contradicts without slack, agrees with 5 % slack
    edge = np.array([[0.2, 0.53]])
    assert ground("on the left", edge, tolerance=0.0, strictness="broad").verdict == "contradicts"
    assert ground("on the left", edge, tolerance=0.05, strictness="broad").verdict == "agrees"
    # grid: "left" is the left third (a half only with half / side / quadrant)
    assert ground("on the left", edge, strictness="grid").verdict == "contradicts"
    assert ground("on the left", np.array([[0.2, 0.37]]), tolerance=0.05, strictness="grid").verdict == "agrees"
    assert ground("on the left side", edge, strictness="grid").verdict == "agrees"
    assert ground("in the top-left quadrant", np.array([[0.45, 0.45]]), strictness="grid").verdict == "agrees"
    # several targets: each claim needs some target; an unmentioned target is no contradiction
    two = np.array([[0.2, 0.1], [0.8, 0.9]])
    g = ground("One target is in the upper left. Another is in the lower right.", two)
    assert g.verdict == "agrees" and g.covered == 2
    g = ground("The target is in the upper left.", two)
    assert g.verdict == "agrees" and g.covered == 1
    g = ground("One target is in the upper left. Another is in the lower left.", two)
    assert g.verdict == "contradicts" and g.consistent == [True, False] and g.distance > 0


def test_fast_centroids_equal_find_targets():
    from langir.curate.validate import target_centroids
    from langir.data.positions import find_targets

    rng = np.random.default_rng(3)
    for _ in range(30):
        mask = rng.random((37, 53)) > 0.93  # many touching / diagonal components
        cents, areas = target_centroids(mask)
        targets = find_targets(mask)
        assert len(targets) == len(cents) > 0
        assert np.allclose(cents, [t.centroid for t in targets]) and areas.tolist() == [t.area for t in targets]
    cents, areas = target_centroids(np.zeros((5, 5), dtype=bool))
    assert cents.shape == (0, 2) and areas.size == 0
