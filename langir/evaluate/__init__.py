"""Evaluation: IRSTD metrics, threshold sweeps, visualisation, ONNX export."""

from langir.evaluate.metrics import MetricAccumulator, evaluate_masks, image_counts

__all__ = ["MetricAccumulator", "evaluate_masks", "image_counts"]
