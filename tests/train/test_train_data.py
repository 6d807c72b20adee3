"""Training inputs: crops keep a target, resize keeps 1-px targets, transposes pick the matching text."""

from __future__ import annotations

import json

import numpy as np
import torch

from langir.train.data import TrainSamples, crop_or_pad, resize_pair
from tests.train import tiny


def _image_with_target(h=200, w=240, y=150, x=30):
    image = np.random.default_rng(0).random((h, w)).astype(np.float32) * 0.2
    mask = np.zeros((h, w), np.float32)
    mask[y:y + 2, x:x + 2] = 1
    image[mask > 0] = 1.0
    return image, mask


def test_every_crop_keeps_the_target_and_a_share_is_centred():
    image, mask = _image_with_target()
    rng = np.random.default_rng(1)
    offsets = []
    for _ in range(200):
        img, m = crop_or_pad(image, mask, 64, rng, target_crop=0.5)
        assert img.shape == (64, 64) and m.sum() >= 1  # a uniform 64-crop of this frame misses the target ≈90 % of the time
        ys, xs = np.nonzero(m)
        offsets.append((ys.mean(), xs.mean()))
    spread = np.std(np.array(offsets), axis=0)
    assert (spread > 8).all()  # the target is not pinned to one place in the crop


def test_small_images_are_padded_and_keep_everything():
    image, mask = _image_with_target(40, 50, 10, 10)
    img, m = crop_or_pad(image, mask, 64, np.random.default_rng(0), 0.5)
    assert img.shape == (64, 64) and m.sum() == mask.sum() and np.isclose(img.sum(), image.sum())


def test_resize_keeps_a_one_pixel_target():
    mask = np.zeros((300, 250), np.float32)
    mask[100, 100] = 1
    image, resized = resize_pair(np.zeros_like(mask), mask, 64)
    assert image.shape == resized.shape == (64, 64) and resized.sum() >= 1


def test_transpose_uses_the_transposed_description():
    image, mask = _image_with_target(64, 64, 5, 40)
    entry = {"image": np.zeros(4, np.float32)}
    for h in (0, 1):
        for v in (0, 1):
            entry[f"text_{h}{v}"] = np.full(4, 10 * h + v, np.float32)
            entry[f"text_{h}{v}t"] = np.full(4, 100 + 10 * h + v, np.float32)
    samples = TrainSamples({"a": (image, mask)}, ["a"], 64, {"a": entry}, hflip=False, vflip=False, transpose=True)
    seen = set()
    for epoch in range(12):
        samples.set_epoch(epoch)
        img, m, td = samples[0]
        transposed = bool(m[0, 40:42, 5:7].sum() == 4)
        assert transposed or m[0, 5:7, 40:42].sum() == 4
        assert float(td[0]) == (100.0 if transposed else 0.0)
        seen.add(transposed)
    assert seen == {True, False}


def test_resize_input_trains_and_validates_at_size(tmp_path, cli):
    tiny.register()
    a = tiny.make_dataset(tmp_path / "a", n=4, size=48)
    b = tiny.make_dataset(tmp_path / "b", n=4, size=40)
    res = cli("train", a, b, "--model", "tinyplain", "--input", "resize", "--size", "32", "--epochs", "1", "--batch-size", "2",
              "--device", "cpu", "--no-tensorboard", "--out", tmp_path / "run", "--json")
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["train_images"] == 4 and summary["val_images"] == 4  # both datasets' trainval / test
    meta = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["meta"]
    assert meta["input"] == "resize" and meta["size"] == 32 and meta["config"]["more_datasets"] == [str(b)]
