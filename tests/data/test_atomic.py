"""The atomic writer: refuses special files, turns disk errors into one line, sweeps dead temps."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from langir.data.atomic import (
    atomic_path,
    ensure_dir,
    save_image_atomic,
    sweep_stale_temps,
    write_text_atomic,
)
from langir.errors import OutputError


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_writes_and_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    write_text_atomic(target, "one\n")
    write_text_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("kind", ["fifo", "folder", "chardev", "proc-fd", "loop"])
def test_refuses_targets_that_are_not_regular_files(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "t"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "chardev":
        target = Path("/dev/null")
    elif kind == "proc-fd":
        read_end, write_end = os.pipe()
        target = Path(f"/proc/self/fd/{write_end}")
    elif kind == "loop":
        target.symlink_to("t")
    before = os.lstat(target)
    with pytest.raises(OutputError, match=rf"cannot write {target}: ") as info:
        write_text_atomic(target, "x")
    assert "\n" not in str(info.value)
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)  # never replaced
    assert not list(tmp_path.glob(".*.tmp"))
    if kind == "proc-fd":
        os.close(read_end)
        os.close(write_end)


def test_symlink_to_regular_file_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.parametrize(("name", "words"), [("ENOSPC", "disk full"), ("EROFS", "read-only"), ("EACCES", "permission denied")])
def test_injected_errors_become_one_line_and_leave_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           name: str, words: str) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    monkeypatch.setenv("LANGIR_FAULT_INJECT", f"{name}@out.csv")
    with pytest.raises(OutputError, match=words):
        write_text_atomic(target, "new\n" * 1000)
    assert target.read_text() == "previous\n"  # the old file is whole
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    write_text_atomic(tmp_path / "other.txt", "fine")  # the hook only hits matching paths


def test_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        write_text_atomic(tmp_path / "file" / "out.txt", "x")


def test_ensure_dir(tmp_path: Path) -> None:
    assert ensure_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"cannot write .*/f: exists and is not a folder"):
        ensure_dir(tmp_path / "f")
    with pytest.raises(OutputError, match="a part of the path is a file"):
        ensure_dir(tmp_path / "f" / "sub")


def test_body_errors_pass_through_and_temp_is_removed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="boom"), atomic_path(tmp_path / "x.bin") as tmp:
        tmp.write_bytes(b"half")
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_stale_temps_of_dead_writers_are_swept(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / f".a.txt.{dead}-0a1b2c3d.tmp"
    stale.write_text("half")
    live = tmp_path / f".b.txt.{os.getppid()}-0a1b2c3d.tmp"  # the parent process is alive
    live.write_text("being written")
    legacy = tmp_path / ".c.txt.k2j4_x9q.tmp"  # tempfile.mkstemp's names from older versions
    legacy.write_text("old")
    os.utime(legacy, (0, 0))
    mine = tmp_path / "notes.tmp"  # not ours: no leading dot
    mine.write_text("user file")
    assert sorted(p.name for p in sweep_stale_temps(tmp_path)) == sorted([stale.name, legacy.name])
    assert live.exists() and mine.exists()


def test_a_rerun_after_a_kill_leaves_no_litter(tmp_path: Path) -> None:
    """A writer killed mid-write leaves its temp; the next run's first write into the folder removes it."""
    code = (
        "import os, sys\n"
        "from langir.data.atomic import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    folder = tmp_path / "descriptions"
    subprocess.run([sys.executable, "-c", code, str(folder / "a.txt")], check=False)
    assert len(list(folder.glob(".a.txt.*.tmp"))) == 1
    subprocess.run([sys.executable, "-c",
                    "import sys; from langir.data.atomic import write_text_atomic; write_text_atomic(sys.argv[1], 'b')",
                    str(folder / "b.txt")], check=True)
    assert sorted(p.name for p in folder.iterdir()) == ["b.txt"]


def test_permissions_follow_umask(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "p.txt", "x")
    finally:
        os.umask(umask)
    assert (tmp_path / "p.txt").stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs root and unshare(1)")
def test_pillow_on_a_real_full_disk_is_one_line(tmp_path: Path) -> None:
    """Pillow saving into a full tmpfs raised `'_idat' object has no attribute 'fileno'`."""
    disk = tmp_path / "disk"
    disk.mkdir()
    code = (
        "import sys, numpy as np\n"
        "from PIL import Image\n"
        "from langir.data.atomic import atomic_path, save_image_atomic\n"
        "from langir.errors import OutputError\n"
        "noise = (np.random.default_rng(0).random((512, 512)) * 255).astype(np.uint8)\n"
        "for how in ('helper', 'raw'):\n"
        "    try:\n"
        "        if how == 'helper':\n"
        "            save_image_atomic(sys.argv[1] + '/a.png', noise)\n"
        "        else:\n"
        "            with atomic_path(sys.argv[1] + '/b.png') as tmp:\n"
        "                Image.fromarray(noise).save(tmp, format='PNG')\n"
        "    except OutputError as e:\n"
        "        print(how, e)\n"
        "import os; print('left', sorted(os.listdir(sys.argv[1])))\n"
    )
    script = f"mount -t tmpfs -o size=64k tmpfs {disk} && exec {sys.executable} -c \"$0\" {disk}"
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    if "mount" in proc.stderr and proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert f"helper cannot write {disk}/a.png: no space left on device" in proc.stdout
    assert f"raw cannot write {disk}/b.png: no space left on device" in proc.stdout
    assert "left []" in proc.stdout


def test_save_image_atomic_round_trip(tmp_path: Path) -> None:
    from PIL import Image

    arr = (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)
    save_image_atomic(tmp_path / "x.png", arr)
    assert (np.asarray(Image.open(tmp_path / "x.png")) == arr).all()


def test_folder_removed_or_replaced_between_writes(tmp_path: Path) -> None:
    """The writer remembers folders it made; one removed since is made again, one replaced by a file is one line."""
    folder = tmp_path / "out" / "descriptions"
    write_text_atomic(folder / "a.txt", "first")
    shutil.rmtree(tmp_path / "out")
    write_text_atomic(folder / "a.txt", "again")
    assert (folder / "a.txt").read_text() == "again"
    shutil.rmtree(tmp_path / "out")
    (tmp_path / "out").write_text("a file where the folder was")
    with pytest.raises(OutputError, match="out"):
        write_text_atomic(folder / "b.txt", "x")
    assert (tmp_path / "out").read_text() == "a file where the folder was"


def test_large_write_through_the_descriptor_is_whole(tmp_path: Path) -> None:
    data = os.urandom(3 * 2**20 + 17)
    from langir.data.atomic import write_bytes_atomic

    write_bytes_atomic(tmp_path / "big.bin", data)
    assert (tmp_path / "big.bin").read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]
