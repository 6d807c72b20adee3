"""Atomic file writes: a reader sees the old file or the whole new one, never a half-written one.

Every write of the project goes through here. The helper
- refuses targets that are not regular files (devices, FIFOs, folders, `/proc/self/fd/N` links,
  symlink loops) instead of `os.replace`-ing them; a symlink to a regular file is written through;
- turns the environment's refusals (disk full, read-only file system, permission denied, a file where
  a folder should be, …) into one `OutputError` naming the path, and removes its temporary file;
- names temporary files `.NAME.<pid>-<random>.tmp` and, the first time it writes into a folder,
  removes the ones whose process is gone — a killed run never leaves litter that a re-run sees.

Test hook: `LANGIR_FAULT_INJECT=ENOSPC` (any errno name, optionally `ENOSPC@part-of-path`) makes the
write of matching targets fail with that error after the temporary file was written, for tests on
machines where a small or read-only file system cannot be mounted.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langir.errors import OutputError

_PROCESS_START = time.time()
_SWEPT: set[str] = set()
# Ours: `.NAME.<pid>-<hex>.tmp`. Legacy (tempfile.mkstemp of older versions): `.NAME.<8 chars>.tmp`.
_OURS = re.compile(r"^\..+\.(?P<pid>\d+)-[0-9a-f]+\.tmp$")
_LEGACY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")

# Errors that mean "this output cannot be written here", with the words a person needs.
_WRITE_ERRNOS = {
    errno.ENOSPC: "no space left on device (disk full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this file system",
    errno.EROFS: "read-only file system; point the output somewhere writable",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file is in the way of a folder",
    errno.ENAMETOOLONG: "file name too long",
    errno.ELOOP: "symlink loop",
    errno.EIO: "input/output error",
}


def file_kind(mode: int) -> str:
    """Words for a file type from `st_mode`, for messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def _target(path: Path) -> Path:
    """The file to replace: `path`, or the regular file a symlink points at; refuse anything else.
    One lstat for the common cases (nothing there yet, a regular file); links are followed after."""
    try:
        st = os.lstat(path)
        link = stat.S_ISLNK(st.st_mode)
        if link:
            st = os.stat(path)  # follows symlinks: /proc/self/fd/1 → the pipe or terminal behind it
    except FileNotFoundError:
        if os.path.islink(path):
            raise OutputError(path, "is a symlink to a missing file; remove it or give another path") from None
        return path
    except OSError as error:
        raise _as_output_error(error, path) from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(path, f"is {file_kind(st.st_mode)}, not a regular file; refusing to replace it")
    return Path(os.path.realpath(path)) if link else path


