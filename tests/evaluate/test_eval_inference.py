"""One evaluation path: --checkpoint and --preds agree, per-image vs pooled Pd/Fa, bounds, read-only data."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.data import LangIRDataset
from langir.data.synth import synthesize
from langir.evaluate.inference import evaluate_dataset, load_model
from langir.evaluate.metrics import MetricAccumulator
from langir.models import create_model
from langir.models.checkpoint import save_checkpoint
from tests.evaluate import helpers  # noqa: F401  (registers test_bright)


@pytest.fixture
def synth_set(tmp_path: Path) -> Path:
    synthesize(tmp_path / "set", count=6, size=(48, 56), seed=3, snr=(6.0, 9.0))
    return tmp_path / "set"


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    # level 0.62: bright synthetic blobs pass, background mostly not → hits, misses and false alarms
    model = create_model("test_bright", level=0.62)
    return save_checkpoint(tmp_path / "b.pt", model, {"model": "test_bright", "model_kwargs": {"level": 0.62}})


def _json(r):
    assert r.code in (0, 1), r.stderr
    return json.loads(r.stdout)


def test_saved_probabilities_score_like_the_checkpoint(cli, synth_set, ckpt, tmp_path):
    out = tmp_path / "saved"
    direct = _json(cli("eval", "--checkpoint", ckpt, "--dataset", synth_set, "--save-preds", out, "--json", "--batch-size", "3"))
    again = _json(cli("eval", "--preds", out / "prob", "--dataset", synth_set, "--json"))
    masks = _json(cli("eval", "--preds", out / "mask", "--dataset", synth_set, "--json"))
    for key in ("iou", "niou", "pd", "fa", "pd_per_image", "fa_per_image", "f1"):
        assert direct[key] == again[key] == masks[key], key
    assert 0 < direct["iou"] < 1 and direct["images"] == 6
    # the library call the engine uses gives the same numbers
    model, meta = load_model(ckpt)
    lib = evaluate_dataset(model, meta, LangIRDataset.open(synth_set), LangIRDataset.open(synth_set).all_ids())
    assert lib["iou"] == direct["iou"] and lib["pd"] == direct["pd"]
    rows = (out / "targets.csv").read_text().splitlines()
    assert rows[0].endswith("status") and len(rows) - 1 == direct["counts"]["detected"] + sum(
        1 for line in rows[1:] if line.endswith("false_alarm"))


def test_per_image_and_pooled_pd_fa_differ_as_defined():
    acc = MetricAccumulator()
    a_gt, a_pred = np.zeros((10, 10), bool), np.zeros((10, 10), bool)
    a_gt[1, 1] = a_gt[7, 7] = a_pred[1, 1] = True  # 1 of 2 targets
    b_gt, b_pred = np.zeros((20, 10), bool), np.zeros((20, 10), bool)
    b_gt[5, 5] = b_pred[5, 5] = True  # 1 of 1, plus 2 false-alarm pixels
    b_pred[15, 1:3] = True
    acc.update(a_pred, a_gt)
    acc.update(b_pred, b_gt)
    r = acc.compute()
    assert r["pd"] == pytest.approx(2 / 3) and r["pd_per_image"] == pytest.approx(0.75)
    assert r["fa"] == pytest.approx(2 / 300) and r["fa_per_image"] == pytest.approx((0 + 2 / 200) / 2)


def test_pd_fa_flag_and_bad_flags(cli, synth_set, ckpt, tmp_path):
    pooled = _json(cli("eval", "--checkpoint", ckpt, "--dataset", synth_set, "--json"))
    per = _json(cli("eval", "--checkpoint", ckpt, "--dataset", synth_set, "--json", "--pd-fa", "per-image"))
    assert per["pd"] == pooled["pd_per_image"] and per["pd_pooled"] == pooled["pd"] and per["pd_fa"] == "per-image"
    (tmp_path / "afile").write_text("keep")
    bad = [
        (("--batch-size", "0"), "--batch-size"),
        (("--thresholds", "0:0.9999:0.00001"), "at most 201"),
        (("--save-preds", tmp_path / "afile"), "not a folder"),
        (("--save-preds", "/proc"), "system folder"),
        (("--pd-fa", "mean"), "--pd-fa"),
        (("--max-pixels", "0"), "--max-pixels"),
    ]
    for extra, words in bad:
        r = cli("eval", "--checkpoint", ckpt, "--dataset", synth_set, *extra)
        assert r.code == 2 and words in r.stderr and "Traceback" not in r.stderr, (extra, r.stderr)
    assert (tmp_path / "afile").read_text() == "keep"


def test_basicirstd_results_folder_is_read_as_is(cli, synth_set, tmp_path):
    """BasicIRSTD's test.py saves ToPILImage((pred > thr).float()) as results/DATASET/METHOD/{id}.png."""
    import torch
    from torchvision.transforms import ToPILImage

    ds = LangIRDataset.open(synth_set)
    folder = tmp_path / "results" / "SYNTH" / "DNANet"
    folder.mkdir(parents=True)
    for sample_id in ds.all_ids():
        ToPILImage()(torch.from_numpy(ds.read_mask(sample_id)).float()[None]).save(folder / f"{sample_id}.png")
    res = _json(cli("eval", "--preds", folder, "--dataset", synth_set, "--json"))
    assert res["iou"] == 1.0 and res["pd"] == 1.0 and res["fa"] == 0.0 and res["images"] == 6
    (folder / f"{ds.all_ids()[0]}.png").unlink()  # a missing PNG: an error naming it, or skipped and listed
    r = cli("eval", "--preds", folder, "--dataset", synth_set)
    assert r.code == 2 and "prediction PNG not found" in r.stderr
    res = _json(cli("eval", "--preds", folder, "--dataset", synth_set, "--json", "--skip-bad"))
    assert res["images"] == 5 and [s["id"] for s in res["skipped"]] == [ds.all_ids()[0]]


