"""Evaluation: IRSTD metrics, the one inference path, prediction files, sweeps, visualisation, ONNX export."""

from langir.evaluate.inference import evaluate_dataset, predict_dataset, resolve_device
from langir.evaluate.metrics import MetricAccumulator, evaluate_masks, image_counts

__all__ = ["MetricAccumulator", "evaluate_dataset", "evaluate_masks", "image_counts", "predict_dataset", "resolve_device"]
