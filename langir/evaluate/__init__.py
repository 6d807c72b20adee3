"""Evaluation: IRSTD metrics, the one inference path, prediction files, sweeps, visualisation, ONNX export.

    from langir.evaluate import metrics, evaluate_masks, predict_dataset

The names below load on first use (PEP 562): the metrics pull in scipy's labelling (≈ 0.17 s), which a
command that only needs a constant of this package (`langir eval --help`, `langir train`) should not pay.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "evaluate_dataset": "inference", "predict_dataset": "inference", "resolve_device": "inference",
    "MetricAccumulator": "metrics", "evaluate_masks": "metrics", "image_counts": "metrics",
}

__all__ = ["MetricAccumulator", "evaluate_dataset", "evaluate_masks", "image_counts", "predict_dataset", "resolve_device"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"langir.evaluate.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'langir.evaluate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
