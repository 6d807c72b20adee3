"""A fake OpenAI + Anthropic HTTP API on 127.0.0.1 for tests and the benchmark.

Serves Chat Completions, Messages, Files, OpenAI Batches and Anthropic Message Batches with
scripted faults. Standard library only (ThreadingHTTPServer): one thread per connection, so
concurrent clients really overlap, and a fixed `latency` delays every model reply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VALID_TEXT = "The small target lies in the upper left of the image, a bright point against the sky."
FAULTS = ("429", "500", "529", "slow", "malformed", "refusal", "long", "401", "quota", "400")


class FakeAPI:
    """State shared by the handler threads: faults to inject, counters, stored files and batches."""

    def __init__(self, latency: float = 0.0, slow_seconds: float = 2.0):
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.faults: list[str] = []  # consumed one per model request, in order
        self.reply: Callable[[str], str] = lambda image_sha: VALID_TEXT
        self.lock = threading.Lock()
        self.paths: Counter = Counter()
        self.served: Counter = Counter()  # image sha → successful model replies
        self.auth_headers: list[str] = []
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls_until_done = 1

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None


def _image_sha(body: dict[str, Any]) -> str:
    """Hash of the last image in a request (the one being described, after any few-shot examples)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            url = node.get("url")
            if isinstance(url, str) and url.startswith("data:image"):
                found.append(url.split(",", 1)[1])
            if node.get("type") == "base64" and "data" in node:
                found.append(node["data"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(body.get("messages", []))
    return hashlib.sha256(base64.b64decode(found[-1])).hexdigest()[:16] if found else "none"


def _openai_completion(text: str, refusal: bool = False) -> dict[str, Any]:
    message = {"role": "assistant", "content": None if refusal else text, "refusal": text if refusal else None}
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:8], "object": "chat.completion", "created": int(time.time()),
            "model": "gpt-4o", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320}}


