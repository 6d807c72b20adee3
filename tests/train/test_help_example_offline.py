"""`langir train --help`'s example runs as written on the demo set without network (issue 22 §2)."""

from __future__ import annotations

import re
import shlex

import pytest

pytest.importorskip("open_clip")


@pytest.mark.slow
def test_train_help_example_runs_offline(demo_copy, tmp_path, cli, monkeypatch):
    help_text = " ".join(cli("train", "--help").stdout.split())
    example = re.search(r"Example \(offline, after `langir describe datasets/demo`\): (langir train .*?--out runs/demo)", help_text)
    assert example, help_text[-600:]
    argv = shlex.split(example.group(1))[1:]
    assert argv[:2] == ["train", "datasets/demo"] and "langir-tiny" in argv
    argv[1] = str(demo_copy)
    argv[argv.index("--out") + 1] = str(tmp_path / "runs" / "demo")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no weights can come from anywhere
    assert cli("describe", demo_copy, "--provider", "template").code == 0  # "after `langir describe datasets/demo`"
    done = cli(*argv)
    assert done.code == 0, done.stderr
    assert (tmp_path / "runs" / "demo" / "best.pt").is_file() and f"done: {tmp_path / 'runs' / 'demo'}" in done.stderr
    assert "WARNING" not in done.stderr and "pretrained" not in done.stderr.lower(), done.stderr
