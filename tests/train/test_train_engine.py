"""Training engine on a tiny model: loss goes down, resume == uninterrupted, errors, checkpoints, predict."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import torch

from langir.data.dataset import LangIRDataset
from langir.errors import ConfigError, DataError
from langir.evaluate.inference import predict_dataset
from langir.models.checkpoint import load_checkpoint
from langir.train import engine
from langir.train.config import TrainConfig
from langir.train.optim import lr_factor
from tests.train import tiny


@pytest.fixture
def registry():
    tiny.register()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tiny.make_dataset(tmp_path_factory.mktemp("eng") / "ds")


def cfg(root, out, **kw) -> TrainConfig:
    base = dict(dataset=str(root), out=str(out), model="tiny", epochs=2, batch_size=2, size=32, warmup_epochs=0,
                lr=1e-2, clip_model="langir-tiny", clip_pretrained="", device="cpu", tensorboard=False)
    base.update(kw)
    return TrainConfig(**base)


def test_two_epochs_lower_the_loss_and_write_the_run(registry, data_root, tmp_path):
    summary = engine.train(cfg(data_root, tmp_path / "run", epochs=3), quiet=True)
    losses = [float(r["train_loss"]) for r in summary["rows"]]
    assert losses[-1] < losses[0]
    run = tmp_path / "run"
    for name in ("last.pt", "best.pt", "metrics.csv", "config.toml", "loss_iou.png"):
        assert (run / name).is_file(), name
    saved = tomllib.loads((run / "config.toml").read_text())["train"]
    assert saved["model"] == "tiny" and saved["epochs"] == 3 and saved["language_prior"] == "auto"
    assert summary["language_prior"] == "train-only" and summary["loss"] == "bce_deep"
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "val_iou" in header and "val_fa" in header
    model, meta = load_checkpoint(run / "best.pt")
    assert meta["model"] == "tiny" and meta["language_prior"] == "train-only" and "iou" in meta["best"]


def test_resume_matches_uninterrupted(registry, data_root, tmp_path):
    full = engine.train(cfg(data_root, tmp_path / "full", epochs=3, warmup_epochs=1), quiet=True)
    engine.train(cfg(data_root, tmp_path / "cut", epochs=3, warmup_epochs=1), stop_after_epoch=1, quiet=True)
    resumed = engine.train(cfg(data_root, tmp_path / "cut", epochs=3, warmup_epochs=1), resume=True, quiet=True)
    assert resumed["epochs_run"] == 2 and resumed["embeddings_computed"] == 0
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    for key, value in a["model_state"].items():
        assert torch.equal(value, b["model_state"][key]), key
    assert [r["train_loss"] for r in full["rows"]] == [r["train_loss"] for r in resumed["rows"]]


def test_second_run_computes_no_embedding(registry, data_root, tmp_path):
    engine.train(cfg(data_root, tmp_path / "a", epochs=1), quiet=True)
    again = engine.train(cfg(data_root, tmp_path / "b", epochs=1), quiet=True)
    assert again["embeddings_computed"] == 0


def test_never_prior_needs_no_descriptions_and_softiou_model(registry, tmp_path):
    root = tiny.make_dataset(tmp_path / "nodesc", n=4, descriptions=False)
    summary = engine.train(cfg(root, tmp_path / "run", model="tinyplain", epochs=1), quiet=True)
    assert summary["language_prior"] == "never" and summary["loss"] == "softiou"
    with pytest.raises(ConfigError, match="XDU0"):
        engine.train(cfg(root, tmp_path / "run2", epochs=1), quiet=True)
    with pytest.raises(ConfigError, match="no language input"):
        engine.train(cfg(root, tmp_path / "run3", model="tinyplain", language_prior="train-only"), quiet=True)


def test_error_cases(registry, data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA"):
        engine.train(cfg(data_root, tmp_path / "x", device="cuda"), quiet=True)
    with pytest.raises(ConfigError, match="size"):
        engine.train(cfg(data_root, tmp_path / "x", size=50), quiet=True)
    engine.train(cfg(data_root, tmp_path / "r", epochs=1), quiet=True)
    with pytest.raises(ConfigError, match="model 'tiny'"):
        load_checkpoint(tmp_path / "r" / "last.pt", expect_model="tinyplain")
    with pytest.raises(ConfigError, match="model 'tiny'"):
        engine.train(cfg(data_root, tmp_path / "r", model="tinyplain", language_prior="never"), resume=True, quiet=True)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="bad.pt"):
        load_checkpoint(tmp_path / "bad.pt")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(registry, data_root, tmp_path, monkeypatch):
    run = tmp_path / "nan"
    engine.train(cfg(data_root, run, epochs=1), quiet=True)
    good = (run / "last.pt").read_bytes()
    real = engine.compute_loss
    monkeypatch.setattr(engine, "compute_loss", lambda *a: real(*a) * float("nan"))
    with pytest.raises(engine.TrainingDiverged, match="last good checkpoint"):
        engine.train(cfg(data_root, run, epochs=3), resume=True, quiet=True)
    assert (run / "last.pt").read_bytes() == good


def test_predict_native_resolution_and_language_modes(registry, data_root, tmp_path):
    engine.train(cfg(data_root, tmp_path / "p", epochs=1), quiet=True)
    ds = LangIRDataset.open(data_root, "auto", None, None, None, None)
    ids = ds.ids("test")
    results = dict(predict_dataset(tmp_path / "p" / "best.pt", ds, ids, device="cpu"))
    assert list(results) == ids
    for sid, prob in results.items():
        assert prob.shape == ds.read_image(sid).shape and prob.dtype == np.float32
        assert prob.min() >= 0.0 and prob.max() <= 1.0
    # train+test feeds text too, so the language-aware model's output changes.
    model, meta = load_checkpoint(tmp_path / "p" / "best.pt")
    with torch.no_grad():
        torch.nn.init.normal_(model.film.weight, std=1.0)
    img_only = dict(predict_dataset((model, dict(meta)), ds, ids, device="cpu"))
    with_text = dict(predict_dataset((model, {**meta, "language_prior": "train+test"}), ds, ids, device="cpu"))
    assert not np.allclose(img_only[ids[0]], with_text[ids[0]])


def test_lr_schedule_warmup_then_decay():
    f = [lr_factor(s, 100, 10, "cosine") for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:], strict=False)) and f[-1] < 0.01
    p = [lr_factor(s, 100, 0, "poly") for s in range(100)]
    assert p[0] == 1.0 and p[50] == pytest.approx(0.5 ** 0.9, rel=1e-3)


def _plot_of(run, tmp_path):
    """What loss_iou.png must be: metrics.csv's rows drawn afresh."""
    from langir.train.callbacks import read_csv
    from langir.train.plots import plot_training

    fresh = tmp_path / f"fresh-{run.name}"
    fresh.mkdir()
    return plot_training(fresh, read_csv(run / "metrics.csv"), name=run.name).read_bytes()


