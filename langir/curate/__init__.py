"""Curation of description sets: claimed-region parsing, mask grounding, validation, statistics, reports.

    from langir.curate import validate_dataset, compute_stats, write_report
"""

from __future__ import annotations

from langir.curate.stats import DatasetStats, compute_stats
from langir.curate.validate import FAILURE_KINDS, ValidationResult, quarantine, validate_dataset
from langir.text.claims import parse_claims
from langir.text.judge import DEFAULT_TOLERANCE, VERDICTS, Grounding, ground
from langir.text.region import Claim

__all__ = [
    "DEFAULT_TOLERANCE", "FAILURE_KINDS", "VERDICTS", "Claim", "DatasetStats", "Grounding", "ValidationResult",
    "compute_stats", "ground", "parse_claims", "quarantine", "validate_dataset", "write_report",
]


def __getattr__(name: str):
    # the report pulls in matplotlib: import it only when asked for
    if name == "write_report":
        from langir.curate.report import write_report

        return write_report
    raise AttributeError(name)