def _alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_stale_temps(folder: str | Path) -> list[Path]:
    """Remove temporary files of dead writers in `folder`; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    me = os.getpid()
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        ours = _OURS.match(name)
        try:
            if ours:
                pid = int(ours.group("pid"))
                stale = pid != me and not _alive(pid)
            else:
                stale = bool(_LEGACY.match(name)) and entry.stat(follow_symlinks=False).st_mtime < _PROCESS_START
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # another process removed it, or we may not: not our business here
    return removed


def _as_output_error(error: OSError, path: Path) -> OutputError:
    words = _WRITE_ERRNOS.get(error.errno or 0, error.strerror or str(error))
    return OutputError(path, words)


def _is_write_failure(error: BaseException, paths: tuple[Path, ...]) -> bool:
    """An OSError about our own files (or about no file: a full disk under Pillow/matplotlib)."""
    if not isinstance(error, OSError) or error.errno not in _WRITE_ERRNOS:
        return False
    return error.filename is None or any(str(error.filename) == str(p) for p in paths)


def _disk_full(folder: Path) -> bool:
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


_REFUSED_AT_OPEN = {errno.EROFS, errno.EACCES, errno.EPERM}


def _injected_fault(path: Path, stage: str) -> OSError | None:
    """The test hook's error for `path` at `stage`: "open" (read-only, permission: nothing may be
    created, not even folders) or "write" (full disk, I/O: the temp file was partly written)."""
    spec = os.environ.get("LANGIR_FAULT_INJECT", "")
    if not spec:
        return None
    name, _, where = spec.partition("@")
    code = getattr(errno, name.strip().upper(), None)
    if code is None or (where and where not in str(path)):
        return None
    if (code in _REFUSED_AT_OPEN) != (stage == "open"):
        return None
    return OSError(code, os.strerror(code))


def ensure_dir(folder: str | Path) -> Path:
    """Create `folder` (and parents) for outputs; a read-only disk, a file in the way, … is one OutputError."""
    folder = Path(folder)
    try:
        fault = None if folder.is_dir() else _injected_fault(folder, "open")
        if fault is not None:
            raise fault
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(folder, "exists and is not a folder") from None
    except OSError as error:
        raise _as_output_error(error, folder) from None
    return folder


def _make_parent(parent: Path, path: Path) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(path, f"{parent} exists and is not a folder") from None
    except OSError as error:
        raise _as_output_error(error, path) from None


_MADE: set[str] = set()  # folders this process made or found (a mkdir per file written cost a syscall each)


def _ensure_parent(parent: Path, path: Path) -> None:
    folder = str(parent)
    if folder not in _MADE:
        _make_parent(parent, path)
        _MADE.add(folder)


def _create_temp(parent: Path, name: str, path: Path) -> tuple[Path, int]:
    """A new temporary file beside `path` and its open (write-only) descriptor."""
    stem = name[:120]  # leave room in the 255-byte name limit
    remade = False
    while True:
        tmp = parent / f".{stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            # O_EXCL: never follow or reuse something already there; 0o666 & ~umask: the usual permissions.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        except FileNotFoundError as error:
            if remade:
                raise _as_output_error(error, path) from None
            remade = True  # the folder was removed since this process made it: make it again, once
            _MADE.discard(str(parent))
            _ensure_parent(parent, path)
            continue
        except OSError as error:
            raise _as_output_error(error, path) from None
        return tmp, fd


_RESOLVED: dict[str, str] = {}  # folder as given → resolved (resolving costs a syscall per part)


@contextlib.contextmanager
def _atomic(path: str | Path, durable: bool = True) -> Iterator[tuple[Path, int]]:
    """`atomic_path`, yielding the temporary file's open descriptor too (closed here in any case)."""
    requested = path if isinstance(path, Path) else Path(path)
    if requested.name in ("", ".", ".."):
        raise OutputError(requested, "is a folder, not a file")
    path = _target(requested)
    parent = path.parent
    fault = _injected_fault(requested, "open")
    if fault is not None:
        raise _as_output_error(fault, requested)
    _ensure_parent(parent, requested)
    key = _RESOLVED.get(str(parent)) or _RESOLVED.setdefault(str(parent), str(parent.resolve()))
    if key not in _SWEPT:
        _SWEPT.add(key)
        sweep_stale_temps(parent)
    tmp, fd = _create_temp(parent, path.name, requested)
    try:
        try:
            try:
                yield tmp, fd
            finally:
                os.close(fd)
            fault = _injected_fault(requested, "write")
            if fault is not None:
                raise fault
            if durable:
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
            _target(requested)  # something else may have appeared meanwhile: still refuse it
            os.replace(tmp, path)
        except OutputError:
            raise
        except (OSError, AttributeError) as error:
            if _is_write_failure(error, (tmp, path, requested, parent)):
                raise _as_output_error(error, requested) from None
            # Pillow hides ENOSPC behind `'_idat' object has no attribute 'fileno'`.
            if _disk_full(parent):
                raise OutputError(requested, _WRITE_ERRNOS[errno.ENOSPC]) from None
            raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if not durable:
        return
    with contextlib.suppress(OSError):  # make the rename itself durable; not all file systems allow it
        dir_fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def atomic_path(path: str | Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    `durable=False` skips the two fsyncs (file, folder): still atomic (a reader or a killed
    process sees the old file or the whole new one), but after a power loss the file may be
    missing or empty. Only for files that can be rebuilt from a durable record (description
    files: the describe ledger holds every paid answer and a re-run restores them).
    Raises OutputError (one line, naming `path`) when the target cannot be written.
    """
    with _atomic(path, durable) as (tmp, fd):
        yield tmp  # the writer opens the path itself


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8", durable: bool = True) -> None:
    """Write `text` to `path` atomically (`durable`: see `atomic_path`)."""
    write_bytes_atomic(path, text.encode(encoding), durable)


def write_bytes_atomic(path: str | Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` atomically (`durable`: see `atomic_path`), through the temporary file's own
    descriptor (no second open)."""
    with _atomic(path, durable) as (_, fd):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]


def save_image_atomic(path: str | Path, image: Any, format: str = "PNG", **params: Any) -> None:
    """Save a Pillow image (or a uint8/uint16 array) atomically.

    The image is encoded in memory first, so a full disk is one OutputError instead of Pillow's
    `'_idat' object has no attribute 'fileno'`.
    """
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, format=format, **params)
    write_bytes_atomic(path, buf.getvalue())


def save_figure_atomic(path: str | Path, figure: Any, **params: Any) -> None:
    """Save a matplotlib figure atomically (rendered in memory, then written once)."""
    buf = io.BytesIO()
    figure.savefig(buf, format=params.pop("format", Path(path).suffix.lstrip(".") or "png"), **params)
    write_bytes_atomic(path, buf.getvalue())
