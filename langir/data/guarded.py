"""The guarded reader for files a user hands us: regular files only, a size limit, no symlink escapes.

`open_regular` (imageio) refuses folders, FIFOs and devices before reading a byte. This module adds
the two rules a dataset needs on top:
- **containment**: a file that lies in the dataset folder but is a symlink (or sits under a
  symlinked folder) resolving *outside* it is refused — `pack` would otherwise publish `/etc/passwd`
  as a description. `--follow-symlinks` (env `LANGIR_FOLLOW_SYMLINKS=1`) allows it, for sets built
  from links into shared storage;
- **text**: a size limit checked while reading (a 10 MB "description" never reaches the parser),
  NUL bytes or other binary content named as such, invalid UTF-8 named with its byte offset.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from langir.data.imageio import open_regular
from langir.errors import DataError

FOLLOW_SYMLINKS_ENV = "LANGIR_FOLLOW_SYMLINKS"
MAX_DESCRIPTION_BYTES = 64 * 1024  # a LangIR text is ≤ 50 words; 64 KiB leaves room for a verbose VLM answer
# C0 controls other than tab, newline, vertical tab, form feed and carriage return: text files do not hold them.
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f]")


def follow_symlinks() -> bool:
    """Whether symlinks leaving the dataset are followed (`--follow-symlinks`)."""
    return os.environ.get(FOLLOW_SYMLINKS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def check_inside(path: str | Path, root: str | Path, what: str = "file") -> Path:
    """`path` itself; a DataError when it lies under `root` but resolves outside it (a symlink escape)."""
    path = Path(path)
    if follow_symlinks():
        return path
    root_abs = Path(os.path.abspath(root))
    lexical = Path(os.path.abspath(path))
    if not lexical.is_relative_to(root_abs):
        return path  # the layout itself points elsewhere: not an escape
    real, real_root = Path(os.path.realpath(lexical)), Path(os.path.realpath(root_abs))
    if not real.is_relative_to(real_root):
        raise DataError(path, f"{what} is a symlink to {real}, outside the dataset; "
                              "pass --follow-symlinks to read it")
    return path


def read_bytes(path: str | Path, what: str = "file", max_bytes: int = 2**30, root: str | Path | None = None) -> bytes:
    """The bytes of a regular file under the rules above (`root`: the dataset folder for containment)."""
    path = Path(path)
    if root is not None:
        check_inside(path, root, what)
    with open_regular(path, what) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        size = f"{max_bytes // 1024} KiB" if max_bytes < 2**20 else f"{max_bytes // 2**20} MiB"
        raise DataError(path, f"{what} is larger than {size}; is it the right file?")
    return data


def decode_text(data: bytes, path: str | Path, what: str = "file") -> str:
    """UTF-8 text (BOM allowed) of `data`; binary content and bad bytes are one DataError naming `path`."""
    binary = _BINARY.search(data)
    if binary is not None:
        at = binary.start()
        raise DataError(path, f"{what} holds binary data (byte {at} is 0x{data[at]:02x}); it is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(path, f"{what} is not valid UTF-8 text (bad byte at offset {error.start})") from None


def read_text(path: str | Path, what: str = "file", max_bytes: int = MAX_DESCRIPTION_BYTES,
              root: str | Path | None = None) -> str:
    """A small text file read through the guarded reader."""
    return decode_text(read_bytes(path, what, max_bytes, root), path, what)
