"""Grounding: does a description's claimed region agree with the targets of the mask?

Definitions (also in docs/curate.md):

- targets: 8-connected components of the mask (`positions.find_targets`), located by their
  centroid, normalised to (row/H, col/W);
- claims: the phrases of `regions.parse_claims`;
- a claim is *consistent* with a target when the centroid lies in the claim's region widened by
  `tolerance` (a fraction of the image side) on each constrained side;
- verdict
  * ``no-target``   the mask is empty (the text should then say no target is visible);
  * ``contradicts`` the mask has targets and the text says none is visible, or some claim is
    consistent with no target;
  * ``vague``       the mask has targets and the text claims no region;
  * ``agrees``      the mask has targets, at least one claim is made, and *every* claim is
    consistent with at least one target. Targets the text does not mention do not count against
    it (VLMs often describe the most salient one); `covered` reports how many were matched.
- distance: for each claim the distance (image fractions) from the nearest target centroid to the
  claim's region (0 when inside); the image's grounding distance is the largest of them, the sort
  key of "worst grounded".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from langir.curate.regions import Claim, parse_claims
from langir.data.text_rules import says_no_target

VERDICTS = ("agrees", "contradicts", "vague", "no-target")
DEFAULT_TOLERANCE = 0.05


@dataclass
class Grounding:
    """The grounding of one description against one mask."""

    verdict: str
    claims: list[Claim] = field(default_factory=list)
    consistent: list[bool] = field(default_factory=list)  # per claim
    nearest: list[int] = field(default_factory=list)  # per claim: index of the nearest target (-1: none)
    distance: float = 0.0
    covered: int = 0  # targets consistent with at least one claim
    says_none: bool = False


def ground(text: str, centroids: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> Grounding:
    """Verdict for `text` against target centroids (N×2, normalised row/col in [0, 1))."""
    centroids = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
    claims = parse_claims(text)
    says_none = says_no_target(text)
    if len(centroids) == 0:
        return Grounding("no-target", claims, [False] * len(claims), [-1] * len(claims), 0.0, 0, says_none)
    consistent: list[bool] = []
    nearest: list[int] = []
    distances: list[float] = []
    covered = np.zeros(len(centroids), dtype=bool)
    for claim in claims:
        inside = claim.contains(centroids, tolerance)
        dist = claim.distance(centroids)
        consistent.append(bool(inside.any()))
        nearest.append(int(np.argmin(dist)))
        distances.append(float(dist.min()) if not inside.any() else 0.0)
        covered |= inside
    if says_none:
        verdict = "contradicts"
    elif not claims:
        verdict = "vague"
    elif all(consistent):
        verdict = "agrees"
    else:
        verdict = "contradicts"
    distance = max(distances, default=0.0)
    if says_none:
        distance = max(distance, 1.0)  # "no target" over a real target: as wrong as it gets
    return Grounding(verdict, claims, consistent, nearest, distance, int(covered.sum()), says_none)
