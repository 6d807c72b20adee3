"""Run the review page: bind (a port in use is one line), judge, print the URL, serve until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from langir.data.dataset import LangIRDataset
from langir.data.user_cache import user_cache_dir
from langir.describe import human as store
from langir.describe.ledger import DatasetLock, LedgerError
from langir.errors import ConfigError
from langir.review.index import ReviewIndex

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); one line when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ConfigError(f"--host {host}: cannot resolve it ({error.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error} "
                          "(another program uses that port? pass --port 0 to pick a free one)") from None
    sock.set_inheritable(True)
    return sock


class _QuietStop(logging.Filter):
    """Ctrl-C with a request still open: uvicorn cancels it after the grace period and logs that as an
    error with a traceback; for the user the stop is normal ("review stopped"), so those records go."""

    def filter(self, record: logging.LogRecord) -> bool:
        cancelled = bool(record.exc_info) and isinstance(record.exc_info[1], asyncio.CancelledError)
        return not cancelled and "timeout graceful shutdown exceeded" not in record.getMessage()


_QUIET_STOP = _QuietStop()  # one instance: addFilter keeps it once however often serve() runs in a process


def page_url(host: str, port: int, token: str, filter_: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    query = {"token": token, **({"filter": filter_} if filter_ and filter_ != "all" else {})}
    return f"http://{shown}:{port}/?{urlencode(query)}"


def serve(ds: LangIRDataset, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
          filter_: str | None = None, cache_dir: Path | None = None, say: Callable[[str], None] = print,
          warn: Callable[[str], None] | None = None) -> None:
    """Serve the review page of `ds` until interrupted; the first line `say` gets is the URL with its token."""
    import uvicorn

    from langir.review.app import ReviewState, build_app

    warn = warn or (lambda line: print(f"warning: {line}", file=sys.stderr))
    sock = bind(host, port)
    try:
        try:
            lock = DatasetLock(ds.root).__enter__()
        except LedgerError as error:
            raise LedgerError(f"langir review cannot write this dataset now: {error}") from None
        try:
            ledger = store.open_ledger(ds.root)
            try:
                index = ReviewIndex(ds, cache_dir or user_cache_dir("review"))
                index.load(ledger)
                actual = sock.getsockname()[1]
                token = secrets.token_urlsafe(24)
                # on loopback only these names may reach it (no DNS rebinding); elsewhere the token guards it
                hosts = None
                if is_loopback(host):
                    names = {host, *LOOPBACK}
                    hosts = {f"{h}:{actual}" for h in names} | {f"[{h}]:{actual}" for h in names if ":" in h}
                url = page_url(host, actual, token, filter_)
                # from the URL line on, Ctrl-C is the way to stop: a clean stop, wherever it lands
                if not is_loopback(host):  # on stderr, before the URL: stdout's first line stays the URL
                    warn(f"serving on {host}, reachable from other machines; anyone with the URL's "
                         "token can change descriptions")
                with contextlib.suppress(KeyboardInterrupt):
                    say(url)
                    app = build_app(ReviewState(index, ledger, token, hosts))
                    # Ctrl-C stops it within seconds even while a browser holds a request open
                    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                                           timeout_graceful_shutdown=3))
                    logging.getLogger("uvicorn.error").addFilter(_QUIET_STOP)
                    if open_browser:
                        webbrowser.open(url)
                    server.run(sockets=[sock])  # uvicorn re-raises the Ctrl-C it handled
            finally:
                ledger.close()
        finally:
            lock.__exit__(None, None, None)
    finally:
        sock.close()
