"""Shim: the prose claim reader moved to `langir.text` (claims, region, phrases, normalise, vocabulary).

Kept so older imports and other branches still work; new code imports from `langir.text`.
"""

from langir.text.claims import parse_claims, parse_text
from langir.text.region import Claim, ParsedText, claim_cells
from langir.text.vocabulary import (
    CENTER_INTERVAL,
    CLOCK_HALF_ANGLE,
    CONTAINER_OTHERS,
    MAX_GAP,
    OTHER_NOUNS,
    PLACE_NOUNS,
    STRICTNESS,
    TARGET_NOUNS,
    canonical,
)

__all__ = ["CENTER_INTERVAL", "CLOCK_HALF_ANGLE", "CONTAINER_OTHERS", "MAX_GAP", "OTHER_NOUNS", "PLACE_NOUNS",
           "STRICTNESS", "TARGET_NOUNS", "Claim", "ParsedText", "canonical", "claim_cells", "parse_claims", "parse_text"]
