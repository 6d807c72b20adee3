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


def test_read_bytes_reads_exactly_the_file_up_to_its_limit(tmp_path: Path) -> None:
    """The read is sized by fstat (no limit-sized allocation), yet every byte up to the limit is read, a file
    one byte over is refused, and a file whose size the kernel does not report (/proc) is read whole."""
    for size in (0, 1, 4095, 4096, 70_000):
        path = tmp_path / f"f{size}"
        path.write_bytes(os.urandom(size))
        assert guarded.read_bytes(path, max_bytes=70_000) == path.read_bytes()
    with pytest.raises(DataError, match="larger than"):
        guarded.read_bytes(tmp_path / "f70000", max_bytes=69_999)
    status = guarded.read_bytes("/proc/self/status", max_bytes=1 << 20)
    assert status.startswith(b"Name:") and len(status) > 100
    with pytest.raises(DataError, match="larger than"):
        guarded.read_bytes("/proc/self/status", max_bytes=50)


def test_image_read_from_memory_is_the_whole_file(tmp_path: Path) -> None:
    """Images up to 1 MiB are read at once, sized by fstat: every pixel of a frame of any size decodes."""
    import numpy as np
    from PIL import Image

    from langir.data.imageio import read_grey8

    rng = np.random.default_rng(3)
    for shape in ((1, 1), (64, 64), (700, 700), (1100, 1100)):  # the last is over 1 MiB: streamed
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        path = tmp_path / f"{shape[0]}.png"
        Image.fromarray(pixels).save(path, compress_level=0)
        read, plain = read_grey8(path)
        assert np.array_equal(read, pixels)
        assert (plain == path.read_bytes()) if path.stat().st_size <= 1 << 20 else plain is None


def test_file_over_the_limit_is_refused_from_its_size_without_reading_it(tmp_path: Path) -> None:
    import time

    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as fh:
        fh.truncate(3 * 2**30)  # sparse: 3 GiB that were never written
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="larger than 1 MiB"):
        guarded.read_bytes(huge, max_bytes=2**20)
    assert time.perf_counter() - t0 < 0.5  # not read (a 1 MiB read, let alone 3 GiB, is never attempted)
