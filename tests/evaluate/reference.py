"""Deliberately plain reference metrics mirroring BasicIRSTD's ``mIoU`` and ``PD_FA`` loops.

A test oracle (kept under tests/, so the wheel does not ship it), used by the equality tests and
bench/eval_metrics.py; not for production (per-component Python loops, skimage regionprops). BasicIRSTD marks matched pixels with ``image == (m + 1)`` where ``m`` indexes the
already-shrunk regionprops list; here the matched region's own label is used (the intended meaning —
the two agree whenever no earlier component was removed). See docs/metrics.md.
"""

from __future__ import annotations

import numpy as np
from skimage import measure


class ReferenceMetrics:
    """IoU, nIoU (empty union → 0), greedy Pd and Fa, one (H, W) bool pair at a time."""

    def __init__(self, distance: float = 3.0) -> None:
        self.distance = distance
        self.total_inter = 0
        self.total_union = 0
        self.niou = []
        self.target = 0
        self.pd = 0
        self.dismatch_pixel = 0
        self.all_pixel = 0

    def update(self, pred: np.ndarray, label: np.ndarray) -> None:
        predict = np.asarray(pred).astype("int64")
        labels = np.asarray(label).astype("int64")
        inter = int((predict * (predict == labels)).sum())
        union = int(predict.sum() + labels.sum() - inter)
        self.total_inter += inter
        self.total_union += union
        self.niou.append(inter / (np.spacing(1) + union))

        image = measure.label(predict, connectivity=2)
        coord_image = measure.regionprops(image)
        lab = measure.label(labels, connectivity=2)
        coord_label = measure.regionprops(lab)
        self.target += len(coord_label)
        true_img = np.zeros(predict.shape)
        matched = 0
        for i in range(len(coord_label)):
            centroid_label = np.array(list(coord_label[i].centroid))
            for m in range(len(coord_image)):
                centroid_image = np.array(list(coord_image[m].centroid))
                distance = np.linalg.norm(centroid_image - centroid_label)
                if distance < self.distance:
                    matched += 1
                    true_img[image == coord_image[m].label] = 1
                    del coord_image[m]
                    break
        self.dismatch_pixel += int((predict - true_img).sum())
        self.all_pixel += predict.shape[0] * predict.shape[1]
        self.pd += matched

    def get(self) -> dict[str, float]:
        return {
            "iou": self.total_inter / (np.spacing(1) + self.total_union),
            "niou": float(np.mean(self.niou)) if self.niou else 0.0,
            "pd": self.pd / self.target if self.target else float("nan"),
            "fa": self.dismatch_pixel / self.all_pixel if self.all_pixel else 0.0,
        }
