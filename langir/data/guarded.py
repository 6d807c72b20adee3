"""The one guarded reader for files a user hands us: regular files only, a size limit, no symlink escapes.

Every read of a user file — images, masks, descriptions, split files, `langir.toml`, answer-target
JSON, price tables, prompt files — opens it through `open_regular` here:
- **special files**: opened non-blocking and checked with fstat before a byte is read, so a FIFO
  neither hangs nor is read; folders, devices, sockets, symlink loops are one DataError;
- **size**: a limit suited to the kind of file (`LIMITS`), checked while reading (a 10 MB
  "description" never reaches the parser);
- **containment**: a file that lies in the dataset folder but is a symlink (or sits under a
  symlinked folder) resolving *outside* it is refused — `pack` would otherwise publish `/etc/passwd`
  as a description. `--follow-symlinks` (env `LANGIR_FOLLOW_SYMLINKS=1`) allows it, for sets built
  from links into shared storage;
- **text**: NUL bytes or other binary content named as such, invalid UTF-8 named with its byte offset.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Any, BinaryIO

from langir.data.atomic import file_kind
from langir.errors import DataError

FOLLOW_SYMLINKS_ENV = "LANGIR_FOLLOW_SYMLINKS"
MAX_DESCRIPTION_BYTES = 64 * 1024  # a LangIR text is ≤ 50 words; 64 KiB leaves room for a verbose VLM answer
MAX_IMAGE_BYTES = 2**29  # 512 MiB: an uncompressed 16-bit RGBA TIFF at the default 2^26-pixel budget
# The most bytes read from one file of each kind: far above any genuine one, far below what hurts.
LIMITS: dict[str, int] = {
    "description": MAX_DESCRIPTION_BYTES,
    "image": MAX_IMAGE_BYTES,
    "mask": MAX_IMAGE_BYTES,
    "split file": 64 * 2**20,  # a million ids
    "ids file": 64 * 2**20,
    "config file": 2**20,
    "answer targets": 4_000_000,
    "price table": 2**20,
    "prompt file": 256 * 1024,
}
DEFAULT_LIMIT = 2**30
# C0 controls other than tab, newline, vertical tab, form feed and carriage return: text files do not hold them.
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f]")


def as_path(path: str | Path) -> Path:
    """`path` as a Path, one that already is one as it is: `Path(a_path)` parses every part again (≈ 8 µs,
    several times for each image a describe run sends)."""
    return path if isinstance(path, Path) else Path(path)


def follow_symlinks() -> bool:
    """Whether symlinks leaving the dataset are followed (`--follow-symlinks`)."""
    return os.environ.get(FOLLOW_SYMLINKS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def limit_for(what: str) -> int:
    """The size limit for a kind of file (`LIMITS`), 1 GiB for others."""
    return LIMITS.get(what, DEFAULT_LIMIT)


def _size_words(max_bytes: int) -> str:
    return f"{max_bytes // 1024} KiB" if max_bytes < 2**20 else f"{max_bytes // 2**20} MiB"


def check_inside(path: str | Path, root: str | Path, what: str = "file", use: str = "read") -> Path:
    """`path` itself; a DataError when it lies under `root` but resolves outside it (a symlink escape).
    `use`: the verb the message ends with ("pass --follow-symlinks to read it")."""
    path = as_path(path)
    if follow_symlinks():
        return path
    # strings, not Path objects: this runs twice per image a describe run sends (pathlib's parsing cost more
    # than the realpath itself)
    root_abs = os.path.abspath(root)
    lexical = os.path.abspath(path)
    if not _under(lexical, root_abs):
        return path  # the layout itself points elsewhere: not an escape
    if not _link_below(root_abs, lexical):
        return path  # no symlink between the root and the file: it resolves inside the root
    real = os.path.realpath(lexical)
    if not _under(real, os.path.realpath(root_abs)):
        raise DataError(path, f"{what} is a symlink to {real}, outside the dataset; "
                              f"pass --follow-symlinks to {use} it")
    return path


def _link_below(root: str, path: str) -> bool:
    """Whether any part of `path` below `root` is a symlink (or cannot be looked at): two or three lstat
    calls, where resolving the whole path lstat's every part from `/` (a tenth of an image read's CPU)."""
    current = root
    for part in path[len(root):].split(os.sep):
        if not part:
            continue
        current = os.path.join(current, part)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return True
        except OSError:  # missing or unreadable: the full resolution below decides, as it always did
            return True
    return False


def _under(path: str, folder: str) -> bool:
    """Whether absolute, normalised `path` is `folder` or lies below it (`Path.is_relative_to` on strings)."""
    return path == folder or path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


def _not_opened(path: Path, what: str, error: OSError) -> DataError:
    """The one line for a file that cannot be opened or stat'ed."""
    if isinstance(error, FileNotFoundError):
        return DataError(path, f"{what} is a broken symlink" if os.path.islink(path) else f"{what} not found")
    words = {errno.ELOOP: "is a symlink loop", errno.EACCES: "cannot be read (permission denied)",
             errno.ENOTDIR: "not found (a part of its path is a file)",
             errno.ENAMETOOLONG: "path too long"}.get(error.errno or 0, f"cannot be opened: {error.strerror}")
    return DataError(path, f"{what} {words}")


