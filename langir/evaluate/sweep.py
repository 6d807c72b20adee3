"""Threshold sweeps: one MetricAccumulator per threshold over the same probability maps."""

from __future__ import annotations

from typing import Any

import numpy as np

from langir.errors import ConfigError
from langir.evaluate.metrics import MetricAccumulator

# Each threshold re-labels every image's components: 201 (a 0.005 step over [0, 1)) is plenty for a curve.
MAX_THRESHOLDS = 201


def parse_thresholds(spec: str) -> list[float]:
    """'0.1:0.9:0.1' (start:stop:step, stop included) or '0.3,0.5,0.7' → sorted thresholds in [0, 1)."""
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if not step > 0 or not stop >= start:
                raise ValueError
            count = int((stop - start) / step + 0.5) + 1
            if count > MAX_THRESHOLDS:
                raise ConfigError(f"--thresholds {spec!r} gives {count} thresholds; at most {MAX_THRESHOLDS} "
                                  "(use a larger step)")
            values = list(np.round(np.arange(start, stop + step / 2, step), 10))
        else:
            values = [float(x) for x in spec.split(",") if x.strip()]
            if len(values) > MAX_THRESHOLDS:
                raise ConfigError(f"--thresholds lists {len(values)} values; at most {MAX_THRESHOLDS}")
    except (ValueError, OverflowError):
        raise ConfigError(f"--thresholds {spec!r}: expected start:stop:step (e.g. 0.1:0.9:0.1) or a comma list") from None
    if not values or any(not 0.0 <= v < 1.0 for v in values):
        raise ConfigError(f"--thresholds {spec!r}: thresholds must lie in [0, 1)")
    return sorted(set(float(v) for v in values))


class ThresholdSweep:
    """Accumulate metrics at several thresholds at once."""

    def __init__(self, thresholds: list[float], **kwargs: Any) -> None:
        self.accs = {t: MetricAccumulator(threshold=t, **kwargs) for t in thresholds}

    def update(self, prob: Any, target: Any) -> None:
        for acc in self.accs.values():
            acc.update(prob, target)

    def compute(self) -> list[dict[str, Any]]:
        return [{"threshold": t, **acc.compute()} for t, acc in self.accs.items()]