def test_huge_frame_is_a_per_id_error_not_an_oom(cli, synth_set, ckpt):
    """A 9000×9000 16-bit TIFF (81 Mpx, under Pillow's bomb limit): refused from its header, never decoded."""
    ids = LangIRDataset.open(synth_set).all_ids()
    big = np.zeros((9000, 9000), np.uint16)
    Image.fromarray(big).save(synth_set / "images" / "huge.tiff", compression="tiff_deflate")
    Image.fromarray(np.zeros((9000, 9000), np.uint8)).save(synth_set / "masks" / "huge.png", optimize=False)
    (synth_set / "test.txt").write_text("\n".join([*ids[:2], "huge"]) + "\n")
    del big
    r = cli("eval", "--checkpoint", ckpt, "--dataset", synth_set, "--images", "images/{id}.*", "--split", "test")
    assert r.code == 2 and "huge.tiff" in r.stderr and "pixel budget" in r.stderr and "Traceback" not in r.stderr
    res = _json(cli("eval", "--checkpoint", ckpt, "--dataset", synth_set, "--images", "images/{id}.*", "--split", "test", "--skip-bad", "--json"))
    assert res["images"] == 2 and [s["id"] for s in res["skipped"]] == ["huge"]


def _ro_mount(src: Path, at: Path) -> bool:
    at.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(at)], capture_output=True).returncode:
        return False
    shutil.copytree(src, at, dirs_exist_ok=True)
    if subprocess.run(["mount", "-o", "remount,ro", str(at)], capture_output=True).returncode:
        subprocess.run(["umount", str(at)], capture_output=True)
        return False
    return True


def test_language_checkpoint_on_read_only_dataset(cli, synth_set, tmp_path, monkeypatch):
    model = create_model("test_bright", level=0.62, td_dim=64)
    meta = {"model": "test_bright", "model_kwargs": {"level": 0.62, "td_dim": 64}, "language_prior": "train-only",
            "clip_model": "langir-tiny"}
    ckpt = save_checkpoint(tmp_path / "lang.pt", model, meta)
    ro = tmp_path / "ro"
    if not _ro_mount(synth_set, ro):
        pytest.skip("cannot mount a read-only file system here")
    try:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "usercache"))
        monkeypatch.delenv("LANGIR_CACHE", raising=False)
        res = _json(cli("eval", "--checkpoint", ckpt, "--dataset", ro, "--json"))
        assert res["images"] == 6 and 0 < res["iou"] < 1
        cached = list((tmp_path / "usercache" / "langir" / "embeddings").rglob("*.npy"))
        assert len(cached) == 6  # one image embedding per image, in the user cache
        res2 = _json(cli("eval", "--checkpoint", ckpt, "--dataset", ro, "--json", "--cache-dir", tmp_path / "c2"))
        assert res2["iou"] == res["iou"] and len(list((tmp_path / "c2").rglob("*.npy"))) == 6
        assert not (ro / ".langir").exists()
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


def test_resize_checkpoints_see_the_training_size_and_answer_at_native_size() -> None:
    """`--input resize` runs are scored as trained: the frame goes in at size×size, probabilities come back native."""
    import torch

    from langir.evaluate.inference import predict_arrays

    seen: list[tuple[int, int]] = []

    class Probe(torch.nn.Module):
        def forward(self, x, td=None):
            seen.append(tuple(x.shape[-2:]))
            return x - 0.5  # bright pixels positive

    image = np.zeros((100, 120), np.float32)
    image[40:50, 60:70] = 1.0
    for meta, expect in (({"input": "resize", "size": 64}, (64, 64)), ({"input": "crop", "size": 64}, (100, 120))):
        seen.clear()
        [pred] = list(predict_arrays(Probe(), {"language_prior": "never", **meta}, [("a", image)]))
        assert seen == [expect]
        assert pred.prob.shape == (100, 120)
        rows, cols = np.nonzero(pred.prob > 0.5)
        assert rows.min() >= 38 and rows.max() <= 51 and cols.min() >= 58 and cols.max() <= 71
