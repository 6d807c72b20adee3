"""`langir predict` on mask-less images: target table, probability PNGs, overlays that keep small targets visible."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.data.imageio import read_image
from langir.evaluate.visualize import DETECTION, FALSE_ALARM, HIT, MARGIN, MISS, overlay
from langir.models import create_model
from langir.models.checkpoint import save_checkpoint
from tests.evaluate.helpers import ensure_predict_registered


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_checkpoint(tmp_path / "bright.pt", create_model("test_bright"), {"model": "test_bright", "model_kwargs": {}})


def _frames(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Images of several sizes and modes, each with one bright rectangle (row, col, h, w) to find."""
    root.mkdir()
    base = np.full((70, 90), 60, np.uint8)
    a = base.copy()
    a[10:12, 20:24] = 250  # 8 pixels
    Image.fromarray(a).save(root / "grey8.png")
    b = np.full((41, 57), 9000, np.uint16)
    b[30:33, 5:8] = 60000
    Image.fromarray(b).save(root / "deep16.tiff")
    c = np.stack([np.full((33, 47), 30, np.uint8)] * 3, axis=-1)
    c[2:4, 40:41] = 255
    Image.fromarray(c).save(root / "colour.jpg", quality=100)
    return {"grey8": (10, 20, 2, 4), "deep16": (30, 5, 3, 3), "colour": (2, 40, 2, 1)}


def test_predict_lists_each_target_and_writes_probabilities(cli, ckpt, tmp_path):
    ensure_predict_registered()
    truth = _frames(tmp_path / "frames")
    out = tmp_path / "out"
    r = cli("predict", "--checkpoint", ckpt, tmp_path / "frames", "--out", out, "--json", "--device", "cpu", "--batch-size", "2")
    assert r.code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["images"] == 3 and summary["targets"] == 3 and summary["failed"] == []
    rows = {row["image"]: row for row in csv.DictReader((out / "targets.csv").open())}
    assert rows.keys() == truth.keys()
    for name, (r0, c0, h, w) in truth.items():
        row = rows[name]
        assert int(row["area"]) == h * w
        assert (int(row["bbox_x"]), int(row["bbox_y"]), int(row["bbox_w"]), int(row["bbox_h"])) == (c0, r0, w, h)
        assert float(row["x"]) == pytest.approx(c0 + (w - 1) / 2) and float(row["y"]) == pytest.approx(r0 + (h - 1) / 2)
        assert float(row["peak_prob"]) > 0.99 and 0.5 < float(row["mean_prob"]) <= float(row["peak_prob"])
        # 16-bit probability PNG at the input's own size, equal to the model's sigmoid within one step
        prob = read_image(out / "prob" / f"{name}.png")
        image = read_image(next((tmp_path / "frames").glob(f"{name}.*")))
        assert prob.shape == image.shape
        expected = 1 / (1 + np.exp(-40 * (image - 0.5)))
        np.testing.assert_allclose(prob, expected, atol=1.5 / 65535)
        assert np.array_equal(read_image(out / "mask" / f"{name}.png") > 0.5, expected > 0.5)
    assert json.loads((out / "targets.json").read_text()) == summary["rows"]


def test_eight_pixel_detection_stays_visible_in_overlay():
    image = np.full((70, 90), 0.2, np.float32)
    pred = np.zeros((70, 90), bool)
    pred[10:12, 20:24] = True
    pic = overlay(image, None, pred, legend=False)[MARGIN:-MARGIN, MARGIN:-MARGIN]  # the frame inside its dark border
    assert pic.shape == (140, 180, 3)  # small frames are drawn at 2×
    inside = pic[20:24, 40:48].reshape(-1, 3)
    # every predicted pixel keeps the tint (not a box colour, not grey); the box lies around it
    assert not any((px == DETECTION).all() for px in inside) and all(px[2] > px[0] + 60 for px in inside)
    ring = pic[20 - 3, 40 - 3 : 48 + 3]
    assert (ring == DETECTION).all(axis=1).sum() >= 14
    assert (pic[20:24, 40 - 3] == DETECTION).all()


