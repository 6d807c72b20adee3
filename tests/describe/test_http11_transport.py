"""The describe transport (providers/http11.py) under the real openai SDK: keep-alive, framing, faults, TLS, proxies.

Each scripted server below answers raw bytes on 127.0.0.1, so every way a server can misbehave on the
wire is shown to end as the provider's own errors: retryable, and counted as maybe billed once sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from tests.describe.describe_helpers import make_dataset
from tests.describe.fake_server import FakeServer

REPLY = {"id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "A small bright target."},
                      "finish_reason": "stop"}], "usage": {"prompt_tokens": 90, "completion_tokens": 6}}
BODY = json.dumps(REPLY).encode()


def ok(body: bytes = BODY, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) + body


def chunked(body: bytes) -> bytes:
    parts = [body[i:i + 50] for i in range(0, len(body), 50)]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


class Scripted:
    """A TCP server whose n-th request (over all connections) is answered by `script[n](sock)`;
    counts connections and requests. `wrap`: an SSL context for a TLS server."""

    def __init__(self, script, wrap: ssl.SSLContext | None = None):
        self.script, self.wrap = list(script), wrap
        self.connections = self.requests = 0
        self.lines: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self.url = f"{'https' if wrap else 'http'}://127.0.0.1:{self.port}/v1"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if self.wrap is not None:
                try:
                    sock = self.wrap.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):  # the client refused our certificate
                    sock.close()
                    continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _read_request(self, sock) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return False
            data += more
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            rest += sock.recv(65536)
        self.lines.append(head.split(b"\r\n")[0])
        return True

    def _serve(self, sock):
        with contextlib.suppress(OSError):
            while self._read_request(sock):
                with self._lock:
                    n, self.requests = self.requests, self.requests + 1
                action = self.script[n] if n < len(self.script) else self.script[-1]
                if action(sock) == "close":
                    break
        with contextlib.suppress(OSError):
            sock.close()

    def close(self):
        self.listener.close()


def send(data: bytes, then: str | None = None):
    def act(sock):
        sock.sendall(data)
        return then
    return act


def provider_and_request(tmp_path, url, timeout=5.0):
    from langir.data.dataset import LangIRDataset
    from langir.describe.build import RequestBuilder
    from langir.describe.options import DescribeOptions
    from langir.describe.prompts import load_prompt
    from langir.describe.providers import OpenAIProvider

    ds = LangIRDataset.open(make_dataset(tmp_path / "ds", 1, size=(16, 16)))
    provider = OpenAIProvider("gpt-4o", "test-key", url, timeout=timeout)
    request, _ = RequestBuilder(ds, provider, load_prompt("system"), DescribeOptions()).build(ds.all_ids()[0])
    return provider, request


def ask(provider, request, times=1):
    """`times` describe calls one after another on one loop: each reply, or the exception it raised."""
    async def main():
        out = []
        for _ in range(times):
            try:
                out.append(await provider.describe(request))
            except Exception as error:  # noqa: BLE001 - the test looks at what was raised
                out.append(error)
        await provider.aclose()
        return out
    return asyncio.run(main())


def describe_run(provider, root, concurrency):
    """One describe run of every image under `root` with `provider` (closed after): its summary."""
    from langir.data.dataset import LangIRDataset
    from langir.describe.ledger import Ledger
    from langir.describe.prompts import load_prompt
    from langir.describe.runner import DescribeOptions, describe_async

    ds = LangIRDataset.open(root)
    ledger = Ledger.for_dataset(root)
    try:
        async def main():
            summary = await describe_async(ds, ds.all_ids(), provider, load_prompt("system"),
                                           DescribeOptions(concurrency=concurrency), ledger)
            await provider.aclose()
            return summary
        return asyncio.run(main())
    finally:
        ledger.close()


def test_keep_alive_one_connection_per_request_in_flight(tmp_path):
    """72 images at concurrency 24 through the fake API: 24 connections, each reused, none opened twice."""
    from langir.describe.providers import OpenAIProvider

    root = make_dataset(tmp_path / "ds", 72, size=(24, 24))
    with FakeServer() as fake:
        fake.api.latency = 0.3
        summary = describe_run(OpenAIProvider("gpt-4o", "test-key", fake.openai_url, timeout=10), root, 24)
        assert summary["described"] == 72 and fake.api.model_requests == 72
        assert fake.api.connections == 24


CLOSE_DELIMITED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + BODY


@pytest.mark.parametrize("reply", [ok(), chunked(BODY), ok(gzip.compress(BODY), b"Content-Encoding: gzip\r\n"),
                                   b"HTTP/1.1 100 Continue\r\n\r\n" + ok(), CLOSE_DELIMITED],
                         ids=["length", "chunked", "gzip", "100-continue", "until-close"])
def test_every_framing_of_a_good_reply_is_read(tmp_path, reply):
    server = Scripted([send(reply, "close" if reply is CLOSE_DELIMITED else None)])
    provider, request = provider_and_request(tmp_path, server.url)
    (got,) = ask(provider, request)
    server.close()
    assert got.text == "A small bright target." and (got.input_tokens, got.output_tokens) == (90, 6)
    assert server.lines == [b"POST /v1/chat/completions HTTP/1.1"]


def test_connections_are_reused_and_replaced_when_the_server_closes_them(tmp_path):
    """Keep-alive reuse; `Connection: close` and a server closing an idle connection both mean a new one, no error."""
    server = Scripted([send(ok()), send(ok(extra=b"Connection: close\r\n"), "close"), send(ok()), send(ok(), "close"),
                       send(ok())])
    provider, request = provider_and_request(tmp_path, server.url)

    async def main():
        out = [await provider.describe(request) for _ in range(3)]
        out.append(await provider.describe(request))  # the server closes after this one, unannounced
        await asyncio.sleep(0.2)  # the close arrives while the connection is idle
        out.append(await provider.describe(request))
        await provider.aclose()
        return out

    replies = asyncio.run(main())
    server.close()
    assert [r.text for r in replies] == ["A small bright target."] * 5
    assert server.requests == 5 and server.connections == 3


@pytest.mark.parametrize("fault", ["cut_body", "garbage", "close_at_once", "huge_head", "bad_chunk"])
def test_a_broken_reply_is_a_retryable_maybe_billed_error(tmp_path, fault):
    from langir.describe.providers import RetryableError

    actions = {
        "cut_body": send(ok()[:-20], "close"),
        "garbage": send(b"SPDY/9 hello\r\n\r\n", "close"),
        "close_at_once": lambda sock: "close",
        "huge_head": send(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 200_000 + b"\r\n\r\n", "close"),
        "bad_chunk": send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", "close"),
    }
    server = Scripted([actions[fault], send(ok())])
    provider, request = provider_and_request(tmp_path, server.url)
    first, second = ask(provider, request, times=2)
    server.close()
    assert isinstance(first, RetryableError) and first.maybe_done, first
    assert second.text == "A small bright target."  # the broken connection is never reused
    assert server.connections == 2


def test_a_reply_over_the_body_limit_is_refused(tmp_path, monkeypatch):
    from langir.describe.providers import RetryableError, http11

    monkeypatch.setattr(http11, "MAX_BODY_BYTES", 4096)
    server = Scripted([send(chunked(b" " * 10_000 + BODY))])
    provider, request = provider_and_request(tmp_path, server.url)
    (got,) = ask(provider, request)
    server.close()
    assert isinstance(got, RetryableError) and got.maybe_done


def test_a_silent_server_times_out_on_time_as_maybe_billed(tmp_path):
    from langir.describe.providers import RetryableError

    server = Scripted([lambda sock: time.sleep(5)])
    provider, request = provider_and_request(tmp_path, server.url, timeout=0.5)
    t0 = time.perf_counter()
    (got,) = ask(provider, request)
    took = time.perf_counter() - t0
    server.close()
    assert isinstance(got, RetryableError) and got.maybe_done and "timed out" in str(got)
    assert 0.4 < took < 3


def test_nothing_listening_is_a_connection_error(tmp_path):
    from langir.describe.providers import RetryableError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    provider, request = provider_and_request(tmp_path, f"http://127.0.0.1:{port}/v1")
    (got,) = ask(provider, request)
    # one line saying where, and not counted as billed: nothing was sent
    assert isinstance(got, RetryableError) and f"cannot connect to 127.0.0.1:{port}" in str(got) and not got.maybe_done


def test_a_cancelled_request_leaves_no_half_read_connection_behind(tmp_path):
    server = Scripted([lambda sock: time.sleep(1.0) or sock.sendall(ok()), send(ok())])
    provider, request = provider_and_request(tmp_path, server.url)

    async def main():
        task = asyncio.ensure_future(provider.describe(request))
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        reply = await provider.describe(request)  # a fresh connection: the late reply is never read as this one's
        await provider.aclose()
        return reply

    reply = asyncio.run(main())
    server.close()
    assert reply.text == "A small bright target." and server.connections == 2


def test_one_provider_serves_several_event_loops(tmp_path):
    server = Scripted([send(ok())])
    provider, request = provider_and_request(tmp_path, server.url)
    first = asyncio.run(provider.describe(request))
    second = asyncio.run(provider.describe(request))  # the first loop's connection is not reused
    server.close()
    assert first.text == second.text == "A small bright target." and server.connections == 2


def test_an_environment_proxy_is_still_used(tmp_path, monkeypatch):
    """httpx mounts its own transport for a proxy from the environment: the request goes to the proxy."""
    proxy = Scripted([send(ok())])
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    provider, request = provider_and_request(tmp_path, "http://api.example.invalid/v1")
    (got,) = ask(provider, request)
    proxy.close()
    assert got.text == "A small bright target."
    assert proxy.lines == [b"POST http://api.example.invalid/v1/chat/completions HTTP/1.1"]


@pytest.fixture
def tls_pair(tmp_path):
    """A self-signed certificate for 127.0.0.1 (made by the system's openssl) and a server context with it."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return cert, ctx


def test_tls_is_verified_with_the_trust_httpx_uses(tmp_path, tls_pair, monkeypatch):
    from langir.describe.providers import RetryableError

    cert, server_ctx = tls_pair
    server = Scripted([send(ok())], wrap=server_ctx)
    # not trusted: the connection is refused before anything is sent
    provider, request = provider_and_request(tmp_path / "a", server.url)
    (refused,) = ask(provider, request)
    assert isinstance(refused, RetryableError) and "connection" in str(refused)
    assert server.requests == 0
    # trusted through SSL_CERT_FILE, as httpx's own transport honours it
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    provider, request = provider_and_request(tmp_path / "b", server.url)
    (got,) = ask(provider, request)
    server.close()
    assert got.text == "A small bright target." and server.requests == 1


def test_the_transport_serves_the_httpx_of_the_sdk_at_hand(tmp_path):
    """Older SDKs build on `httpx`, newer ones on `httpx2`; both may be installed: each client gets its own kind."""
    import httpx

    from langir.describe.providers.http11 import Http11Transport, httpx_module

    assert httpx_module(httpx.AsyncClient) is httpx
    server = Scripted([send(ok())])

    async def main():
        async with httpx.AsyncClient(transport=Http11Transport(httpx=httpx_module(httpx.AsyncClient))) as client:
            return await client.post(server.url + "/chat/completions", json={"model": "x"})

    response = asyncio.run(main())
    server.close()
    assert isinstance(response, httpx.Response) and response.json()["usage"]["prompt_tokens"] == 90


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_every_remote_provider_describes_over_the_transport(tmp_path, name, monkeypatch):
    """Each SDK's describe requests go over the lean transport (counted by it); with a proxy configured, none does."""
    from langir.describe.providers import choose_provider, make_provider
    from tests.describe.describe_helpers import set_provider_keys

    set_provider_keys(monkeypatch)
    root = make_dataset(tmp_path / "ds", 6, size=(24, 24))
    with FakeServer() as fake:
        provider = make_provider(choose_provider(name), base_url=fake.openai_url if name == "openai" else fake.url,
                                 timeout=10)
        summary = describe_run(provider, root, 3)
        assert summary["described"] == 6 and fake.api.model_requests == 6
        assert provider.transport.requests == 6 and provider.transport.connections == fake.api.connections == 3
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert make_provider(choose_provider(name), base_url="https://api.example.invalid", timeout=10).transport is None