def test_the_plot_shows_every_epoch_when_the_run_ends_or_is_stopped(registry, data_root, tmp_path, monkeypatch):
    # Redrawn at most every 30 s (a redraw costs as much as a small set's epoch), yet never left behind.
    run = tmp_path / "run"
    engine.train(cfg(data_root, run, epochs=4), quiet=True)
    assert (run / "loss_iou.png").read_bytes() == _plot_of(run, tmp_path)

    real, stopped = engine.train_one_epoch, tmp_path / "stopped"

    def ctrl_c_in_epoch_3(*args, **kwargs):
        if kwargs["epoch"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "train_one_epoch", ctrl_c_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        engine.train(cfg(data_root, stopped, epochs=4), quiet=True)
    assert len((stopped / "metrics.csv").read_text().splitlines()) == 3  # header + epochs 1, 2
    assert (stopped / "loss_iou.png").read_bytes() == _plot_of(stopped, tmp_path)


def test_resume_with_other_workers_says_it_will_not_repeat_the_run_exactly(registry, data_root, tmp_path, capfd):
    run = tmp_path / "run"
    engine.train(cfg(data_root, run, epochs=2), stop_after_epoch=1, quiet=True)
    capfd.readouterr()
    engine.train(cfg(data_root, run, epochs=2, workers=1), resume=True)
    err = " ".join(capfd.readouterr().err.split())
    assert "--workers 1 (the run had 0)" in err and "--workers 0 does" in err, err
    engine.train(cfg(data_root, run, epochs=3, workers=1), resume=True)  # as the last part ran: no notice
    assert "--workers" not in capfd.readouterr().err
