"""DGSPNet: shapes, no description at inference, frozen pieces, text-guided attention, both phases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from langir.errors import ConfigError
from langir.models.dgspnet import TGCA, TGSA, DGSPNet, freeze_inversion, main_phase_parameters
from langir.train.dgspnet_pretrain import contrastive_loss, run_pretrain


@pytest.fixture(scope="module")
def model() -> DGSPNet:
    torch.manual_seed(0)
    return DGSPNet("langir-tiny", base=4, text_hidden=16, n_tokens=2)


def test_shapes_any_size_and_no_description(model: DGSPNet) -> None:
    model.eval()
    x = torch.rand(2, 1, 45, 70)
    with torch.no_grad():
        fused, sides = model(x, return_aux=True)
        plain = model(x)  # td omitted: nothing but the image is needed
        with_td = model(x, td=torch.randn(2, 512))  # a description embedding is ignored
    assert fused.shape == (2, 1, 45, 70)
    assert len(sides) == 4 and all(s.shape == (2, 1, 45, 70) for s in sides)
    assert torch.allclose(plain, fused) and torch.allclose(with_td, fused)
    assert model.uses_language is False
    with torch.no_grad():
        out = model.pretrain_forward(x)
    assert out["recon"].shape == x.shape and float(out["recon"].min()) >= 0 and float(out["recon"].max()) <= 1


def test_clip_frozen_and_out_of_state_dict(model: DGSPNet) -> None:
    names = set(model.state_dict())
    assert not any(n.startswith(("_frozen", "text_encoder")) for n in names)
    clip_ids = {id(p) for p in model.text_encoder.parameters()}
    assert clip_ids and not clip_ids & {id(p) for p in model.parameters()}
    assert all(not p.requires_grad for p in model.text_encoder.parameters())
    model.train()
    assert not model.text_encoder.training


def test_fine_prompt_matches_encode_text_for_real_tokens(model: DGSPNet) -> None:
    """With the slots filled by real word embeddings, the injected path equals open_clip's encode_text."""
    from langir.language.clip import load_clip

    clip, _, tok = load_clip("langir-tiny")
    tokens = tok(["a b small target in an infrared image"])
    reference = clip.encode_text(tokens)
    enc = model.text_encoder
    emb = enc.token_embedding(tokens[:, : model.eot_index + 1])
    ours = enc.encode_embeddings(emb, torch.tensor([model.eot_index]))
    assert torch.allclose(ours, reference, atol=1e-5)


def test_random_clip_needs_flag() -> None:
    with pytest.raises(ConfigError, match="allow_random_clip"):
        DGSPNet("ViT-B-16", None)


def test_tgca_tgsa_respond_to_text() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 8, 6, 6)
    t1, t2 = torch.randn(2, 16), torch.randn(2, 16)
    for module in (TGCA(8, 16), TGSA(8, 16)):
        a, b = module(x, t1), module(x, t2)
        assert a.shape == x.shape
        assert not torch.allclose(a, b)
        # residual: output = x * (1 + w) with w in (0, 1)
        assert torch.all(a >= x - 1e-6) and torch.all(a <= 2 * x + 1e-6)


def test_contrastive_loss_prefers_matching_pairs() -> None:
    v = torch.randn(4, 8)
    assert contrastive_loss(v, v) < contrastive_loss(v, v.roll(1, dims=0))
    assert float(contrastive_loss(v[:1], v[:1])) == 0.0


def _toy_batches(n: int = 2) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(n):
        img = torch.rand(2, 1, 32, 32, generator=g) * 0.3
        mask = torch.zeros(2, 1, 32, 32)
        mask[:, :, 10:13, 20:23] = 1
        batches.append((img + mask * 0.7, mask))
    return batches


def test_both_phases_and_inversion_frozen(tmp_path: Path) -> None:
    """Phase 1 via run_pretrain, then a minimal phase-2 loop: inversion weights stay put, the rest learns."""
    torch.manual_seed(0)
    net = DGSPNet("langir-tiny", base=4, text_hidden=16, n_tokens=2)
    batches = _toy_batches()
    before_pre = [p.detach().clone() for p in net.inversion.parameters()]
    summary = run_pretrain(net, batches, {"pretrain_epochs": 2}, tmp_path, "cpu")
    assert summary["epochs"] == 2 and summary["images"] == 8
    assert json.loads((tmp_path / "pretrain.json").read_text())["phase"] == "pretrain"
    assert (tmp_path / "pretrain.pt").is_file()
    # phase 1 trains the inversion net (the contrastive loss reaches it)
    assert any(not torch.equal(a, b) for a, b in zip(before_pre, net.inversion.parameters(), strict=True))

    freeze_inversion(net)
    params = main_phase_parameters(net)
    assert not {id(p) for p in net.inversion.parameters()} & {id(p) for p in params}
    frozen = [p.detach().clone() for p in net.inversion.parameters()]
    head = net.fuse.weight.detach().clone()
    # even an optimizer over all parameters leaves the frozen inversion net unchanged
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=1e-2)
    net.train()
    for img, mask in batches:
        fused, sides = net(img, return_aux=True)
        loss = sum(torch.nn.functional.binary_cross_entropy_with_logits(o, mask) for o in [fused, *sides])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(torch.equal(a, b) for a, b in zip(frozen, net.inversion.parameters(), strict=True))
    assert not torch.equal(head, net.fuse.weight)
