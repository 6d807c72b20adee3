"""Profiling: counted FLOPs match a hand count, keys of `langir profile --json`."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from langir.errors import ConfigError
from langir.evaluate.profiling import profile_model


class _OneConv(nn.Module):
    uses_language = False

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)

    def forward(self, image, td=None):
        return self.conv(image)


def test_flops_and_params_of_a_known_conv():
    result = profile_model(_OneConv(), size=16, batch=2, device="cpu", warmup=0, iters=1)
    macs = 16 * 16 * 4 * 9  # output pixels × out channels × kernel taps
    assert result["params"] == 36
    assert result["gmacs"] == pytest.approx(macs / 1e9)
    assert result["gflops"] == pytest.approx(2 * macs / 1e9)
    assert result["latency_ms"] > 0 and result["throughput_ips"] > 0 and result["peak_memory_mb"] is None


def test_cuda_without_gpu_is_config_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="CUDA"):
        profile_model(_OneConv(), size=8, device="cuda")


def test_profile_cli_json(cli):
    result = cli("profile", "--model", "lgnet", "--size", "32", "--batch", "2", "--device", "cpu",
                 "--warmup", "0", "--iters", "1", "--clip", "langir-tiny", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("params", "gflops", "gmacs", "latency_ms", "throughput_ips", "peak_memory_mb", "device"):
        assert key in data
    assert data["gmacs"] == pytest.approx(data["gflops"] / 2)
    assert 4.0e6 < data["params"] < 4.1e6
    # train-only inference also runs CLIP's image tower: its cost is reported beside the detector's
    clip = data["clip_image"]
    assert clip["clip_model"] == "langir-tiny" and clip["input"] == 64
    # 2 transformer layers of width 64 on 16 patches + class token: ≈0.1 M params, a few MMACs
    assert 5e4 < clip["params"] < 3e5 and 0 < clip["gmacs"] < 0.02


@pytest.mark.slow
def test_default_clip_image_tower_cost_is_vit_b16(cli):
    data = json.loads(cli("profile", "--model", "lgnet", "--size", "32", "--batch", "1", "--device", "cpu",
                          "--warmup", "0", "--iters", "1", "--json").stdout)
    assert 85e6 < data["clip_image"]["params"] < 88e6 and 10 < data["clip_image"]["gmacs"] < 12


def test_sizes_that_cannot_be_allocated_are_refused(cli):
    for args, words in ((("--size", "0"), "--size"), (("--size", "100000"), "--size"),
                        (("--size", "12000", "--batch", "64"), "GiB"), (("--batch", "0"), "--batch")):
        r = cli("profile", "--model", "unet", "--device", "cpu", *args)
        assert r.code == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_profile_cli_unknown_model(cli):
    result = cli("profile", "--model", "nope", "--size", "32")
    assert result.code == 2 and "unknown model" in result.stderr


class _Sleepy(nn.Module):
    """A forward whose cost is known: 20 ms per call plus 5 ms per image."""

    uses_language = False

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, image, td=None):
        import time

        time.sleep(0.02 + 0.005 * image.shape[0])
        return image


def test_latency_and_throughput_follow_their_definitions():
    one = profile_model(_Sleepy(), size=8, batch=1, device="cpu", warmup=0, iters=3)
    assert one["throughput_ips"] == pytest.approx(1000 / one["latency_ms"])  # batch 1: one measurement
    assert one["latency_ms"] == pytest.approx(25, abs=8)
    four = profile_model(_Sleepy(), size=8, batch=4, device="cpu", warmup=0, iters=3)
    assert four["throughput_ips"] == pytest.approx(4 / 0.040, rel=0.25)  # 4 images per 40 ms pass
    assert four["batching_gain"] == pytest.approx(four["throughput_ips"] * four["latency_ms"] / 1000)
    assert four["batching_gain"] > 1.5


def test_cpu_defaults_are_short_and_progress_is_shown(cli):
    calls = []

    def progress(label, passes):
        calls.append([label, passes, 0])
        return lambda: calls[-1].__setitem__(2, calls[-1][2] + 1)

    result = profile_model(_OneConv(), size=8, batch=2, device="cpu", progress=progress)
    assert (result["warmup"], result["iters"]) == (0, 3)
    assert [c[1] for c in calls] == [1, 3, 3] and all(c[1] == c[2] for c in calls)  # every pass reported
    r = cli("profile", "--model", "unet", "--size", "32", "--device", "cpu", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["batch"] == 1 and data["throughput_ips"] == pytest.approx(1000 / data["latency_ms"])
    assert "profile: batch 1: 0 warm-up + 3 timed" in r.stderr  # progress on stderr, stdout stays JSON


def test_profile_finetune_text_reports_the_text_path(cli):
    r = cli("profile", "--model", "lgnet", "--size", "32", "--device", "cpu", "--iters", "1", "--warmup", "0",
            "--clip", "langir-tiny", "--finetune-text", "--json")
    assert r.code == 0, r.stderr
    text = json.loads(r.stdout)["text_path"]
    # tiny CLIP text: 2 blocks of width 64 train (+ ln, projection, positions); 49408×64 token table frozen
    assert text["params"] - text["trainable_params"] == 49408 * 64
    assert 0 < text["gmacs"] < 0.05 and text["train_gflops"] == pytest.approx(6 * text["gmacs"])
    last = json.loads(cli("profile", "--model", "lgnet", "--size", "32", "--device", "cpu", "--iters", "1",
                          "--clip", "langir-tiny", "--finetune-text", "--text-layers", "1", "--json").stdout)["text_path"]
    assert last["trainable_params"] < text["trainable_params"] and last["gmacs"] == pytest.approx(text["gmacs"])
    assert last["train_gflops"] == pytest.approx(2 * last["gmacs"] * (1 + 2 * 1 / 2))  # backward through 1 of 2 blocks
    bad = cli("profile", "--model", "unet", "--size", "32", "--device", "cpu", "--finetune-text")
    assert bad.code == 2 and "--finetune-text" in bad.stderr
