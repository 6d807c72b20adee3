"""Model registry: names, defaults, errors, and the forward contract shared by every image model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from langir.errors import ConfigError
from langir.models import create_model, list_models, model_info, register_model
from langir.models import registry as registry_module


def test_contract_names_are_registered():
    names = list_models()
    for name in ("lgnet", "lgnet_no_fusion", "lgnet_no_language", "sgem_unet", "unet"):
        assert name in names
    assert names == sorted(names)


def test_default_losses_and_language_flags():
    assert model_info("lgnet").default_loss == "bce_deep"
    assert model_info("sgem_unet").default_loss == "softiou"
    assert model_info("unet").default_loss == "bce"
    assert [model_info(n).uses_language for n in ("lgnet", "sgem_unet", "unet")] == [True, False, False]
    dg = model_info("dgspnet")
    assert dg.needs_clip and dg.default_phase == "both" and "pretrain" in dg.phases
    assert model_info("lgnet").pad_multiple == 32 and model_info("unet").pad_multiple == 16


def test_unknown_name_lists_known_models():
    with pytest.raises(ConfigError) as err:
        create_model("no_such_net")
    message = str(err.value)
    assert "no_such_net" in message and "lgnet" in message and "sgem_unet" in message


def test_register_custom_model_defaults_and_overrides():
    class Tiny(nn.Module):
        uses_language = False
        td_dim = 0

        def __init__(self, width: int):
            super().__init__()
            self.conv = nn.Conv2d(1, width, 1)

    name = "_test_tiny"
    try:
        register_model(name, default_loss="bce", width=3)(lambda **kw: Tiny(**kw))
        assert model_info(name).defaults == {"width": 3}
        assert create_model(name).conv.out_channels == 3
        model = create_model(name, width=5)
        assert model.conv.out_channels == 5 and model.model_name == name
    finally:
        registry_module._REGISTRY.pop(name, None)
    assert name not in list_models()


def test_bad_default_loss_rejected():
    with pytest.raises(ValueError, match="default_loss"):
        register_model("_bad", default_loss="dice")


# small widths keep the forward passes cheap; the architecture is the same
_SMALL = {"lgnet": {"widths": (8, 8, 8, 8, 8), "td_dim": 16}, "lgnet_no_fusion": {"widths": (8, 8, 8, 8, 8), "td_dim": 16},
          "lgnet_no_language": {"widths": (8, 8, 8, 8, 8)}, "sgem_unet": {"base": 4}, "unet": {"base": 4}}


@pytest.mark.parametrize("name", sorted(_SMALL))
def test_forward_contract_at_odd_size(name):
    torch.manual_seed(0)
    model = create_model(name, **_SMALL[name]).eval()
    assert isinstance(model.uses_language, bool) and model.uses_language == model_info(name).uses_language
    image = torch.rand(2, 1, 33, 47)
    td = torch.randn(2, model.td_dim) if model.uses_language else None
    with torch.no_grad():
        logits = model(image, td)
        fused, sides = model(image, td, return_aux=True)
    assert logits.shape == fused.shape == (2, 1, 33, 47)
    assert torch.allclose(logits, fused)
    assert all(s.shape == (2, 1, 33, 47) for s in sides)
