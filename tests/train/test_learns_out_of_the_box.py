"""A default `langir train` learns: every model reaches a clearly non-trivial result on a small synthetic set.

Before the output biases started at the foreground prior this failed (issue 12: IoU 0.000 for 480
steps; LGNet predicted every pixel positive; main at these very settings: see docs/train.md). Settings
are the defaults (Adan, each model's loss, cosine schedule, crops that keep a target, flips,
transposes) except what a CPU-minute budget needs: 64×64 synthetic images, 12 epochs of batch 4 (96
steps), one warm-up epoch, lr 4e-3 (the paper's 1e-3 is for 600 epochs), LGNet at width 16, SGEM-UNet
at base 24, DGSPNet at base 8. SGEM-UNet trains with its own SoftIoU loss (summed over the batch, see
docs/train.md). U-Net learns in `test_plain_cli_defaults_learn`, through the CLI at every default (its
12-epoch case here at lr 4e-3, 0.560–0.696 over seeds 0–4, was a weaker claim for ≈ 11 s of the suite).

Thresholds come from a distribution, not one run (issue 22: one seed at IoU ≥ 0.3 failed on a fresh
machine with IoU 0.2857): each case trained with seeds 0–4 (torch 2.14.1, CPU) in both memory layouts,
threshold = mean − 3 sd rounded down to 0.05. The figures per seed and per case are in BENCHMARKS.md (script:
`bench/learning_seeds.py`). DGSPNet's thresholded IoU at this budget is not a learning signal
(0.000–0.364 over the five seeds: some seeds have not yet pushed target logits past 0 after 96 steps),
so its test reads the threshold-free pixel ROC AUC on the test split, which separates trained weights
(0.911–0.9995) from an untrained main phase (0.50–0.62), and that the training loss falls (to 0.21–0.36
of the first epoch's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langir.train.config import TrainConfig
from langir.train.engine import train

SMALL_LGNET = {"widths": [16, 16, 16, 16, 16]}
SMALL_SGEM = {"base": 24}  # the default base 32 took 36 s here; base 16 and 8 did not learn on every seed (0.24, 0.0)
# test IoU (min / mean / sd) over seeds 0–4 in each memory layout (contiguous until the eighth session, then
# channels_last, what CPU training now uses: a layout's float differences stand in for another machine's)
# → threshold = mean − 3 sd, rounded down to 0.05
THRESHOLDS = {
    ("sgem_unet", "auto"): 0.45,     # base 24, 15 runs: 0.500 / 0.627 / 0.047
    ("lgnet", "never"): 0.15,        # 0.262 / 0.368 / 0.070
    ("lgnet", "train-only"): 0.30,   # 0.378 / 0.439 / 0.045
    ("lgnet", "train+test"): 0.30,   # 0.378 / 0.439 / 0.044
}
DGSPNET_MIN_AUC = 0.85  # trained: 0.911 / 0.975 / 0.037 over seeds 0–4; untrained main phase: 0.50–0.62
PLAIN_CLI_MIN_BEST_IOU = 0.50  # best test IoU over the epochs, both layouts: 0.570 / 0.643 / 0.038


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from langir.data.dataset import LangIRDataset
    from langir.data.synth import synthesize
    from langir.describe.template import template_description

    root = tmp_path_factory.mktemp("learn") / "synth"
    synthesize(root, count=40, size=(64, 64), seed=0)  # 32 trainval / 8 test, 1–3 targets, 15 % empty frames
    ds = LangIRDataset.open(root)
    for sample_id in ds.all_ids():  # mask-derived descriptions (`langir describe --provider template`)
        ds.write_description(sample_id, template_description(ds.read_mask(sample_id)))
    return root


def _train(root, out, model, **kw):
    config = TrainConfig(dataset=str(root), out=str(out), model=model, epochs=12, batch_size=4, size=64, warmup_epochs=1,
                         lr=4e-3, val_every=12, clip_model="langir-tiny", clip_pretrained="", device="cpu", tensorboard=False, **kw)
    return train(config, quiet=True)


def pixel_auc(probs: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of target vs background pixels (Mann–Whitney U with average ranks for ties)."""
    order = np.argsort(probs, kind="mergesort")
    _, group, counts = np.unique(probs[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = np.empty(probs.size)
    ranks[order] = ((ends - counts + 1 + ends) / 2)[group]  # tied values share their average rank
    pos = int(labels.sum())
    neg = labels.size - pos
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


@pytest.mark.slow
@pytest.mark.parametrize("model, prior, kwargs", [
    ("sgem_unet", "auto", SMALL_SGEM),
    ("lgnet", "never", SMALL_LGNET),
])
def test_default_training_reaches_non_trivial_test_iou(synth_root, tmp_path, model, prior, kwargs):
    summary = _train(synth_root, tmp_path / "run", model, language_prior=prior, model_kwargs=dict(kwargs))
    assert summary["val_images"] == 8  # the synthetic set's test split
    iou = float(summary["rows"][-1]["val_iou"])
    print(f"IOU {model} {prior} {iou:.3f}")
    assert iou >= THRESHOLDS[(model, prior)], (model, prior, iou)


@pytest.mark.slow
def test_lgnet_with_the_language_prior_learns_with_and_without_text_at_test(synth_root, tmp_path):
    """train-only and train+test train alike (text + image descriptors; they differ only in what validation
    feeds the model), so one run serves both: the engine validates with text + image, and the same weights
    are scored again through the one evaluation path with the image alone, as a train-only checkpoint is."""
    from langir.data.dataset import LangIRDataset
    from langir.evaluate.inference import evaluate_dataset, load_model

    summary = _train(synth_root, tmp_path / "run", "lgnet", language_prior="train+test", model_kwargs=dict(SMALL_LGNET))
    with_text = float(summary["rows"][-1]["val_iou"])
    ds = LangIRDataset.open(synth_root)
    model, meta = load_model(tmp_path / "run" / "last.pt")
    assert meta["language_prior"] == "train+test"
    scored = {prior: evaluate_dataset(model, {**meta, "language_prior": prior}, ds, ds.split_ids("test"))["iou"]
              for prior in ("train+test", "train-only")}
    print(f"IOU lgnet train+test {with_text:.3f} / scored {scored}")
    assert abs(scored["train+test"] - with_text) < 1e-6  # evaluation reproduces training's own validation
    assert with_text >= THRESHOLDS[("lgnet", "train+test")], with_text
    assert scored["train-only"] >= THRESHOLDS[("lgnet", "train-only")], scored


@pytest.mark.slow
def test_dgspnet_default_phase_learns(synth_root, tmp_path):
    from langir.data.dataset import LangIRDataset
    from langir.evaluate.inference import load_model, predict_arrays

    run = tmp_path / "run"
    summary = _train(synth_root, run, "dgspnet", model_kwargs={"base": 8})
    assert summary["phase"] == "both" and (run / "pretrain.pt").is_file()
    rows = summary["rows"]
    assert float(rows[-1]["train_loss"]) < 0.5 * float(rows[0]["train_loss"]), [r["train_loss"] for r in rows]
    ds = LangIRDataset.open(synth_root)
    ids = ds.split_ids("test")
    model, meta = load_model(Path(run) / "last.pt")
    probs = {p.id: p.prob for p in predict_arrays(model, meta, [(i, ds.read_image(i)) for i in ids])}
    labels = np.concatenate([ds.read_mask(i).ravel() for i in ids]).astype(bool)
    auc = pixel_auc(np.concatenate([probs[i].ravel() for i in ids]), labels)
    print(f"AUC dgspnet both {auc:.4f} (IoU {float(rows[-1]['val_iou']):.3f})")
    assert auc >= DGSPNET_MIN_AUC, auc


@pytest.mark.slow
def test_plain_cli_defaults_learn(cli, tmp_path):
    """`langir synth` then `langir train` with nothing but size and epochs: every other setting is the default
    (lr 1e-3, 10 warm-up epochs capped at a fifth of the run, batch 8, Adan, BCE, crops that keep a target).
    Measured: best test IoU 0.570–0.696 over seeds 0–4 in both memory layouts after 12 epochs (144 steps);
    the code before the foreground-prior biases gave 0.000."""
    root = tmp_path / "synth"
    assert cli("synth", root, "--count", "120", "--size", "64", "--seed", "2").code == 0
    run = tmp_path / "run"
    done = cli("train", root, "--model", "unet", "--size", "64", "--epochs", "12", "--out", run, "--device", "cpu")
    assert done.code == 0, done.stderr
    import csv

    rows = list(csv.DictReader((run / "metrics.csv").open()))
    best = max(float(r["val_iou"]) for r in rows if r.get("val_iou"))
    assert best >= PLAIN_CLI_MIN_BEST_IOU, [r.get("val_iou") for r in rows]
