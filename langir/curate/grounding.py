"""Grounding: does a description's claimed region agree with the targets of the mask?

Definitions (also in docs/curate.md):

- targets: 8-connected components of the mask (`positions.find_targets`), located by their
  centroid, normalised to (row/H, col/W);
- claims: the target claims of `regions.parse_text`, grouped into *mentions* (one per target the
  text speaks of); a mention holds a target when every one of its claims contains the centroid,
  each claim's region widened by `tolerance` (a fraction of the image side) on each constrained
  side, its intervals chosen by `strictness` (``broad``: half-planes; ``grid``: 3×3 cells);
- matching: when the text insists on distinct targets ("one … the other …", "a second target"),
  mentions are matched one to one to components by an optimal assignment
  (`scipy.optimize.linear_sum_assignment`, cost 0 for a mention that holds the target, else 1 +
  its distance); mentions beyond the number of components, and all mentions of a text that speaks
  of one target, need only hold *some* target;
- verdict
  * ``no-target``   the mask is empty (the text should then say no target is visible);
  * ``contradicts`` the mask has targets and the text says none is visible, or some mention holds
    no (matched) target;
  * ``vague``       the mask has targets and the text claims no region for the target;
  * ``agrees``      the mask has targets, at least one claim is made, and every mention holds its
    target. Targets the text does not mention do not count against it (VLMs often describe the
    most salient one); `covered` reports how many were matched.
- distance: for each claim the distance (image fractions) from its target (the matched one, else
  the nearest) to the claim's region (0 when inside); the image's grounding distance is the
  largest of them, the sort key of "worst grounded".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from langir.curate.regions import STRICTNESS, Claim, ParsedText, parse_text
from langir.data.text_rules import says_no_target

VERDICTS = ("agrees", "contradicts", "vague", "no-target")
DEFAULT_TOLERANCE = 0.05
DEFAULT_STRICTNESS = "grid"


@dataclass
class Grounding:
    """The grounding of one description against one mask."""

    verdict: str
    claims: list[Claim] = field(default_factory=list)
    consistent: list[bool] = field(default_factory=list)  # per claim
    nearest: list[int] = field(default_factory=list)  # per claim: index of its target (-1: none)
    distance: float = 0.0
    covered: int = 0  # targets held by some mention
    says_none: bool = False


def _check(strictness: str) -> None:
    if strictness not in STRICTNESS:
        raise ValueError(f"strictness must be one of {', '.join(STRICTNESS)}, not {strictness!r}")


def ground(text: str | ParsedText, centroids: np.ndarray, tolerance: float = DEFAULT_TOLERANCE,
           strictness: str = DEFAULT_STRICTNESS, says_none: bool | None = None) -> Grounding:
    """Verdict for `text` (or its `parse_text` result) against target centroids (N×2, normalised row/col in [0, 1))."""
    _check(strictness)
    parsed = parse_text(text) if isinstance(text, str) else text
    if says_none is None:
        says_none = says_no_target(text) if isinstance(text, str) else False
    centroids = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
    claims = parsed.claims
    n = len(centroids)
    if n == 0:
        return Grounding("no-target", claims, [False] * len(claims), [-1] * len(claims), 0.0, 0, says_none)
    # per claim: which targets it holds, its distance to each
    inside = np.array([c.contains(centroids, tolerance, strictness) for c in claims]).reshape(len(claims), n)
    dist = np.array([c.distance(centroids, strictness) for c in claims]).reshape(len(claims), n)
    mentions = parsed.mentions or ([list(range(len(claims)))] if claims else [])
    holds = np.array([inside[g].all(axis=0) for g in mentions]).reshape(len(mentions), n)
    cost = np.array([np.where(holds[k], 0.0, 1.0 + dist[g].max(axis=0)) for k, g in enumerate(mentions)]).reshape(len(mentions), n)
    target_of = [-1] * len(mentions)
    if parsed.distinct and len(mentions) > 1:
        # imported here: scipy.optimize costs ~0.5 s of start-up, and most texts speak of one target
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            target_of[r] = int(c)
    for k in range(len(mentions)):
        if target_of[k] < 0:  # unmatched: the best target for it
            target_of[k] = int(np.argmin(cost[k]))
    consistent = [False] * len(claims)
    nearest = [-1] * len(claims)
    distances = []
    for k, group in enumerate(mentions):
        t = target_of[k]
        ok = bool(holds[k, t])
        for i in group:
            consistent[i] = ok
            nearest[i] = t
            distances.append(0.0 if ok else float(dist[i, t]))
    covered = len({target_of[k] for k in range(len(mentions)) if holds[k, target_of[k]]})
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
    return Grounding(verdict, claims, consistent, nearest, distance, covered, says_none)
