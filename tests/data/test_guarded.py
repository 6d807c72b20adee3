"""The guarded reader: symlink escapes, size limit, binary and bad UTF-8 named; --follow-symlinks opts in."""

import json
import os
from pathlib import Path

import pytest

from langir.cli import main
from langir.data import guarded
from langir.errors import DataError


def test_symlink_inside_the_dataset_is_read_one_leaving_it_is_refused(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    (root / "real.txt").write_text("upper left")
    (root / "inside.txt").symlink_to(root / "real.txt")
    (tmp_path / "secret.txt").write_text("root:x:0:0")
    (root / "out.txt").symlink_to(tmp_path / "secret.txt")
    assert guarded.read_text(root / "inside.txt", root=root) == "upper left"
    with pytest.raises(DataError, match="outside the dataset; pass --follow-symlinks"):
        guarded.read_text(root / "out.txt", root=root)
    monkeypatch.setenv(guarded.FOLLOW_SYMLINKS_ENV, "1")
    assert guarded.read_text(root / "out.txt", root=root) == "root:x:0:0"


def test_size_binary_and_encoding_are_named(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a " * 40_000)
    with pytest.raises(DataError, match="larger than 64 KiB"):
        guarded.read_text(big)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"left\x00right")
    with pytest.raises(DataError, match=r"binary data \(byte 4 is 0x00\)"):
        guarded.read_text(binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("près".encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8 text"):
        guarded.read_text(latin)
    assert guarded.read_text(_write(tmp_path / "bom.txt", "\ufefftabs\tand\r\nlines\n".encode())) == "tabs\tand\r\nlines\n"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_follow_symlinks_flag_reaches_the_reader(tmp_path: Path, monkeypatch, capsys) -> None:
    """`langir --follow-symlinks stats` reads a description linked from outside; without it, stats lists it (exit 1)."""
    monkeypatch.setenv(guarded.FOLLOW_SYMLINKS_ENV, "")  # recorded, so the flag set by main() below is undone
    ds = tmp_path / "ds"
    (ds / "images").mkdir(parents=True)
    (ds / "descriptions").mkdir()
    from PIL import Image

    Image.new("L", (8, 8)).save(ds / "images" / "a.png")
    (tmp_path / "shared.txt").write_text("A small target in the upper left.")
    (ds / "descriptions" / "a.description.txt").symlink_to(tmp_path / "shared.txt")
    with pytest.raises(SystemExit) as stop:
        main(["stats", str(ds), "--json"])
    assert stop.value.code == 1
    assert "outside the dataset" in capsys.readouterr().err
    main(["--follow-symlinks", "stats", str(ds), "--json"])  # returns: exit 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["Upper"] for r in rows if r["split"] == "all"] == [1]
    with pytest.raises(SystemExit) as stop:  # the flag held for that command only, not for the next in-process
        main(["stats", str(ds), "--json"])
    assert stop.value.code == 1 and os.environ.get(guarded.FOLLOW_SYMLINKS_ENV) == ""
