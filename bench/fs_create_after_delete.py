"""Kernel CPU to create a file right after many were deleted, on the file systems given.

Every description `describe` writes is one new file. On an ext4 without a journal, the inode allocator skips
inodes freed in the last seconds and reads the inode table for each (`fs/ext4/ialloc.c`, `recently_deleted`),
so a create costs more the more files were just deleted nearby. This probe isolates that: in each folder it
times creates on a quiet file system, then right after deleting `--deleted` files, then after `--wait` s.

    python bench/fs_create_after_delete.py /mnt/with-journal /mnt/without-journal /dev/shm
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def create_ms(folder: Path, n: int) -> float:
    """CPU ms (user + system of this process) to create and close one new file in `folder`."""
    folder.mkdir()
    t0 = time.process_time()
    for i in range(n):
        os.close(os.open(folder / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    return round(1000 * (time.process_time() - t0) / n, 4)


def make_and_delete(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        (folder / f"d{i}").write_bytes(b"x" * 64)
    shutil.rmtree(folder)


def journal_of(folder: Path) -> str:
    """'journal', 'no journal' (ext4), or the file system's type."""
    dev = os.stat(folder).st_dev
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        major, minor = (int(x) for x in fields[2].split(":"))
        if os.makedev(major, minor) == dev:
            fstype, source = fields[fields.index("-") + 1], fields[fields.index("-") + 2]
            if fstype != "ext4":
                return fstype
            name = Path(source).name
            jbd2 = Path("/proc/fs/jbd2")
            has = jbd2.is_dir() and any(p.name.startswith(name + "-") for p in jbd2.iterdir())
            return "ext4, journal" if has else "ext4, no journal"
    return "unknown"


def probe(root: Path, deleted: int, n: int, wait: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmp_path = Path(tmp)
        quiet = create_ms(tmp_path / "quiet", n)
        make_and_delete(tmp_path / "gone", deleted)
        after = create_ms(tmp_path / "after", n)
        time.sleep(wait)
        later = create_ms(tmp_path / "later", n)
    return {"folder": str(root), "fs": journal_of(root), "quiet_ms": quiet,
            f"after_deleting_{deleted}_ms": after, f"after_{wait:g}s_more_ms": later}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--deleted", type=int, default=4000, help="files created then deleted before the second probe")
    parser.add_argument("--creates", type=int, default=1000, help="files created per probe")
    parser.add_argument("--wait", type=float, default=10.0)
    args = parser.parse_args()
    for folder in args.folders:
        print(json.dumps(probe(folder, args.deleted, args.creates, args.wait)), flush=True)


if __name__ == "__main__":
    main()
