"""Run folders are never replaced silently, a kill loses nothing, bad samples are listed before epoch 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from langir.errors import ConfigError, DataError
from langir.models.checkpoint import read_checkpoint
from langir.train import callbacks, engine
from langir.train.config import TrainConfig
from tests.train import tiny


@pytest.fixture(autouse=True)
def registry():
    tiny.register()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tiny.make_dataset(tmp_path_factory.mktemp("safety") / "ds")


def cfg(root, out, **kw) -> TrainConfig:
    base = dict(dataset=str(root), out=str(out), model="tinyplain", epochs=1, batch_size=2, size=32, warmup_epochs=0,
                lr=1e-2, device="cpu", tensorboard=False, language_prior="never")
    base.update(kw)
    return TrainConfig(**base)


def test_existing_run_needs_resume_or_overwrite(data_root, tmp_path):
    run = tmp_path / "run"
    engine.train(cfg(data_root, run), quiet=True)
    before = (run / "last.pt").read_bytes()
    with pytest.raises(ConfigError, match="--resume .* --overwrite"):
        engine.train(cfg(data_root, run), quiet=True)
    assert (run / "last.pt").read_bytes() == before  # untouched
    (run / ".last.pt.abc.tmp").write_bytes(b"x" * 100)  # a kill during a write
    summary = engine.train(cfg(data_root, run, epochs=1, seed=3), overwrite=True, quiet=True)
    assert summary["epochs_run"] == 1 and not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))
    assert read_checkpoint(run / "last.pt")["meta"]["config"]["seed"] == 3


def test_kill_between_metrics_and_last_pt_loses_no_row(data_root, tmp_path, monkeypatch):
    run = tmp_path / "run"
    engine.train(cfg(data_root, run, epochs=3), stop_after_epoch=1, quiet=True)
    real = callbacks.save_checkpoint

    def killed(path, *args, **kwargs):  # dies right where a kill would cost the epoch-2 row on the old engine
        if path.name == "last.pt":
            (path.parent / ".last.pt.x.tmp").write_bytes(b"partial")
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(callbacks, "save_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        engine.train(cfg(data_root, run, epochs=3), resume=True, quiet=True)
    assert [r.split(",")[0] for r in (run / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2"]
    monkeypatch.setattr(callbacks, "save_checkpoint", real)
    summary = engine.train(cfg(data_root, run, epochs=3), resume=True, quiet=True)
    assert [int(r["epoch"]) for r in summary["rows"]] == [1, 2, 3]
    assert [r.split(",")[0] for r in (run / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]
    assert not list(run.glob(".*.tmp"))
    assert [int(r["epoch"]) for r in read_checkpoint(run / "last.pt")["meta"]["rows"]] == [1, 2, 3]


def test_checkpoint_holds_only_plain_types(data_root, tmp_path):
    run = tmp_path / "run"
    engine.train(cfg(data_root, run), quiet=True)
    payload = torch.load(run / "last.pt", weights_only=True)  # no custom classes anywhere
    assert payload["meta"]["model"] == "tinyplain" and "optimizer" in payload["state"]


def _break_mask(root, sample_id):
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(root / "masks" / f"{sample_id}.png")


def test_bad_samples_listed_at_once_and_skipped_on_request(tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=6)
    _break_mask(root, "XDU1")
    _break_mask(root, "XDU5")  # one in trainval, one in test
    with pytest.raises(DataError) as error:
        engine.train(cfg(root, tmp_path / "r"), quiet=True)
    assert "XDU1" in str(error.value) and "XDU5" in str(error.value) and "--skip-bad" in str(error.value)
    assert not (tmp_path / "r" / "last.pt").exists()  # stopped before epoch 1
    summary = engine.train(cfg(root, tmp_path / "r", skip_bad=True), quiet=True)
    assert summary["skipped"] == ["XDU1", "XDU5"] and summary["train_images"] == 3 and summary["val_images"] == 1


def test_community_split_by_default(tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=6)
    for name, ids in (("train", ["XDU0", "XDU1"]), ("val", ["XDU2"])):
        (root / f"{name}.txt").write_text("\n".join(ids) + "\n")
    summary = engine.train(cfg(root, tmp_path / "r"), quiet=True)
    assert (summary["train_images"], summary["val_images"]) == (4, 2)  # trainval → test, not train → val
    summary = engine.train(cfg(root, tmp_path / "r2", train_split="train", val_split="val"), quiet=True)
    assert (summary["train_images"], summary["val_images"]) == (2, 1)


def test_two_datasets_at_once(tmp_path):
    a = tiny.make_dataset(tmp_path / "a", n=4)
    b = tiny.make_dataset(tmp_path / "b", n=6)
    summary = engine.train(cfg(a, tmp_path / "r", more_datasets=[str(b)]), quiet=True)
    assert (summary["train_images"], summary["val_images"]) == (2 + 4, 2 + 2)


def test_init_from_takes_weights_not_optimizer(data_root, tmp_path):
    engine.train(cfg(data_root, tmp_path / "a", epochs=2), quiet=True)
    start = read_checkpoint(tmp_path / "a" / "last.pt")["model_state"]
    summary = engine.train(cfg(data_root, tmp_path / "b", epochs=1, lr=1e-9, init_from=str(tmp_path / "a" / "last.pt")), quiet=True)
    assert summary["last_epoch"] == 1
    after = read_checkpoint(tmp_path / "b" / "last.pt")["model_state"]
    assert all(torch.allclose(start[k].float(), after[k].float(), atol=1e-5) for k in start)  # lr ≈ 0: the weights it started from
    with pytest.raises(DataError, match="do not fit"):
        engine.train(cfg(data_root, tmp_path / "c", model="tiny", model_kwargs={"width": 4},
                         init_from=str(tmp_path / "a" / "last.pt")), quiet=True)


def test_read_only_dataset_uses_user_cache(tmp_path, monkeypatch):
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    root = tiny.make_dataset(tmp_path / "ro", n=4)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "usercache"))
    os.chmod(root, 0o555)
    try:
        summary = engine.train(cfg(root, tmp_path / "r", model="tiny", language_prior="train-only", clip_model="langir-tiny",
                                   clip_pretrained=""), quiet=True)
    finally:
        os.chmod(root, 0o755)
    assert summary["embeddings_computed"] > 0 and list((tmp_path / "usercache" / "langir" / "embeddings").rglob("*.npy"))


def test_missing_tensorboard_is_one_notice_and_recorded(data_root, tmp_path, monkeypatch, capsys):
    import sys
    import tomllib

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed: `import tensorboard` fails
    engine.train(cfg(data_root, tmp_path / "run", tensorboard=True), quiet=False)
    err = capsys.readouterr().err
    assert err.count("tensorboard is not installed") == 1
    assert tomllib.loads((tmp_path / "run" / "config.toml").read_text())["train"]["tensorboard"] is False
    assert not (tmp_path / "run" / "tb").exists()


@pytest.mark.parametrize("where", ["first_step", "first_last_pt"])
def test_resume_after_ctrl_c_in_the_first_epoch_starts_it_cleanly(data_root, tmp_path, monkeypatch, capsys, where):
    """Ctrl-C before any last.pt exists: --resume starts the run from epoch 1 with one notice line (its saved config)."""
    run = tmp_path / "run"
    real_epoch, real_save = engine.train_one_epoch, callbacks.save_checkpoint

    def interrupted_epoch(*args, **kwargs):
        raise KeyboardInterrupt

    def interrupted_save(path, *args, **kwargs):
        if path.name == "last.pt":
            raise KeyboardInterrupt
        return real_save(path, *args, **kwargs)

    if where == "first_step":
        monkeypatch.setattr(engine, "train_one_epoch", interrupted_epoch)
    else:
        monkeypatch.setattr(callbacks, "save_checkpoint", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        engine.train(cfg(data_root, run, epochs=2, seed=5), quiet=True)
    assert not (run / "last.pt").exists() and (run / "config.toml").is_file()
    monkeypatch.setattr(engine, "train_one_epoch", real_epoch)
    monkeypatch.setattr(callbacks, "save_checkpoint", real_save)
    capsys.readouterr()
    summary = engine.train(cfg(data_root, run, epochs=2), resume=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if "nothing to resume" in line]
    assert len(lines) == 1 and "starting it from epoch 1" in lines[0]
    assert [int(r["epoch"]) for r in summary["rows"]] == [1, 2] and "nothing to resume" in summary["note"]
    assert read_checkpoint(run / "last.pt")["meta"]["config"]["seed"] == 5  # the interrupted run's own config
    # the same run started without an interrupt gives the same weights
    engine.train(cfg(data_root, tmp_path / "straight", epochs=2, seed=5), quiet=True)
    a = read_checkpoint(run / "last.pt")["model_state"]
    b = read_checkpoint(tmp_path / "straight" / "last.pt")["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_resume_where_no_run_ever_started_is_refused(cli, data_root, tmp_path):
    run = tmp_path / "never-started"
    res = cli("train", data_root, "--model", "tinyplain", "--language-prior", "never", "--out", run, "--resume",
              "--epochs", "1", "--size", "32", "--batch-size", "2", "--device", "cpu", "--no-tensorboard")
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.code == 2 and len(lines) == 1 and "holds no run" in lines[0] and "drop --resume" in lines[0], res.stderr
    assert not (run / "last.pt").exists()
