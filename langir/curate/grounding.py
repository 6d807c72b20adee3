"""Shim: the judge moved to `langir.text.judge` (kept so older imports and other branches still work)."""

from langir.text.judge import DEFAULT_STRICTNESS, DEFAULT_TOLERANCE, VERDICTS, Grounding, ground

__all__ = ["DEFAULT_STRICTNESS", "DEFAULT_TOLERANCE", "VERDICTS", "Grounding", "ground"]
