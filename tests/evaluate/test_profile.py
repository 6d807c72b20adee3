"""Profiling: counted FLOPs match a hand count, keys of `langir profile --json`."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from langir.errors import ConfigError
from langir.evaluate.profile import profile_model


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
