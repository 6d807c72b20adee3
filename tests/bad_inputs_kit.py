"""Run many `langir` commands in subprocesses, fast: a warm server forks one child per command.

`python -m langir` costs about a second of imports; a table of a hundred bad-input cases would spend
minutes on that alone. The server imports the CLI once, then for each request forks a child that
runs `langir.cli.main(argv)` in its own process with its own stdout/stderr files, working folder,
environment and (as root, when the kernel lets us) its own mount namespace, in which a tiny full
tmpfs or a read-only bind mount stands in for a full disk or a read-only dataset. A child that
does not finish in time is killed (a FIFO read would hang), and the kill is reported.

Without mount namespaces the same cases run with the atomic writer's fault hook
(`LANGIR_FAULT_INJECT=ENOSPC` / `EROFS`) instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    listing: list[str]  # files under `list_after` as seen inside the child's namespace

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


# ---- inside the server ------------------------------------------------------------------------
def _enc(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(libc, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = _enc
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _enter_namespace(mounts: list[dict]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE, None)
    for m in mounts:
        if m["kind"] == "full":  # a tiny tmpfs, optionally seeded with a copy, then filled to the brim
            _mount(libc, "tmpfs", m["path"], "tmpfs", 0, f"size={m.get('size', '1m')}")
            if m.get("seed"):
                import shutil

                shutil.copytree(m["seed"], m["path"], dirs_exist_ok=True, symlinks=True)
            with contextlib.suppress(OSError), open(os.path.join(m["path"], ".filler"), "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
        elif m["kind"] == "readonly":
            _mount(libc, m["path"], m["path"], None, _MS_BIND | _MS_REC, None)
            _mount(libc, None, m["path"], None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY, None)


def _listing(root: str) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(found)


def _child(req: dict) -> int:
    sys.stdout = sys.__stdout__  # the server points sys.stdout at stderr; the command gets fd 1
    for fd, key in ((1, "stdout"), (2, "stderr")):
        target = os.open(req[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    os.environ.update(req.get("env", {}))
    os.chdir(req["cwd"])
    code = 1
    try:
        if req.get("mounts"):
            _enter_namespace(req["mounts"])
        from langir.cli import main

        main(req["argv"])
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # what `python -m langir` would do with an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        if req.get("list_after"):
            with contextlib.suppress(OSError), open(req["stdout"] + ".ls", "w") as fh:
                json.dump(_listing(req["list_after"]), fh)
    return code


def _namespaces_work() -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            ok = libc.unshare(_CLONE_NEWNS) == 0
            if ok:
                _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE, None)
                _mount(libc, "tmpfs", "/mnt", "tmpfs", 0, "size=64k")
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    return os.waitpid(pid, 0)[1] == 0


def serve() -> None:
    """Read one JSON request a line on stdin, answer one JSON line per finished child."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (warm: the report command plots)
    import pandas  # noqa: F401

    import langir.cli  # noqa: F401
    import langir.curate.report  # noqa: F401
    import langir.curate.stats  # noqa: F401
    import langir.curate.validate  # noqa: F401

    if os.environ.get("LANGIR_KIT_WARM_TORCH", "1") == "1":  # train and embed cases import them otherwise (≈ 3 s each)
        with contextlib.suppress(ImportError):
            import open_clip  # noqa: F401
            import torch  # noqa: F401

    reply = sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the reply channel
    reply.write(json.dumps({"ready": True, "namespaces": _namespaces_work()}) + "\n")
    reply.flush()
    for line in sys.stdin:
        req = json.loads(line)
        sys.stderr.flush()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os._exit(_child(req))
        deadline = start + req.get("timeout", 30)
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        code = os.waitstatus_to_exitcode(status)
        reply.write(json.dumps({"code": code, "timed_out": timed_out, "seconds": time.monotonic() - start}) + "\n")
        reply.flush()


# ---- in the test process ------------------------------------------------------------------------
class Server:
    """A warm `python -m tests.bad_inputs_kit` process; `run()` is safe from one thread at a time."""

    def __init__(self, env: dict[str, str] | None = None):
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bad_inputs_kit"], cwd=REPO, env=full_env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        hello = json.loads(self.proc.stdout.readline() or "{}")
        if not hello.get("ready"):
            raise RuntimeError("bad-input server did not start")
        # LANGIR_TEST_NO_MOUNTS=1 runs the fault-injection fallback even where mounts would work.
        self.namespaces: bool = hello["namespaces"] and not os.environ.get("LANGIR_TEST_NO_MOUNTS")
        self.lock = threading.Lock()

    def run(self, argv: list[str], cwd: Path, scratch: Path, env: dict[str, str] | None = None,
            mounts: list[dict] | None = None, list_after: Path | None = None, timeout: float = 30) -> Result:
        scratch.mkdir(parents=True, exist_ok=True)
        out, err = scratch / "stdout.txt", scratch / "stderr.txt"
        req = {"argv": [str(a) for a in argv], "cwd": str(cwd), "stdout": str(out), "stderr": str(err),
               "env": env or {}, "mounts": mounts or [], "timeout": timeout,
               "list_after": str(list_after) if list_after else None}
        with self.lock:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            answer = json.loads(self.proc.stdout.readline())
        listing_file = Path(str(out) + ".ls")
        listing = json.loads(listing_file.read_text()) if listing_file.exists() else []
        return Result(answer["code"], out.read_text(errors="replace"), err.read_text(errors="replace"),
                      answer["timed_out"], answer["seconds"], listing)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        if self.proc.poll() is None:
            self.proc.kill()


def tree_digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Path → type and content hash of everything under `root` (symlinks and special files by kind)."""
    digest: dict[str, str] = {}
    if not root.exists():
        return digest
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_folder, d)) not in skip]
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.normpath(os.path.relpath(path, root))
            if rel in skip:
                continue
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as fh:
                    digest[rel] = "file " + hashlib.sha256(fh.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                digest[rel] = "link " + os.readlink(path)
            else:
                digest[rel] = f"mode {stat.S_IFMT(st.st_mode):o}"
    return digest


if __name__ == "__main__":
    serve()