def open_regular(path: str | Path, what: str = "file", root: str | Path | None = None) -> BinaryIO:
    """Open a regular file for reading, or raise one DataError saying what is wrong with `path`.

    Opened non-blocking and checked with fstat before any read: a FIFO neither hangs nor is read.
    `root`: the dataset folder, for the symlink rule.
    """
    path = as_path(path)
    if root is not None:
        check_inside(path, root, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise _not_opened(path, what, error) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DataError(path, f"{what} is {file_kind(st.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: str | Path, what: str = "file", root: str | Path | None = None) -> Path:
    """`open_regular`'s checks from `stat` alone, never opening the file: for SQLite databases, which
    SQLite opens itself (closing any other descriptor of a database drops this process's POSIX locks
    on it, and with them a writer's transaction in the same process)."""
    path = as_path(path)
    if root is not None:
        check_inside(path, root, what)
    try:
        st = os.stat(path)
    except OSError as error:
        raise _not_opened(path, what, error) from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(path, f"{what} is {file_kind(st.st_mode)}, not a regular file")
    return path


def read_bytes(path: str | Path, what: str = "file", max_bytes: int | None = None,
               root: str | Path | None = None) -> bytes:
    """The bytes of a regular file under the rules above (`max_bytes`: the kind's limit unless given)."""
    path = as_path(path)
    max_bytes = limit_for(what) if max_bytes is None else max_bytes
    try:
        with open_regular(path, what, root) as fh:
            # read the size fstat gives (+1 to see growth): a read of max_bytes + 1 makes Python allocate that
            # much first (an mmap and a shrinking mremap of up to 1 GiB for every small file)
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(size + 1) if size <= max_bytes else b""
            if size <= max_bytes and (len(data) > size or not size):  # grew since, or a size not reported (/proc)
                parts, total = [data], len(data)
                while total <= max_bytes and (chunk := fh.read(min(1 << 16, max_bytes + 1 - total))):
                    parts.append(chunk)
                    total += len(chunk)
                data = b"".join(parts)
    except OSError as error:  # EIO, EISDIR on odd file systems: still one line naming the file
        raise DataError(path, f"{what} cannot be read: {error.strerror or error}") from None
    if size > max_bytes or len(data) > max_bytes:
        raise DataError(path, f"{what} is larger than {_size_words(max_bytes)}; is it the right file?")
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


def read_text(path: str | Path, what: str = "description", max_bytes: int | None = None,
              root: str | Path | None = None) -> str:
    """A small text file read through the guarded reader (`what` picks the size limit: `LIMITS`)."""
    return decode_text(read_bytes(path, what, max_bytes, root), path, what)


def read_json(path: str | Path, what: str, max_bytes: int | None = None, root: str | Path | None = None) -> Any:
    """A JSON document read through the guarded reader; bad JSON is one DataError naming the line."""
    import json

    text = read_text(path, what, max_bytes, root)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(path, f"{what} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None


def read_toml(path: str | Path, what: str = "config file") -> dict:
    """A TOML document read through the guarded reader; bad TOML is one DataError naming the file."""
    import tomllib

    text = read_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataError(path, f"invalid TOML: {error}") from None
