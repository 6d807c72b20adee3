"""IRSTD metrics as the community computes them: IoU, nIoU, Pd, Fa, pixel precision/recall/F1.

Definitions (see docs/metrics.md for formulas and sources):

- IoU  = Σ intersection / Σ union over the whole set (BasicIRSTD ``mIoU``).
- nIoU = mean over images of intersection / union (ACM / open-acm); an image whose union is empty
  counts 0 (``niou_empty="zero"``, ACM) or is left out (``"skip"``).
- Pd   = matched GT components / all GT components; components are 8-connected; a GT component is
  matched to a predicted component whose centroid lies at Euclidean distance < ``pd_distance`` px.
  ``"greedy"``: GT components in label order each take the first remaining predicted component
  (BasicIRSTD ``PD_FA``); ``"hungarian"``: a maximum matching (scipy ``linear_sum_assignment``).
- Fa   = pixels of predicted components left unmatched / all pixels at native resolution.
- precision / recall / F1 on pixels (SGEM-UNet Table 1).
- ``pd_per_image`` / ``fa_per_image``: the LangIR paper's Eq. 7/8, the mean over images of each image's
  Pd (images with no GT target left out, the ratio being undefined) and Fa (docs/metrics.md).

Labelling and centroids are vectorised (``scipy.ndimage.label`` + ``np.bincount``); only the
(small) GT × prediction component matching loops in Python.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

# BasicIRSTD divides by (np.spacing(1) + union); keep that so empty sets give 0, not NaN.
_EPS = float(np.spacing(1))

NIOU_EMPTY_CHOICES = ("zero", "skip")
PD_MATCHING_CHOICES = ("greedy", "hungarian")


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch here
        x = x.detach().float().cpu().numpy() if x.dtype.is_floating_point else x.detach().cpu().numpy()
    return np.asarray(x)


def binarize(pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Bool mask from probabilities (``> threshold``) or an already binary/bool array."""
    arr = _to_numpy(pred)
    if arr.dtype == bool:
        return arr
    return arr > threshold


def _as_batch(mask: np.ndarray) -> np.ndarray:
    if mask.ndim == 2:
        return mask[None]
    if mask.ndim == 4 and mask.shape[1] == 1:  # (N, 1, H, W) network output
        return mask[:, 0]
    if mask.ndim != 3:
        raise ValueError(f"expected a (H, W) or (N, H, W) mask, got shape {mask.shape}")
    return mask


def match_components(
    gt_centroids: np.ndarray, pred_centroids: np.ndarray, distance: float = 3.0, matching: str = "greedy"
) -> list[tuple[int, int]]:
    """Pairs (gt index, pred index) of matched components; a pair needs centroid distance < ``distance``."""
    if len(gt_centroids) == 0 or len(pred_centroids) == 0:
        return []
    d = np.linalg.norm(gt_centroids[:, None, :] - pred_centroids[None, :, :], axis=2)
    ok = d < distance
    if matching == "greedy":
        pairs: list[tuple[int, int]] = []
        free = np.ones(len(pred_centroids), dtype=bool)
        for i in range(len(gt_centroids)):
            cand = np.flatnonzero(ok[i] & free)
            if cand.size:
                pairs.append((i, int(cand[0])))
                free[cand[0]] = False
        return pairs
    if matching == "hungarian":
        from scipy.optimize import linear_sum_assignment

        # A disallowed pair costs more than any full set of allowed ones, so the assignment first
        # maximises the number of matches, then minimises the summed distance.
        cost = np.where(ok, d, 1e6 * (1 + len(gt_centroids)))
        rows, cols = linear_sum_assignment(cost)
        return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if ok[r, c]]
    raise ValueError(f"pd_matching must be one of {PD_MATCHING_CHOICES}, got {matching!r}")


# 8-connected within each (H, W) slice, never across the batch axis: one label call per batch.
_EIGHT_BATCH = np.zeros((3, 3, 3), dtype=bool)
_EIGHT_BATCH[1] = True


# Above this foreground fraction a dense scan (ndimage.label) beats the sparse neighbour graph.
_SPARSE_MAX_FRACTION = 0.02
# Forward 8-neighbours (right, down-left, down, down-right): each undirected edge once.
_FORWARD = ((0, 1), (1, -1), (1, 0), (1, 1))


