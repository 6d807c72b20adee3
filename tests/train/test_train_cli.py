"""`langir train` and `langir embed` from the command line (tiny model registry, tiny CLIP)."""

from __future__ import annotations

import json
import tomllib

import pytest

from tests.train import tiny

TINY = ["--clip-model", "langir-tiny", "--clip-pretrained", "none"]


@pytest.fixture
def registry():
    tiny.register()


def test_embed_twice_computes_nothing_new(cli, tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    first = cli("embed", root, *TINY, "--device", "cpu", "--json")
    assert first.code == 0, first.stderr
    data = json.loads(first.stdout)
    # 4 images + 4 distinct texts (upper/lower × left/right: flip variants dedupe by content) + their 4 transposes
    assert data["images"] == 4 and data["computed"] == 4 + 4 + 4
    second = json.loads(cli("embed", root, *TINY, "--device", "cpu", "--json").stdout)
    assert second["computed"] == 0
    plain = json.loads(cli("embed", root, *TINY, "--device", "cpu", "--no-transpose", "--json", "--cache-dir", tmp_path / "c").stdout)
    assert plain["computed"] == 4 + 4 and plain["cache"].startswith(str(tmp_path / "c"))


def test_train_cli_with_config_file_flags_win(cli, registry, tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    conf = tmp_path / "c.toml"
    conf.write_text('[train]\nmodel = "tiny"\nepochs = 5\nsize = 32\nbatch_size = 2\nwarmup_epochs = 0\ntensorboard = false\n')
    run = tmp_path / "run"
    res = cli("train", root, "--config", conf, "--epochs", "1", "--device", "cpu", *TINY, "--out", run, "--json")
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["last_epoch"] == 1
    saved = tomllib.loads((run / "config.toml").read_text())["train"]
    assert saved["epochs"] == 1 and saved["size"] == 32 and saved["model"] == "tiny"
    # Resume with more epochs continues from epoch 2.
    res = cli("train", root, "--model", "tiny", "--epochs", "2", "--out", run, "--resume", "--device", "cpu", "--json")
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["epochs_run"] == 1


def test_train_cli_errors_are_one_line(cli, registry, tmp_path, monkeypatch):
    root = tiny.make_dataset(tmp_path / "nodesc", n=4, descriptions=False)
    res = cli("train", root, "--model", "tiny", "--epochs", "1", "--size", "32", "--device", "cpu", *TINY, "--out", tmp_path / "r")
    assert res.code == 2 and "XDU0" in res.stderr and "Traceback" not in res.stderr
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    res = cli("train", root, "--model", "tinyplain", "--device", "cuda", "--out", tmp_path / "r2")
    assert res.code == 2 and "CUDA" in res.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = 'many'\n")
    res = cli("train", root, "--config", bad)
    assert res.code == 2 and "epochs" in res.stderr
    res = cli("train", root, "--model", "tinyplain", "--out", tmp_path / "none", "--resume")
    assert res.code == 2 and "last.pt" in res.stderr


def test_embed_refuses_a_cache_linked_out_of_the_set(cli, tmp_path, monkeypatch):
    """`DATASET/.langir` linked elsewhere: one line naming the link and --follow-symlinks (or --cache-dir);
    nothing written through it; followed on request."""
    monkeypatch.setenv("LANGIR_FOLLOW_SYMLINKS", "")  # the in-process --follow-symlinks below sets it: undone after
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / ".langir").symlink_to(outside)
    refused = cli("embed", root, *TINY, "--device", "cpu")
    assert refused.code == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "outside the dataset" in lines[0] and "--follow-symlinks" in lines[0], refused.stderr
    assert list(outside.iterdir()) == []
    followed = cli("--follow-symlinks", "embed", root, *TINY, "--device", "cpu")
    assert followed.code == 0, followed.stderr
    assert list((outside / "embeddings").iterdir())