def _anthropic_message(text: str) -> dict[str, Any]:
    return {"id": "msg_" + uuid.uuid4().hex[:8], "type": "message", "role": "assistant", "model": "claude",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 400, "output_tokens": 25}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes: avoid the 40 ms delayed-ACK stall
    api: FakeAPI

    def log_message(self, *args: Any) -> None:  # quiet
        return

    # -- plumbing ------------------------------------------------------------------------------
    def _send(self, code: int, payload: Any = None, raw: bytes | None = None, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _error(self, code: int, message: str, kind: str = "error", headers: dict[str, str] | None = None) -> None:
        self._send(code, {"error": {"message": message, "type": kind, "code": kind}}, headers=headers)

    # -- model replies -------------------------------------------------------------------------
    def _model_reply(self, body: dict[str, Any], flavour: str) -> None:
        api = self.api
        auth = self.headers.get("x-api-key") or self.headers.get("Authorization") or ""
        with api.lock:
            api.auth_headers.append(auth)
        fault = api.next_fault()
        if api.latency:
            time.sleep(api.latency)
        if fault == "429":
            return self._error(429, "rate limited", "rate_limit_error", {"retry-after": "0.05"})
        if fault == "quota":
            return self._error(429, "You exceeded your current quota", "insufficient_quota")
        if fault in ("500", "529"):
            return self._error(int(fault), "overloaded" if fault == "529" else "server error",
                               "overloaded_error" if fault == "529" else "server_error")
        if fault == "401":
            return self._error(401, "invalid x-api-key", "authentication_error")
        if fault == "400":
            return self._error(400, "bad request: image too large", "invalid_request_error")
        if fault == "slow":
            time.sleep(api.slow_seconds)
        if fault == "malformed":
            return self._send(200, raw=b'{"choices": [ {"message": ', headers={})
        sha = _image_sha(body)
        text = api.reply(sha)
        if fault == "refusal":
            text = "I'm sorry, but I can't help identify objects in this image."
        elif fault == "long":
            text = "The small target lies in the upper left. " + "It is a faint warm point among clouds. " * 12
        if fault is None:
            with api.lock:
                api.served[sha] += 1
        if flavour == "openai":
            self._send(200, _openai_completion(text, refusal=fault == "refusal"))
        else:
            self._send(200, _anthropic_message(text))

    # -- routes --------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?")[0]
        with self.api.lock:
            self.api.paths["POST " + path] += 1
        raw = self._body()
        if path.endswith("/chat/completions"):
            return self._model_reply(json.loads(raw), "openai")
        if path.endswith("/messages/batches"):
            return self._anthropic_batch_create(json.loads(raw))
        if path.endswith("/messages"):
            return self._model_reply(json.loads(raw), "anthropic")
        if path.endswith("/files"):
            return self._file_upload(raw)
        if path.endswith("/batches"):
            return self._openai_batch_create(json.loads(raw))
        self._error(404, f"no route {path}")

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        with self.api.lock:
            self.api.paths["GET " + path] += 1
        m = re.search(r"/files/([^/]+)/content$", path)
        if m:
            return self._send(200, raw=self.api.files.get(m.group(1), b""), content_type="application/octet-stream")
        m = re.search(r"/messages/batches/([^/]+)/results$", path)
        if m:
            return self._anthropic_batch_results(m.group(1))
        m = re.search(r"/messages/batches/([^/]+)$", path)
        if m:
            return self._anthropic_batch_get(m.group(1))
        m = re.search(r"/batches/([^/]+)$", path)
        if m:
            return self._openai_batch_get(m.group(1))
        self._error(404, f"no route {path}")

    # -- OpenAI files + batches ----------------------------------------------------------------
    def _file_upload(self, raw: bytes) -> None:
        # multipart/form-data: take the part holding the JSONL file
        boundary = self.headers.get("Content-Type", "").split("boundary=")[-1].encode()
        content = b""
        for part in raw.split(b"--" + boundary):
            if b'name="file"' in part:
                content = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
        fid = "file-" + uuid.uuid4().hex[:10]
        self.api.files[fid] = content
        self._send(200, {"id": fid, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                         "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})

    def _openai_batch_obj(self, b: dict[str, Any]) -> dict[str, Any]:
        return {"id": b["id"], "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": b["input"],
                "completion_window": "24h", "status": b["status"], "output_file_id": b.get("output"),
                "error_file_id": None, "created_at": int(time.time()),
                "request_counts": {"total": b["total"], "completed": b["total"] if b["status"] == "completed" else 0, "failed": 0}}

    def _openai_batch_create(self, body: dict[str, Any]) -> None:
        bid = "batch_" + uuid.uuid4().hex[:10]
        lines = [json.loads(x) for x in self.api.files[body["input_file_id"]].decode().splitlines() if x.strip()]
        self.api.batches[bid] = {"id": bid, "input": body["input_file_id"], "status": "in_progress", "polls": 0,
                                 "lines": lines, "total": len(lines), "kind": "openai"}
        self._send(200, self._openai_batch_obj(self.api.batches[bid]))

    def _openai_batch_get(self, bid: str) -> None:
        b = self.api.batches[bid]
        b["polls"] += 1
        if b["status"] != "completed" and b["polls"] >= self.api.batch_polls_until_done:
            out = []
            for line in b["lines"]:
                fault = self.api.next_fault()
                sha = _image_sha(line["body"])
                text = "I'm unable to help with that." if fault == "refusal" else self.api.reply(sha)
                if fault is None:
                    self.api.served[sha] += 1
                out.append(json.dumps({"id": "r", "custom_id": line["custom_id"], "error": None,
                                       "response": {"status_code": 200, "body": _openai_completion(text)}}))
            fid = "file-" + uuid.uuid4().hex[:10]
            self.api.files[fid] = ("\n".join(out) + "\n").encode()
            b["status"], b["output"] = "completed", fid
        self._send(200, self._openai_batch_obj(b))

    # -- Anthropic message batches -------------------------------------------------------------
    def _anthropic_batch_obj(self, b: dict[str, Any]) -> dict[str, Any]:
        ended = b["status"] == "ended"
        return {"id": b["id"], "type": "message_batch", "processing_status": b["status"],
                "request_counts": {"processing": 0 if ended else b["total"], "succeeded": b["total"] if ended else 0,
                                   "errored": 0, "canceled": 0, "expired": 0},
                "created_at": "2025-01-01T00:00:00Z", "expires_at": "2025-01-02T00:00:00Z",
                "ended_at": "2025-01-01T01:00:00Z" if ended else None, "cancel_initiated_at": None,
                "archived_at": None, "results_url": f"/v1/messages/batches/{b['id']}/results" if ended else None}

    def _anthropic_batch_create(self, body: dict[str, Any]) -> None:
        bid = "msgbatch_" + uuid.uuid4().hex[:10]
        reqs = body["requests"]
        self.api.batches[bid] = {"id": bid, "status": "in_progress", "polls": 0, "requests": reqs, "total": len(reqs)}
        self._send(200, self._anthropic_batch_obj(self.api.batches[bid]))

    def _anthropic_batch_get(self, bid: str) -> None:
        b = self.api.batches[bid]
        b["polls"] += 1
        if b["status"] != "ended" and b["polls"] >= self.api.batch_polls_until_done:
            out = []
            for r in b["requests"]:
                fault = self.api.next_fault()
                sha = _image_sha(r["params"])
                text = "I'm unable to help with that." if fault == "refusal" else self.api.reply(sha)
                if fault is None:
                    self.api.served[sha] += 1
                out.append(json.dumps({"custom_id": r["custom_id"], "result": {"type": "succeeded", "message": _anthropic_message(text)}}))
            b["results"] = ("\n".join(out) + "\n").encode()
            b["status"] = "ended"
        self._send(200, self._anthropic_batch_obj(b))

    def _anthropic_batch_results(self, bid: str) -> None:
        self._send(200, raw=self.api.batches[bid].get("results", b""), content_type="application/x-jsonl")


class FakeServer:
    """Context manager: `with FakeServer(latency=0.2) as fake: fake.openai_url, fake.api.faults …`."""

    def __init__(self, latency: float = 0.0, slow_seconds: float = 2.0):
        self.api = FakeAPI(latency, slow_seconds)
        handler = type("Handler", (_Handler,), {"api": self.api})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 256
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    """Run standalone (for the kill/resume subprocess test): prints the port, serves until killed."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with FakeServer(args.latency) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