def _sparse_labels(img: np.ndarray, rows: np.ndarray, cols: np.ndarray, h: int, w: int) -> tuple[np.ndarray, int]:
    """Component ids (0..n-1, raster order of each component's first pixel) of raster-ordered foreground pixels.

    Small targets cover ~0.01 % of an image, so linking the few foreground pixels directly is far
    cheaper than scanning every pixel: 8-neighbour edges come from a sorted-key lookup, components from
    vectorised min-label propagation with pointer jumping (each pixel ends labelled with the index of
    its component's first pixel, which is exactly skimage's order).
    """
    k = img.size
    stride = w + 2  # keys in a frame padded by one pixel, so neighbours never wrap across rows/images
    key = (img * (h + 2) + rows + 1) * stride + cols + 1  # increasing: pixels are raster-ordered
    src_parts, dst_parts = [], []
    for dr, dc in _FORWARD:
        nb = key + dr * stride + dc
        pos = np.minimum(np.searchsorted(key, nb), k - 1)
        hit = key[pos] == nb
        src_parts.append(np.flatnonzero(hit))
        dst_parts.append(pos[hit])
    src, dst = np.concatenate(src_parts), np.concatenate(dst_parts)
    lab = np.arange(k)
    while src.size:
        low = np.minimum(lab[src], lab[dst])
        new = lab.copy()
        np.minimum.at(new, src, low)
        np.minimum.at(new, dst, low)
        new = new[new]  # pointer jumping: labels are pixel indices of the same component
        if np.array_equal(new, lab):
            break
        lab = new
    roots, comp = np.unique(lab, return_inverse=True)  # roots ascending = raster order
    return comp, roots.size


