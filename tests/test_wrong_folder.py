"""Every dataset command on a wrong folder (issue 22 §3): one line naming the pattern looked for, exit 2,
nothing created; writing commands say where they wrote; tables stay readable when piped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PATTERN = "no images found: looked for images/{id}.png"


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _commands(folder: Path, tmp_path: Path) -> list[tuple[str, ...]]:
    return [
        ("info", folder), ("validate", folder), ("report", folder, "--out", tmp_path / "card"), ("stats", folder),
        ("describe", folder), ("describe", folder, "--dry-run"), ("pack", folder, tmp_path / "packed"),
        ("curate", folder, "--provider", "template"), ("embed", folder), ("eval", "--dataset", folder, "--preds", tmp_path),
        ("train", folder, "--out", tmp_path / "run"),
    ]


@pytest.mark.parametrize("kind", ["empty", "images-folder-itself"])
def test_every_command_on_a_wrong_folder_is_one_line_exit_2_nothing_created(kind, tmp_path, demo_root, cli):
    if kind == "empty":
        folder = tmp_path / "empty"
        folder.mkdir()
    else:  # `langir describe demo/images`: used to create demo/images/.langir/
        folder = tmp_path / "images"
        for src in sorted((demo_root / "images").iterdir())[:3]:
            (folder / src.name).parent.mkdir(exist_ok=True)
            (folder / src.name).write_bytes(src.read_bytes())
    before = _tree(tmp_path)
    for args in _commands(folder, tmp_path):
        res = cli(*args)
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert res.code == 2, (args, res.stdout, res.stderr)
        assert len(lines) == 1 and lines[0].startswith(f"error: {folder}: {PATTERN}"), (args, res.stderr)
        if kind == "images-folder-itself":
            assert "this folder holds 3 image(s) itself: pass the dataset folder" in lines[0]
        assert res.stdout == ""
        assert _tree(tmp_path) == before, args  # no .langir/, no card, no pack, no run folder


def test_describe_and_curate_say_where_they_wrote(demo_copy, cli):
    res = cli("describe", demo_copy, "--provider", "template")
    assert res.code == 0, res.stderr
    assert f"descriptions: {demo_copy / 'descriptions'} (32 written); ledger: {demo_copy / '.langir' / 'describe.sqlite'}" in res.stderr
    res = cli("curate", demo_copy, "--provider", "template", "--rounds", "1")
    assert res.code == 0, res.stderr
    assert f"descriptions: {demo_copy / 'descriptions'}; ledger: {demo_copy / '.langir' / 'describe.sqlite'}" in res.stderr


def test_tables_are_not_cut_when_piped(demo_copy):
    """`langir curate … | cat`: a pipe has no width; rich assumed 80 columns and cut headers to "strat…"."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["PYTHONPATH"] = str(REPO)
    run = subprocess.run([sys.executable, "-m", "langir", "curate", str(demo_copy), "--provider", "template", "--rounds", "1"],
                         capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    header = next(line for line in run.stdout.splitlines() if "┃ round" in line)
    for head in ("strategy", "answers", "total cost", "agreement", "failing"):
        assert head in header, header
    assert "…" not in run.stdout and "describe (system)" in run.stdout
