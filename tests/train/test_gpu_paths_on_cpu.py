"""The GPU-only code paths (bf16 autocast, channels_last, torch.compile) run on CPU on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from langir.models import create_model
from langir.train.callbacks import validate_epoch
from langir.train.config import TrainConfig
from langir.train.data import TrainSamples
from langir.train.engine import train_one_epoch
from langir.train.optim import build_optimisation
from tests.train import tiny


@pytest.fixture
def parts(tmp_path):
    tiny.register()
    from langir.data.dataset import LangIRDataset

    root = tiny.make_dataset(tmp_path / "ds", n=4)
    ds = LangIRDataset.open(root)
    arrays = {}
    for i in ds.all_ids():
        s = ds.load(i)
        arrays[i] = (s.image.astype(np.float32), s.mask.astype(np.float32))
    samples = TrainSamples(arrays, ds.all_ids(), 32, None, transpose=True)
    loader = DataLoader(samples, batch_size=2)
    return ds, loader


def _run(net, model, loader, ds, **flags):
    config = TrainConfig(epochs=1, lr=1e-2, warmup_epochs=0)
    opt = build_optimisation(model, config, len(loader))
    stats = train_one_epoch(net, loader, opt, "bce_deep", "cpu", **flags)
    metrics = validate_epoch(model, {"language_prior": "never"}, ds, ds.all_ids(), None, "cpu", flags.get("amp", False), 0.5)
    return stats, metrics


def test_bf16_autocast_and_channels_last_on_cpu(parts):
    ds, loader = parts
    torch.manual_seed(0)
    model = create_model("tiny", use_language=False).to(memory_format=torch.channels_last)
    before = [p.detach().clone() for p in model.parameters()]
    stats, metrics = _run(model, model, loader, ds, amp=True, channels_last=True)
    assert np.isfinite(stats.loss) and stats.steps == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert set(metrics) >= {"iou", "niou", "pd", "fa"}


@pytest.mark.slow
def test_torch_compile_on_cpu(parts):
    import shutil

    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("torch.compile on CPU needs a C compiler")
    ds, loader = parts
    torch.manual_seed(0)
    model = create_model("tiny", use_language=False)
    stats, _ = _run(torch.compile(model), model, loader, ds, amp=False)
    assert np.isfinite(stats.loss) and stats.steps == 2


def test_bf16_autocast_trains_the_fine_tuned_text_tower_on_cpu(tmp_path):
    """--finetune-text under bf16 autocast: the text tower's trained tensors move, the frozen ones do not."""
    from langir.data.dataset import LangIRDataset
    from langir.language.cache import text_variants
    from langir.language.text_tower import WithText, build_tower

    tiny.register()
    ds = LangIRDataset.open(tiny.make_dataset(tmp_path / "ds", n=4))
    ids = ds.all_ids()
    arrays = {i: tuple(a.astype(np.float32) for a in (ds.load(i).image, ds.load(i).mask)) for i in ids}
    tower, tokenizer = build_tower("langir-tiny", None)
    texts, index = text_variants(ds, ids, transpose=True)
    images = {i: {"image": np.ones(64, np.float32) / 8.0} for i in ids}  # stand-in image embeddings
    loader = DataLoader(TrainSamples(arrays, ids, 32, images, transpose=True, text_index=index), batch_size=2)
    torch.manual_seed(0)
    model = create_model("tiny", td_dim=64)
    net = WithText(model, tower, tokenizer(texts))
    start = tower.trained_state()
    frozen = tower.clip.token_embedding.weight.detach().clone()
    opt = build_optimisation(model, TrainConfig(epochs=1, lr=1e-2, warmup_epochs=0), len(loader), tower)
    stats = train_one_epoch(net, loader, opt, "bce_deep", "cpu", amp=True)
    assert np.isfinite(stats.loss) and stats.steps == 2
    assert any(not torch.equal(v, tower.trained_state()[k]) for k, v in start.items())
    assert torch.equal(frozen, tower.clip.token_embedding.weight)
