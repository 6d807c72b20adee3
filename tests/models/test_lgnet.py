"""LGNet: shapes at odd sizes, parameter count, language fusion behaviour, side outputs, variants."""

from __future__ import annotations

import pytest
import torch

from langir.errors import ConfigError
from langir.models import create_model, model_info

TD = 32  # small TD width keeps the tests fast; the default is CLIP's 512


def _model(**kwargs):
    torch.manual_seed(0)
    return create_model("lgnet", td_dim=TD, **kwargs)


def test_registry_entries():
    info = model_info("lgnet")
    assert info.uses_language and info.default_loss == "bce_deep"
    assert not model_info("lgnet_no_language").uses_language
    assert not create_model("lgnet_no_fusion").fusions[0].enabled


def test_param_count_near_paper():
    params = sum(p.numel() for p in create_model("lgnet").parameters())
    assert 4.0e6 < params < 4.1e6  # paper: 4.04 M


def test_macs_at_512_near_paper():
    from torch.utils.flop_counter import FlopCounterMode

    # meta tensors: shapes only, so counting a 512×512 pass costs no compute
    with torch.device("meta"):
        model = create_model("lgnet").eval()
        counter = FlopCounterMode(display=False)
        with counter:
            model(torch.zeros(1, 1, 512, 512), torch.zeros(1, 512))
    assert 82 < counter.get_total_flops() / 2e9 < 86  # paper: 85.68 "GFLOPs" = thop MACs


@pytest.mark.parametrize("hw", [(64, 64), (37, 51)])
def test_shapes_and_side_outputs(hw):
    model = _model().eval()
    image = torch.rand(2, 1, *hw)
    with torch.no_grad():
        fused, sides = model(image, torch.randn(2, TD), return_aux=True)
    assert fused.shape == (2, 1, *hw)
    assert len(sides) == 6 and all(s.shape == (2, 1, *hw) for s in sides)
    assert torch.isfinite(fused).all()


def test_td_changes_output_with_language():
    model = _model().eval()
    image = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        a = model(image, torch.randn(1, TD))
        b = model(image, torch.randn(1, TD))
    # absolute: the logits sit near the prior (−6.4), so a relative tolerance would hide the TD's effect
    assert (a - b).abs().max() > 1e-6


def test_use_language_false_ignores_td():
    model = _model(use_language=False).eval()
    assert not model.uses_language
    image = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        a = model(image, torch.randn(1, TD))
        b = model(image, None)
    assert torch.equal(a, b)


def test_missing_or_wrong_td_is_clear_error():
    model = _model().eval()
    with pytest.raises(ConfigError, match="target descriptor"):
        model(torch.rand(1, 1, 64, 64))
    with pytest.raises(ConfigError, match="td of shape"):
        model(torch.rand(1, 1, 64, 64), torch.randn(1, TD + 1))


def test_trains_with_batch_of_one():
    model = _model().train()
    fused, sides = model(torch.rand(1, 1, 64, 64), torch.randn(1, TD), return_aux=True)
    (fused.mean() + sum(s.mean() for s in sides)).backward()
    assert model.out.weight.grad is not None
