"""SGEM-UNet: shapes at odd sizes, parameter count, the SGEM really feeds decoder layer 2."""

from __future__ import annotations

import pytest
import torch

from langir.models import create_model, model_info
from langir.models.sgem_unet import SGEM


def test_registry_entry_and_params():
    info = model_info("sgem_unet")
    assert info.default_loss == "softiou" and not info.uses_language
    params = sum(p.numel() for p in create_model("sgem_unet").parameters())
    assert 7e6 < params < 9.5e6  # paper: 8.69 M


@pytest.mark.parametrize("hw", [(64, 64), (45, 33)])
def test_shapes(hw):
    model = create_model("sgem_unet", base=8).eval()
    with torch.no_grad():
        out, sides = model(torch.rand(2, 1, *hw), return_aux=True)
    assert out.shape == (2, 1, *hw) and sides == []


def test_sgem_output_shape_and_matrix_is_probability():
    sgem = SGEM(16, 32)
    e3, d1 = torch.rand(2, 16, 12, 10), torch.rand(2, 32, 6, 5)
    assert sgem(e3, d1).shape == e3.shape
    # with the residual branch zeroed the output is E3 weighted by a softmax over channels (≤ E3 for E3 ≥ 0)
    torch.nn.init.zeros_(sgem.res.weight)
    torch.nn.init.zeros_(sgem.res.bias)
    y = sgem(e3, d1)
    assert (y <= e3 + 1e-6).all() and (y >= 0).all()


def test_sgem_is_used():
    torch.manual_seed(0)
    model = create_model("sgem_unet", base=8).eval()
    image = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        a = model(image)
        # D2 must depend on what SGEM gives it: zero the module's output
        handle = model.sgem.register_forward_hook(lambda module, args, output: torch.zeros_like(output))
        b = model(image)
        handle.remove()
    assert (a - b).abs().max() > 1e-5
