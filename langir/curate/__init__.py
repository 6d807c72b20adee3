"""Curation of description sets: claimed-region parsing, mask grounding, validation, statistics, reports.

    from langir.curate import validate_dataset, compute_stats, write_report

The names load on first use (PEP 562): statistics pull in pandas (≈ 0.4 s) and the report matplotlib,
which `langir review` or a judge of one text (``langir.curate.grounding``) should not pay for.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "DatasetStats": "langir.curate.stats", "compute_stats": "langir.curate.stats",
    "FAILURE_KINDS": "langir.curate.validate", "ValidationResult": "langir.curate.validate",
    "quarantine": "langir.curate.validate", "validate_dataset": "langir.curate.validate",
    "write_report": "langir.curate.report",
    "parse_claims": "langir.text.claims", "Claim": "langir.text.region",
    "DEFAULT_TOLERANCE": "langir.text.judge", "VERDICTS": "langir.text.judge", "Grounding": "langir.text.judge",
    "ground": "langir.text.judge",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'langir.curate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
