"""A lean HTTP/1.1 transport for the SDKs' describe requests: keep-alive connections on asyncio protocols.

Why by hand: the SDKs' default transport (httpcore over anyio) cost ≈ 0.9 ms of client CPU per
request here, three quarters of the whole SDK call (`bench/describe_throughput.py --floor`; with a
no-op transport the SDK and httpx take ≈ 0.3 ms): cancel scopes, `sniffio` lookups and a liveness
syscall pair per pooled connection on every request. This transport keeps what the describe path
needs and nothing else: HTTP/1.1 over TCP or TLS, one request at a time per connection, pooled
connections reused while fresh. h11 (the parser httpcore uses) frames every message, so chunked
bodies, `Connection: close` and malformed replies behave as they do under httpcore.

The SDKs still build, authenticate, time and classify every request: this is only their
`httpx.AsyncClient`'s transport (`transport=`). httpx ignores proxy variables once a transport is
given, so `async_http_client` leaves the SDK's own client in place whenever the environment names
a proxy (httpx then applies it and NO_PROXY exactly as before). Timeouts: `connect` bounds the
connection (TCP and TLS), `read` bounds the wait from the request's last byte to the reply's last
(a non-streamed reply arrives all at once, so this is httpcore's per-read timeout in practice);
`pool` bounds the wait for a free connection slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import ssl
import time
from typing import Any

import h11

MAX_HEAD_BYTES = 64 * 1024  # status line and headers
MAX_BODY_BYTES = 64 * 1024 * 1024  # a chat reply is a few kB; a hostile server does not get our memory
KEEPALIVE_S = 5.0  # httpx's default: an idle connection older than this is closed, not reused


def httpx_module(client_class: Any = None) -> Any:
    """The httpx an SDK's client class builds on (`httpx2` for openai ≥ 3 and anthropic ≥ 2, `httpx`
    before; both may be installed side by side); without a class, httpx2 where installed."""
    for base in getattr(client_class, "__mro__", ()):
        root = base.__module__.split(".")[0]
        if root in ("httpx", "httpx2"):
            return importlib.import_module(root)
    try:
        import httpx2

        return httpx2
    except ImportError:  # pragma: no cover - older SDKs
        import httpx

        return httpx


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def proxied() -> bool:
    """Whether the environment names a proxy (httpx's variables, either case)."""
    return any(os.environ.get(name) or os.environ.get(name.lower()) for name in PROXY_VARIABLES)


def async_http_client(client_class: Any, timeout: float) -> tuple[Any, Http11Transport | None]:
    """An SDK's async httpx client (`client_class`, e.g. `openai.DefaultAsyncHttpxClient`) on this transport,
    and the transport; (None, None) (the SDK's default client) where a proxy is configured."""
    if proxied():
        return None, None
    transport = Http11Transport(httpx=httpx_module(client_class))
    return client_class(transport=transport, timeout=timeout), transport


class _Connection(asyncio.Protocol):
    """One connection, one exchange at a time; `exchange` sends a request and waits for its reply."""

    def __init__(self, httpx: Any):
        self.httpx = httpx
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.head: h11.Response | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.closed = False
        self.idle_since = 0.0

    # -- asyncio callbacks ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.h11.receive_data(data)
        except RuntimeError:  # data after the peer closed (h11 raises): the connection is done
            self._fail(self.httpx.RemoteProtocolError("data after the end of the connection"))
            return
        self._pump()

    def eof_received(self) -> bool:
        with contextlib.suppress(RuntimeError):
            self.h11.receive_data(b"")
        self._pump()
        self.closed = True
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(self.httpx.ReadError(f"connection lost: {exc}" if exc else "server closed the connection"))

    # -- one exchange ---------------------------------------------------------------------------
    def _pump(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                self._fail(self.httpx.RemoteProtocolError(f"malformed HTTP reply: {error}"))
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                self.head = event
            elif isinstance(event, h11.Data):
                self.size += len(event.data)
                if self.size > MAX_BODY_BYTES:
                    self._fail(self.httpx.RemoteProtocolError(f"reply body over {MAX_BODY_BYTES} bytes"))
                    return
                self.chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self.waiter.set_result(None)
                return
            elif isinstance(event, h11.ConnectionClosed):
                self._fail(self.httpx.RemoteProtocolError("server disconnected without a full reply"))
                return
            # h11.InformationalResponse (100 Continue and the like): wait for the final reply

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    def _timeout(self) -> None:
        self._fail(self.httpx.ReadTimeout("timed out waiting for the reply"))

    async def exchange(self, request: Any, body: bytes, read_timeout: float | None) -> Any:
        """Send `request` (its `body` read) and return the httpx Response; any error leaves the connection unusable."""
        httpx = self.httpx
        loop = asyncio.get_running_loop()
        self.waiter, self.head, self.chunks, self.size = loop.create_future(), None, [], 0
        try:
            data = self.h11.send(h11.Request(method=request.method, target=request.url.raw_path,
                                             headers=request.headers.raw))
            data += self.h11.send(h11.Data(data=body)) if body else b""
            data += self.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError as error:
            raise httpx.LocalProtocolError(str(error)) from None
        if self.transport is None or self.closed or self.transport.is_closing():
            raise httpx.ReadError("connection closed before the request was sent")
        self.transport.write(data)
        timer = loop.call_later(read_timeout, self._timeout) if read_timeout is not None else None
        try:
            await self.waiter
        finally:
            if timer is not None:
                timer.cancel()
        head = self.head
        assert head is not None
        return httpx.Response(head.status_code, headers=head.headers, stream=httpx.ByteStream(b"".join(self.chunks)),
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason})

    def ready_next(self) -> bool:
        """After an exchange: readies the connection for the next one; False when it cannot carry one (a side
        not done, or closing)."""
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            self.idle_since = time.monotonic()
            return True
        return False

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Http11Transport:
    """An `httpx.AsyncBaseTransport` (duck-typed: either httpx) over `_Connection`s, pooled per origin."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, max_connections: int = 1000, httpx: Any = None):
        # the httpx whose Responses and errors this transport makes; without one given, the httpx that
        # sends the first request (google-genai picks its own and passes this transport on to it)
        self.httpx = httpx
        self._ssl = ssl_context
        self._max = max_connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._slots = asyncio.Semaphore(max_connections)
        self.requests = self.connections = 0  # sent, opened (for `describe`'s figures and the tests)

    def _on_this_loop(self) -> None:
        """Connections and the slot semaphore belong to one event loop; a new loop starts afresh."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            for conn in self._open:  # the old loop is gone or elsewhere: its sockets are dropped, not reused
                conn.closed = True
            self._loop, self._idle, self._open = loop, {}, set()
            self._slots = asyncio.Semaphore(self._max)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:  # the trust httpx itself uses (SSL_CERT_FILE / SSL_CERT_DIR honoured)
            self._ssl = self.httpx.create_ssl_context()
        return self._ssl

    async def _connect(self, scheme: bytes, host: bytes, port: int, timeout: float | None) -> _Connection:
        httpx = self.httpx
        loop = asyncio.get_running_loop()
        name = host.decode("ascii")
        tls = self._ssl_context() if scheme == b"https" else None
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(
                lambda: _Connection(httpx), name, port, ssl=tls, server_hostname=name if tls else None), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {name}:{port} timed out") from None
        except (OSError, ssl.SSLError) as error:
            raise httpx.ConnectError(f"cannot connect to {name}:{port}: {error}") from None
        self._open.add(conn)
        self.connections += 1
        return conn

    def _take_idle(self, origin: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the one most likely still open
            if not conn.closed and now - conn.idle_since < KEEPALIVE_S:
                return conn
            conn.close()
            self._open.discard(conn)
        return None

    async def handle_async_request(self, request: Any) -> Any:
        if self.httpx is None:
            self.httpx = importlib.import_module(type(request).__module__.split(".")[0])
        httpx = self.httpx
        url = request.url
        scheme = url.raw_scheme
        if scheme not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        port = url.port or (443 if scheme == b"https" else 80)
        origin = (scheme, url.raw_host, port)
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        self._on_this_loop()
        if self._slots.locked():  # all connections busy: wait, at most the pool timeout
            try:
                await asyncio.wait_for(self._slots.acquire(), timeouts.get("pool"))
            except TimeoutError:
                raise httpx.PoolTimeout("no free connection within the pool timeout") from None
        else:
            await self._slots.acquire()
        conn: _Connection | None = None
        self.requests += 1
        try:
            conn = self._take_idle(origin) or await self._connect(scheme, url.raw_host, port, timeouts.get("connect"))
            response = await conn.exchange(request, body, timeouts.get("read"))
        except BaseException:  # a failed or cancelled exchange: the connection's state is unknown
            if conn is not None:
                conn.close()
                self._open.discard(conn)
            raise
        finally:
            self._slots.release()
        if conn.ready_next():
            self._idle.setdefault(origin, []).append(conn)
        else:
            conn.close()
            self._open.discard(conn)
        return response

    async def aclose(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()

    async def __aenter__(self) -> Http11Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