def test_overlay_colours_hits_misses_and_false_alarms():
    image = np.full((100, 100), 0.3, np.float32)
    gt = np.zeros((100, 100), bool)
    pred = np.zeros((100, 100), bool)
    gt[10:13, 10:13] = pred[10:13, 11:14] = True  # hit
    gt[50:52, 50:52] = True  # miss
    pred[80:82, 20:22] = True  # false alarm
    pic = overlay(image, gt, pred, legend=False)[MARGIN:-MARGIN, MARGIN:-MARGIN]
    colours = {tuple(c) for c in pic.reshape(-1, 3)}
    assert {HIT, MISS, FALSE_ALARM} <= colours
    assert (pic[2 * 50 - 3, 2 * 50 : 2 * 52] == MISS).all()  # box above the missed target
    assert (pic[2 * 80 - 3, 2 * 20 : 2 * 22] == FALSE_ALARM).all()
    assert (pic[2 * 10 - 3, 2 * 11 : 2 * 13] == HIT).all()


def test_bad_and_oversized_images_are_listed_and_the_rest_done(cli, ckpt, tmp_path):
    ensure_predict_registered()
    _frames(tmp_path / "frames")
    (tmp_path / "frames" / "broken.png").write_bytes(b"not a png")
    Image.fromarray(np.zeros((200, 300), np.uint8)).save(tmp_path / "frames" / "big.png")
    r = cli("predict", "--checkpoint", ckpt, tmp_path / "frames", "--out", tmp_path / "o", "--max-pixels", "10000", "--json")
    assert r.code == 1, r.stderr
    summary = json.loads(r.stdout)
    assert summary["images"] == 3 and sorted(f["id"] for f in summary["failed"]) == ["big", "broken"]
    assert "pixel budget" in r.stderr and "broken.png" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o" / "prob" / "big.png").exists()


def test_output_paths_that_cannot_be_written_are_refused(cli, ckpt, tmp_path):
    ensure_predict_registered()
    _frames(tmp_path / "frames")
    (tmp_path / "file").write_text("x")
    for target, words in ((tmp_path / "file", "not a folder"), (Path("/proc/self"), "system folder")):
        r = cli("predict", "--checkpoint", ckpt, tmp_path / "frames", "--out", target)
        assert r.code == 2 and words in r.stderr and "Traceback" not in r.stderr
    assert cli("predict", "--checkpoint", ckpt, tmp_path / "nope", "--out", tmp_path / "o").code == 2
    r = cli("predict", "--checkpoint", ckpt, tmp_path / "frames", "--out", tmp_path / "o", "--batch-size", "0")
    assert r.code == 2 and "--batch-size" in r.stderr
    assert (tmp_path / "file").read_text() == "x" and not (tmp_path / "o").exists()


def test_language_checkpoints_get_their_descriptor(cli, tmp_path):
    ensure_predict_registered()
    _frames(tmp_path / "frames")
    model = create_model("test_bright", td_dim=64)
    meta = {"model": "test_bright", "model_kwargs": {"td_dim": 64}, "clip_model": "langir-tiny"}
    only = save_checkpoint(tmp_path / "only.pt", model, {**meta, "language_prior": "train-only"})
    r = cli("predict", "--checkpoint", only, tmp_path / "frames", "--out", tmp_path / "o1", "--cache-dir", tmp_path / "c", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["targets"] == 3
    assert len(list((tmp_path / "c").rglob("image/*.npy"))) == 3 and not list((tmp_path / "c").rglob("text/*.npy"))
    both = save_checkpoint(tmp_path / "both.pt", model, {**meta, "language_prior": "train+test"})
    r = cli("predict", "--checkpoint", both, tmp_path / "frames", "--out", tmp_path / "o2", "--cache-dir", tmp_path / "c")
    assert r.code == 2 and "--descriptions" in r.stderr and not (tmp_path / "o2" / "prob").exists()
    (tmp_path / "d").mkdir()
    for name in ("grey8", "deep16"):
        (tmp_path / "d" / f"{name}.txt").write_text("A small bright target in the upper left.")
    r = cli("predict", "--checkpoint", both, tmp_path / "frames", "--out", tmp_path / "o2", "--cache-dir", tmp_path / "c",
            "--descriptions", tmp_path / "d", "--json")
    assert r.code == 1 and [f["id"] for f in json.loads(r.stdout)["failed"]] == ["colour"]  # no description
    assert len(list((tmp_path / "c").rglob("text/*.npy"))) == 1