def _batch_components(masks: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components of every slice of a bool (N, H, W) stack (``idx`` = its flat foreground).

    Returns (bounds[N + 1], areas[n], centroids[n, 2] as (row, col)); slice i owns components
    bounds[i]:bounds[i+1], numbered in raster order of their first pixel (skimage's order).
    """
    n_img, h, w = masks.shape
    if idx.size == 0:
        return np.zeros(n_img + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    img, rem = np.divmod(idx, h * w)
    rows, cols = np.divmod(rem, w)
    if idx.size <= _SPARSE_MAX_FRACTION * masks.size:
        lab, n = _sparse_labels(img, rows, cols, h, w)
    else:
        labels, n = ndimage.label(masks, structure=_EIGHT_BATCH)
        lab = labels.ravel()[idx] - 1
    areas = np.bincount(lab, minlength=n)
    cr = np.bincount(lab, weights=rows, minlength=n) / areas
    cc = np.bincount(lab, weights=cols, minlength=n) / areas
    owner = np.zeros(n, dtype=np.int64)
    owner[lab] = img
    bounds = np.searchsorted(owner, np.arange(n_img + 1))
    return bounds, areas.astype(np.int64), np.stack([cr, cc], axis=1)


def batch_counts(
    pred: np.ndarray, target: np.ndarray, pd_matching: str = "greedy", pd_distance: float = 3.0
) -> list[dict[str, int]]:
    """Raw counts for each image of bool (N, H, W) prediction/target stacks."""
    pred = np.asarray(pred, dtype=bool)
    target = np.asarray(target, dtype=bool)
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    n_img, h, w = pred.shape
    # Work on foreground indices only: with small targets they are a tiny fraction of the pixels.
    pi, ti = np.flatnonzero(pred), np.flatnonzero(target)
    both = np.intersect1d(pi, ti, assume_unique=True)
    tp = np.bincount(both // (h * w), minlength=n_img)
    n_pred = np.bincount(pi // (h * w), minlength=n_img)
    n_gt = np.bincount(ti // (h * w), minlength=n_img)
    gb, _, gc = _batch_components(target, ti)
    pb, pa, pc = _batch_components(pred, pi)
    result = []
    for i in range(n_img):
        pairs = match_components(gc[gb[i] : gb[i + 1]], pc[pb[i] : pb[i + 1]], pd_distance, pd_matching)
        matched_pixels = int(sum(int(pa[pb[i] + j]) for _, j in pairs))
        result.append(
            {
                "inter": int(tp[i]),
                "union": int(n_pred[i] + n_gt[i] - tp[i]),
                "tp": int(tp[i]),
                "fp": int(n_pred[i] - tp[i]),
                "fn": int(n_gt[i] - tp[i]),
                "targets": int(gb[i + 1] - gb[i]),
                "detected": len(pairs),
                "pred_components": int(pb[i + 1] - pb[i]),
                "false_alarm_pixels": int(n_pred[i]) - matched_pixels,
                "pixels": h * w,
            }
        )
    return result


def image_counts(
    pred: np.ndarray, target: np.ndarray, pd_matching: str = "greedy", pd_distance: float = 3.0
) -> dict[str, int]:
    """All raw counts for one binary (H, W) prediction/target pair."""
    pred = np.asarray(pred, dtype=bool)
    target = np.asarray(target, dtype=bool)
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    return batch_counts(pred[None], target[None], pd_matching, pd_distance)[0]


class MetricAccumulator:
    """Streaming IRSTD metrics: ``update`` per image or batch, ``compute`` at the end, ``reset`` to reuse.

    ``pred``: probabilities (binarised ``> threshold``) or bool; ``target``: bool or 0/1. Shapes
    (H, W), (N, H, W) or (N, 1, H, W); numpy arrays or torch tensors.
    """

    def __init__(
        self,
        threshold: float = 0.5,
        niou_empty: str = "zero",
        pd_matching: str = "greedy",
        pd_distance: float = 3.0,
    ) -> None:
        if niou_empty not in NIOU_EMPTY_CHOICES:
            raise ValueError(f"niou_empty must be one of {NIOU_EMPTY_CHOICES}, got {niou_empty!r}")
        if pd_matching not in PD_MATCHING_CHOICES:
            raise ValueError(f"pd_matching must be one of {PD_MATCHING_CHOICES}, got {pd_matching!r}")
        self.threshold = threshold
        self.niou_empty = niou_empty
        self.pd_matching = pd_matching
        self.pd_distance = pd_distance
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.totals = dict.fromkeys(
            ("inter", "union", "tp", "fp", "fn", "targets", "detected", "pred_components", "false_alarm_pixels", "pixels"), 0
        )
        self.images = 0
        self._niou_sum = 0.0
        self._niou_n = 0
        self._pd_image_sum = 0.0
        self._pd_image_n = 0
        self._fa_image_sum = 0.0

    def update(self, pred: Any, target: Any) -> None:
        """Add one image (H, W) or a batch (N, H, W)."""
        p = _as_batch(binarize(pred, self.threshold))
        t = _as_batch(_to_numpy(target) > 0)
        if p.shape != t.shape:
            raise ValueError(f"prediction shape {p.shape} differs from target shape {t.shape}")
        for c in batch_counts(p, t, self.pd_matching, self.pd_distance):
            for k, v in c.items():
                self.totals[k] += v
            self.images += 1
            if c["targets"]:
                self._pd_image_sum += c["detected"] / c["targets"]
                self._pd_image_n += 1
            self._fa_image_sum += c["false_alarm_pixels"] / c["pixels"] if c["pixels"] else 0.0
            if c["union"] == 0 and self.niou_empty == "skip":
                continue
            self._niou_sum += c["inter"] / (_EPS + c["union"])
            self._niou_n += 1

    def compute(self) -> dict[str, float | int]:
        """Metrics as plain fractions (Fa not scaled) plus the raw counts."""
        t = self.totals
        precision = t["tp"] / (t["tp"] + t["fp"]) if t["tp"] + t["fp"] else 0.0
        recall = t["tp"] / (t["tp"] + t["fn"]) if t["tp"] + t["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "iou": t["inter"] / (_EPS + t["union"]),
            "niou": self._niou_sum / self._niou_n if self._niou_n else 0.0,
            # No GT target at all: Pd is undefined (BasicIRSTD would divide by zero).
            "pd": t["detected"] / t["targets"] if t["targets"] else math.nan,
            "fa": t["false_alarm_pixels"] / t["pixels"] if t["pixels"] else 0.0,
            # LangIR Eq. 7/8: per-image ratios averaged over images (Pd over images that have a target).
            "pd_per_image": self._pd_image_sum / self._pd_image_n if self._pd_image_n else math.nan,
            "fa_per_image": self._fa_image_sum / self.images if self.images else 0.0,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "images": self.images,
            "niou_images": self._niou_n,
            **t,
        }


def evaluate_masks(preds: Any, targets: Any, **kwargs: Any) -> dict[str, float | int]:
    """One-shot metrics over an iterable of (H, W) predictions and targets (sizes may differ per image)."""
    acc = MetricAccumulator(**kwargs)
    for p, t in zip(preds, targets, strict=True):
        acc.update(p, t)
    return acc.compute()


def iou(pred: Any, target: Any, threshold: float = 0.5) -> float:
    """Dataset IoU (Σ inter / Σ union) of one image or a batch."""
    return float(evaluate_masks([pred], [target], threshold=threshold)["iou"])


def pd_fa(pred: Any, target: Any, threshold: float = 0.5, pd_matching: str = "greedy", pd_distance: float = 3.0) -> tuple[float, float]:
    """(Pd, Fa) of one image or a batch."""
    r = evaluate_masks([pred], [target], threshold=threshold, pd_matching=pd_matching, pd_distance=pd_distance)
    return float(r["pd"]), float(r["fa"])
