"""Every model's 1-channel outputs start at the foreground prior; padding is one trace-safe rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from langir.models import create_model, model_info
from langir.models.padding import crop, pad_to_multiple
from langir.models.registry import prior_logit

_SMALL = {"lgnet": {"widths": (8, 8, 8, 8, 8), "td_dim": 16}, "lgnet_no_fusion": {"widths": (8, 8, 8, 8, 8), "td_dim": 16},
          "lgnet_no_language": {"widths": (8, 8, 8, 8, 8)}, "sgem_unet": {"base": 4}, "unet": {"base": 4},
          "dgspnet": {"clip_model": "langir-tiny", "base": 4, "text_hidden": 16}}


def test_prior_logit_value():
    assert prior_logit(0.0017) == pytest.approx(-6.376, abs=1e-3)
    assert 1 / (1 + np.exp(-prior_logit(0.0017))) == pytest.approx(0.0017)


@pytest.mark.parametrize("name", sorted(_SMALL))
def test_fresh_model_predicts_the_prior_on_every_output(name):
    torch.manual_seed(0)
    model = create_model(name, **_SMALL[name]).train()
    td = torch.randn(2, model.td_dim) if model.uses_language else None
    with torch.no_grad():
        fused, sides = model(torch.rand(2, 1, 48, 40), td, return_aux=True)
    expected = model_info(name).output_bias
    for out in [fused, *sides]:
        # mean within ±1.5 of the prior logit (was 0, i.e. p = 0.5, before), so p ≪ 0.5 everywhere
        assert abs(float(out.mean()) - expected) < 1.5, (name, float(out.mean()))
        assert float(torch.sigmoid(out).max()) < 0.2


def test_padding_is_trace_safe_in_onnx_at_sizes_not_multiples_of_32(tmp_path):
    import onnxruntime as ort

    class Probe(torch.nn.Module):  # global pooling: any wrong padding changes every pixel
        def forward(self, x):
            y, size = pad_to_multiple(x, 32)
            return crop(y - y.mean((2, 3), keepdim=True), size)

    path = tmp_path / "p.onnx"
    axes = {"image": {0: "b", 2: "h", 3: "w"}, "out": {0: "b", 2: "h", 3: "w"}}
    # traced at a multiple of 32, where an `if pad needed` would have been dropped from the graph
    torch.onnx.export(Probe(), (torch.rand(1, 1, 64, 64),), str(path), input_names=["image"], output_names=["out"],
                      dynamic_axes=axes, opset_version=17, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for hw in ((100, 120), (33, 47), (64, 64)):
        x = torch.rand(1, 1, *hw)
        got = session.run(["out"], {"image": x.numpy()})[0]
        np.testing.assert_allclose(got, Probe()(x).numpy(), atol=1e-5)
        assert got.shape == (1, 1, *hw)
