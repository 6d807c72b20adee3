"""Known-answer cases and equality with the plain BasicIRSTD-style reference loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from langir.evaluate.metrics import MetricAccumulator, image_counts
from tests.evaluate.reference import ReferenceMetrics


def blank(h: int = 32, w: int = 32) -> np.ndarray:
    return np.zeros((h, w), dtype=bool)


def score(pred: np.ndarray, target: np.ndarray, **kw) -> dict:
    acc = MetricAccumulator(**kw)
    acc.update(pred, target)
    return acc.compute()


def test_one_hit():
    t = blank()
    t[10:13, 10:13] = True
    p = blank()
    p[10:13, 11:14] = True  # shifted one column: centroid distance 1
    r = score(p, t)
    assert r["pd"] == 1.0 and r["fa"] == 0.0
    assert r["iou"] == pytest.approx(6 / 12)
    assert r["precision"] == pytest.approx(6 / 9) and r["recall"] == pytest.approx(6 / 9)


def test_missed_target_and_false_alarm_blob():
    t = blank()
    t[2:4, 2:4] = True
    p = blank()
    p[20:23, 20:22] = True  # 6 px far away
    r = score(p, t)
    assert r["pd"] == 0.0
    assert r["fa"] == pytest.approx(6 / (32 * 32))
    assert r["iou"] == 0.0 and r["f1"] == 0.0


def test_two_targets_one_prediction_between():
    t = blank()
    t[10, 10] = True
    t[10, 14] = True
    p = blank()
    p[10, 12] = True  # 2 px from each GT centroid
    r = score(p, t)
    assert r["targets"] == 2 and r["detected"] == 1
    assert r["pd"] == 0.5 and r["fa"] == 0.0


def test_centroid_at_exactly_three_and_just_under():
    t = blank()
    t[10, 10] = True
    p = blank()
    p[10, 13] = True  # exactly 3 px: not a hit (strict <)
    assert score(p, t)["pd"] == 0.0
    assert score(p, t)["fa"] == pytest.approx(1 / 1024)
    p2 = blank()
    p2[10, 12:14] = True  # centroid (10, 12.5): 2.5 px
    assert score(p2, t)["pd"] == 1.0
    assert score(p2, t, pd_distance=2.5)["pd"] == 0.0


def test_image_without_targets_and_empty_prediction():
    empty = blank()
    r = score(empty, empty)
    assert math.isnan(r["pd"]) and r["fa"] == 0.0 and r["iou"] == 0.0
    assert r["niou"] == 0.0  # ACM: empty union counts 0
    assert score(empty, empty, niou_empty="skip")["niou_images"] == 0
    t = blank()
    t[5:7, 5:7] = True
    acc = MetricAccumulator()
    acc.update(t, t)
    acc.update(empty, empty)
    r = acc.compute()
    assert r["niou"] == pytest.approx(0.5) and r["iou"] == pytest.approx(1.0)
    acc2 = MetricAccumulator(niou_empty="skip")
    acc2.update(t, t)
    acc2.update(empty, empty)
    assert acc2.compute()["niou"] == pytest.approx(1.0)
    r = score(empty, t)  # all-empty prediction
    assert r["pd"] == 0.0 and r["fa"] == 0.0 and r["recall"] == 0.0


def test_touching_blobs_are_one_component_diagonally():
    t = blank()
    t[5, 5] = True
    t[6, 6] = True  # diagonal neighbours: one 8-connected target
    assert image_counts(t, t)["targets"] == 1


def test_greedy_vs_hungarian():
    t = blank()
    t[10, 10] = True
    t[12, 14] = True
    p = blank()
    p[10, 12] = True
    p[12, 9] = True
    # A (10,10), B (12,14); P1 (10,12) d(A)=2, d(B)=2.83; P2 (12,9) d(A)=2.24, d(B)=5
    # raster order: P1 label 1, P2 label 2 → greedy A–P1, B none; hungarian A–P2, B–P1.
    assert score(p, t)["pd"] == 0.5
    assert score(p, t, pd_matching="hungarian")["pd"] == 1.0


def test_probabilities_threshold_and_batches():
    t = np.zeros((3, 16, 16), dtype=bool)
    t[:, 4:6, 4:6] = True
    prob = np.where(t, 0.6, 0.1).astype(np.float32)
    assert score(prob, t)["iou"] == pytest.approx(1.0)
    assert score(prob, t, threshold=0.6)["iou"] == 0.0  # strictly greater than threshold
    torch = pytest.importorskip("torch")
    assert score(torch.from_numpy(prob)[:, None], torch.from_numpy(t))["iou"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        score(prob, t[:, :8])


def random_blobs(rng: np.random.Generator, h: int, w: int, n: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    for _ in range(n):
        r, c = rng.integers(0, h), rng.integers(0, w)
        dr, dc = rng.integers(1, 5, size=2)
        m[r : r + dr, c : c + dc] = True
    return m


def test_equals_reference_on_random_masks():
    rng = np.random.default_rng(0)
    ours = MetricAccumulator()
    ref = ReferenceMetrics()
    for _ in range(300):
        h, w = rng.integers(8, 48, size=2)
        t = random_blobs(rng, h, w, rng.integers(0, 4))
        p = t.copy() if rng.random() < 0.3 else random_blobs(rng, h, w, rng.integers(0, 5))
        if rng.random() < 0.5:  # jitter: shift the truth a little to make near misses
            p = p | np.roll(t, rng.integers(-3, 4), axis=int(rng.integers(0, 2)))
        ours.update(p, t)
        ref.update(p, t)
    a, b = ours.compute(), ref.get()
    for k in ("iou", "niou", "pd", "fa"):
        assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-15), k


def test_sparse_and_dense_labelling_agree_with_reference():
    # Large sparse images take the sparse neighbour-graph path, dense ones ndimage.label.
    from langir.evaluate import metrics

    rng = np.random.default_rng(1)
    preds, targets = [], []
    for _ in range(40):
        t = random_blobs(rng, 160, 160, rng.integers(0, 6))
        p = np.roll(t, tuple(rng.integers(-2, 3, size=2)), axis=(0, 1)) | random_blobs(rng, 160, 160, 3)
        preds.append(p)
        targets.append(t)
    ref = ReferenceMetrics()
    for p, t in zip(preds, targets, strict=True):
        ref.update(p, t)
    expected = ref.get()
    for fraction in (1.0, 0.0):  # all sparse, then all dense
        old = metrics._SPARSE_MAX_FRACTION
        metrics._SPARSE_MAX_FRACTION = fraction
        try:
            acc = MetricAccumulator()
            acc.update(np.stack(preds), np.stack(targets))  # one batch
            got = acc.compute()
        finally:
            metrics._SPARSE_MAX_FRACTION = old
        for k in ("iou", "niou", "pd", "fa"):
            assert got[k] == pytest.approx(expected[k], rel=1e-12, abs=1e-15), (fraction, k)
