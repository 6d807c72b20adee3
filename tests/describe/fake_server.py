"""A fake OpenAI + Anthropic + Gemini HTTP API on 127.0.0.1 for tests and the benchmark.

Serves Chat Completions (`/v1/chat/completions`), Messages (`/v1/messages`), Gemini
`/v1*/models/{model}:generateContent`, Files, OpenAI Batches and Anthropic Message Batches with
scripted faults, in each provider's own error format. Standard library only
(ThreadingHTTPServer): one thread per connection, so concurrent clients really overlap.

    with FakeServer() as fake:             # fake.url (Anthropic, Gemini), fake.openai_url (…/v1)
        fake.api.faults = ["429", "malformed"]

Hooks on `fake.api` (a FakeAPI), all optional, set them before the run:
- `faults`: list consumed one per model request (and per batch line), in order; names in FAULTS:
  "429" rate limit (with retry-after / RetryInfo), "quota" exhausted quota, "500", "529"
  overloaded, "401", "badkey" (Gemini answers a wrong key with 400 API_KEY_INVALID), "400",
  "slow" (sleeps `slow_seconds`), "malformed" (cut-off JSON), "refusal", "long" (over 50 words),
  "billing" (402 billing_error, credit balance too low), "reasoning-only" (OpenAI: content null, the thoughts in
  `reasoning_content`, finish_reason "length", as vLLM/DeepSeek send a thinking model cut off); any other name
  (e.g. "ok") is no fault.
- `reply(sha) -> str`: the text for an image (sha = 16 hex of the last image's bytes).
- `reply_fn(info) -> str | None`: per-request text; `info` is a dict with flavour ("openai",
  "anthropic", "gemini"), sha, model, temperature, n (0-based model request number), body (the
  parsed JSON); None falls back to `reply`. Runs for direct and batch requests.
- `delay_fn(info) -> float`: extra seconds before answering this request (on top of `latency`).
- `latency`: fixed seconds before every model reply.
- `retry_after`: the "429" fault's retry-after header value (Gemini: its RetryInfo retryDelay, with "s").
- counters: `connections` (TCP connections accepted), `model_requests` (every model request, faults included), `paths` (Counter of
  "METHOD /path"), `served` (Counter sha → successful replies), `log` (one info dict per model
  request, without body, with its `fault`), `auth_headers`.
- `batch_polls_until_done`: polls before a batch ends; `batch_create_delay`: seconds a batch
  creation is answered late (the batch exists already: a client timeout then is ambiguous).
- structured requests (`describe --structured`: OpenAI/compatible `response_format` json_schema,
  Anthropic a forced tool, Gemini `responseMimeType: application/json`) are answered in each
  provider's own form: OpenAI message content = the JSON text, Anthropic a `tool_use` block whose
  `input` is the object, Gemini a text part with the JSON. `answer_fn(info) -> dict | str | None`
  gives the answer (a dict is encoded; a str is sent as is, so broken JSON can be scripted; for
  Anthropic a str that is not a JSON object becomes `{"raw": str}`); None (or no hook) answers
  `{"description": <the reply text>, "targets": [<one at the centre>]}`. The "long" fault makes
  the description too long; "cut" stops the answer halfway at the token limit (finish_reason
  "length", stop_reason "max_tokens", finishReason "MAX_TOKENS"). `image_bytes(info)` gives the
  PNG the request carries.
- `usage_fn(info) -> dict | None | KEEP_USAGE`: the usage block of this reply (OpenAI/Anthropic
  `usage`, Gemini `usageMetadata`): a dict replaces it, None leaves it out, `KEEP_USAGE` keeps it.
- `keep_bodies`: when True, `bodies` keeps (flavour, parsed body) of every model request.
- `bought`: Counter image sha → batch items created (what a batch API bills, fetched or not);
  `billed`: list of (flavour, input_tokens, output_tokens) of every 200 model reply, broken
  bodies and late ("slow") ones included: what the provider would charge.
- Batch list endpoints (OpenAI `GET /v1/batches` with `metadata`, Anthropic `GET
  /v1/messages/batches`, Gemini `GET /v1beta/batches` with `displayName`), newest first, so a
  client can find a batch by its tag.
- `batch_limits`: {"openai"|"anthropic"|"gemini": (max_requests, max_bytes)}; over-limit batches
  are refused with the provider's error: OpenAI's file upload → 400 `file_too_large`, its batch
  with too many lines → status "failed" with errors; Anthropic's POST → 413 `request_too_large`
  (bytes) or 400 `invalid_request_error` (requests); Gemini's batchGenerateContent → 400
  INVALID_ARGUMENT "Request payload size exceeds the limit".
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
LONG_TEXT = "The small target lies in the upper left. " + "It is a faint warm point among clouds. " * 12
KEEP_USAGE = object()  # `usage_fn` result: the reply's usage block as it is
FAULTS = ("429", "500", "529", "slow", "malformed", "refusal", "long", "401", "badkey", "quota", "400", "cut", "billing",
          "reasoning-only")


class FakeAPI:
    """State shared by the handler threads: faults to inject, counters, stored files and batches."""

    def __init__(self, latency: float = 0.0, slow_seconds: float = 2.0):
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.faults: list[str] = []  # consumed one per model request, in order
        self.reply: Callable[[str], str] = lambda image_sha: VALID_TEXT
        self.reply_fn: Callable[[dict[str, Any]], str | None] | None = None
        self.answer_fn: Callable[[dict[str, Any]], dict[str, Any] | str | None] | None = None
        self.usage_fn: Callable[[dict[str, Any]], Any] | None = None
        self.keep_bodies = False
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.delay_fn: Callable[[dict[str, Any]], float] | None = None
        self.retry_after = "0.05"  # the "429" fault's retry-after header (OpenAI/Anthropic) and retryDelay (Gemini, + "s")
        self.lock = threading.Lock()
        self.paths: Counter = Counter()
        self.served: Counter = Counter()  # image sha → successful model replies
        self.model_requests = 0
        self.connections = 0  # TCP connections accepted
        self.log: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls_until_done = 1
        self.batch_limits: dict[str, tuple[int, int]] = {}
        self.batch_create_delay = 0.0  # seconds before answering a batch creation (after creating it)
        self.bought: Counter = Counter()  # image sha → batch items created
        self.billed: list[tuple[str, int, int]] = []  # (flavour, input, output) of every 200 model reply

    def buy(self, bodies: list[dict[str, Any]]) -> None:
        """Count the items of a batch just created (a batch bills its items once, fetched or not)."""
        with self.lock:
            for body in bodies:
                self.bought[_image_sha(body)] += 1

    def bill(self, flavour: str) -> None:
        tokens = {"openai": (300, 20), "anthropic": (400, 25), "gemini": (270, 25)}[flavour]
        with self.lock:
            self.billed.append((flavour, *tokens))

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def begin(self, flavour: str, body: dict[str, Any], model: str | None = None) -> tuple[dict[str, Any], str | None]:
        """Count one model request; returns its info dict (see the module docstring) and its fault."""
        fault = self.next_fault()
        temperature = body.get("temperature", (body.get("generationConfig") or {}).get("temperature"))
        with self.lock:
            info = {"flavour": flavour, "sha": _image_sha(body), "model": model or body.get("model"),
                    "temperature": temperature, "n": self.model_requests, "fault": fault}
            self.model_requests += 1
            self.log.append(dict(info))
            if self.keep_bodies:
                self.bodies.append((flavour, body))
        info["body"] = body
        return info, fault

    def text_for(self, info: dict[str, Any]) -> str:
        text = self.reply_fn(info) if self.reply_fn else None
        return text if text is not None else self.reply(info["sha"])

    def batch_limit(self, flavour: str) -> tuple[int, int] | None:
        return self.batch_limits.get(flavour)

    def structured_answer(self, info: dict[str, Any], fault: str | None = None) -> str:
        """The JSON text of a structured answer (see the module docstring)."""
        answer = self.answer_fn(info) if self.answer_fn else None
        if answer is None:
            answer = {"description": self.text_for(info), "targets": [{"point": [500, 500], "box": [490, 490, 510, 510]}]}
        if fault == "long" and isinstance(answer, dict):
            answer = {**answer, "description": LONG_TEXT}
        return answer if isinstance(answer, str) else json.dumps(answer)

    def payload(self, flavour: str, info: dict[str, Any], text: str, fault: str | None, model: str = "") -> dict[str, Any]:
        """The provider's reply body for one model request: plain `text`, or a structured answer."""
        body = info["body"]
        if fault != "refusal" and is_structured(flavour, body):
            answer = self.structured_answer(info, fault)
            if fault == "cut":
                return _cut(flavour, answer[: len(answer) // 2], model)
            if flavour == "openai":
                return _openai_completion(answer)
            if flavour == "gemini":
                return _gemini_response(answer, model)
            return _anthropic_tool_message(answer, body["tool_choice"]["name"])
        if flavour == "openai":
            return _openai_completion(text, refusal=fault == "refusal")
        if flavour == "gemini":
            return _gemini_response(text, model)
        return _anthropic_message(text)


def _cut(flavour: str, partial: str, model: str) -> dict[str, Any]:
    """A structured reply that stopped at the token limit, in the provider's form."""
    if flavour == "openai":
        reply = _openai_completion(partial)
        reply["choices"][0]["finish_reason"] = "length"
        return reply
    if flavour == "gemini":
        reply = _gemini_response(partial, model)
        reply["candidates"][0]["finishReason"] = "MAX_TOKENS"
        return reply
    # Anthropic streams the tool input as JSON; cut off, the block holds what parsed (here: nothing)
    return {**_anthropic_message(""), "content": [{"type": "tool_use", "id": "toolu_cut", "name": "x", "input": {}}],
            "stop_reason": "max_tokens"}


def is_structured(flavour: str, body: dict[str, Any]) -> bool:
    """A request for one JSON answer, in that provider's own terms."""
    if flavour == "openai":
        return (body.get("response_format") or {}).get("type") == "json_schema"
    if flavour == "anthropic":
        return (body.get("tool_choice") or {}).get("type") == "tool"
    config = body.get("generationConfig") or body.get("generation_config") or {}
    return (config.get("responseMimeType") or config.get("response_mime_type")) == "application/json"


def image_bytes(info: dict[str, Any]) -> bytes | None:
    """The bytes of the last image in a request (the one being described)."""
    data = _last_image_b64(info["body"])
    return None if data is None else _b64decode(data)


def _b64decode(data: str) -> bytes:
    # google-genai sends URL-safe base64 without padding
    return base64.urlsafe_b64decode(data.replace("+", "-").replace("/", "_") + "=" * (-len(data) % 4))


def _image_sha(body: dict[str, Any]) -> str:
    """Hash of the last image in a request (the one being described, after any few-shot examples)."""
    data = _last_image_b64(body)
    return "none" if data is None else hashlib.sha256(_b64decode(data)).hexdigest()[:16]


def _last_image_b64(body: dict[str, Any]) -> str | None:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            url = node.get("url")
            if isinstance(url, str) and url.startswith("data:image"):
                found.append(url.split(",", 1)[1])
            if node.get("type") == "base64" and "data" in node:
                found.append(node["data"])
            mime = node.get("mimeType") or node.get("mime_type")
            if isinstance(mime, str) and mime.startswith("image/") and "data" in node:  # Gemini inlineData
                found.append(node["data"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(body.get("messages", []))
    walk(body.get("contents", []))
    return found[-1] if found else None


def _openai_completion(text: str, refusal: bool = False) -> dict[str, Any]:
    message = {"role": "assistant", "content": None if refusal else text, "refusal": text if refusal else None}
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:8], "object": "chat.completion", "created": int(time.time()),
            "model": "gpt-4o", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320}}


def _gemini_response(text: str, model: str) -> dict[str, Any]:
    return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 270, "candidatesTokenCount": 22, "thoughtsTokenCount": 3,
                              "totalTokenCount": 295},
            "modelVersion": model, "responseId": uuid.uuid4().hex[:12]}


# fault → (HTTP status, message, OpenAI/Anthropic error type, Gemini status, Gemini details)
_GEMINI_RETRY = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                  "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                 {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.05s"}]
_GEMINI_DAILY = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                  "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                                  "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]
_GEMINI_BADKEY = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                   "domain": "googleapis.com"}]
_ERRORS: dict[str, tuple[int, str, str, str, list[dict[str, Any]]]] = {
    "429": (429, "rate limited", "rate_limit_error", "RESOURCE_EXHAUSTED", _GEMINI_RETRY),
    "quota": (429, "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota",
              "RESOURCE_EXHAUSTED", _GEMINI_DAILY),
    "500": (500, "server error", "server_error", "INTERNAL", []),
    "529": (529, "overloaded", "overloaded_error", "UNAVAILABLE", []),
    "401": (401, "invalid x-api-key", "authentication_error", "UNAUTHENTICATED", []),
    "badkey": (401, "Incorrect API key provided", "invalid_api_key", "INVALID_ARGUMENT", _GEMINI_BADKEY),
    "400": (400, "bad request: image too large", "invalid_request_error", "INVALID_ARGUMENT", []),
    # Anthropic's billing error (402); others answer an unpaid account with their quota error
    "billing": (402, "Your credit balance is too low to access the Anthropic API.", "billing_error",
                "FAILED_PRECONDITION", []),
}


def _anthropic_message(text: str) -> dict[str, Any]:
    return {"id": "msg_" + uuid.uuid4().hex[:8], "type": "message", "role": "assistant", "model": "claude",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 400, "output_tokens": 25}}


def _anthropic_tool_message(answer: str, tool: str) -> dict[str, Any]:
    try:
        data = json.loads(answer)
    except ValueError:
        data = None
    block = {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:8], "name": tool,
             "input": data if isinstance(data, dict) else {"raw": answer}}
    return {**_anthropic_message(""), "content": [block], "stop_reason": "tool_use"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes: avoid the 40 ms delayed-ACK stall
    api: FakeAPI

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:  # once per TCP connection
        super().setup()
        with self.api.lock:
            self.api.connections += 1

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
    def _fault_reply(self, fault: str, flavour: str) -> None:
        code, message, kind, gstatus, details = _ERRORS[fault]
        if flavour != "gemini":
            headers = {"retry-after": self.api.retry_after} if fault == "429" else None
            return self._error(code, message, kind, headers)
        if fault == "529":
            code, message = 503, "The model is overloaded. Please try again later."
        if fault == "badkey":
            code, message = 400, "API key not valid. Please pass a valid API key."
        if fault == "429":  # Gemini words its per-minute limit like an exhausted quota
            message = "You exceeded your current quota, please check your plan and billing details."
            details = [dict(d, retryDelay=f"{self.api.retry_after}s") if "retryDelay" in d else d for d in details]
        self._send(code, {"error": {"code": code, "message": message, "status": gstatus, "details": details}})

    def _model_reply(self, body: dict[str, Any], flavour: str, model: str | None = None) -> None:
        api = self.api
        auth = self.headers.get("x-api-key") or self.headers.get("x-goog-api-key") or self.headers.get("Authorization") or ""
        with api.lock:
            api.auth_headers.append(auth)
        info, fault = api.begin(flavour, body, model)
        if api.latency:
            time.sleep(api.latency)
        if api.delay_fn:
            time.sleep(api.delay_fn(info))
        if fault in _ERRORS:
            return self._fault_reply(fault, flavour)
        if fault == "slow":
            time.sleep(api.slow_seconds)
        api.bill(flavour)  # a 200 is billed, whether or not the client can read it
        if fault == "malformed":
            return self._send(200, raw=b'{"choices": [ {"message": ' if flavour != "gemini" else b'{"candidates": [{"content": ')
        sha = info["sha"]
        text = api.text_for(info)
        if fault == "refusal":
            text = "I'm sorry, but I can't help identify objects in this image."
        elif fault == "long":
            text = LONG_TEXT
        if fault is None:
            with api.lock:
                api.served[sha] += 1
        payload = api.payload(flavour, info, text, fault, model or "")
        usage = api.usage_fn(info) if api.usage_fn else KEEP_USAGE
        if fault == "reasoning-only" and flavour == "openai":  # vLLM/DeepSeek: thoughts parsed out, no answer left
            message = payload["choices"][0]["message"]
            message["content"], message["reasoning_content"] = None, "Let me look at the frame. " * 40
            payload["choices"][0]["finish_reason"] = "length"
        if usage is not KEEP_USAGE:
            field = "usageMetadata" if flavour == "gemini" else "usage"
            payload.pop(field, None)
            if usage is not None:
                payload[field] = usage
        self._send(200, payload)

    # -- routes --------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?")[0]
        with self.api.lock:
            self.api.paths["POST " + path] += 1
        raw = self._body()
        m = re.search(r"/models/([^/:]+):generateContent$", path)
        if m:
            return self._model_reply(json.loads(raw), "gemini", m.group(1))
        m = re.search(r"/models/([^/:]+):batchGenerateContent$", path)
        if m:
            return self._gemini_batch_create(raw, m.group(1))
        if path.endswith("/chat/completions"):
            return self._model_reply(json.loads(raw), "openai")
        if path.endswith("/messages/batches"):
            return self._anthropic_batch_create(raw)
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
        if path.endswith("/messages/batches"):
            return self._list([self._anthropic_batch_obj(b) for b in self._kind("anthropic")], "anthropic")
        if re.search(r"/v1\w*/batches$", path) and self.headers.get("x-goog-api-key"):  # both SDKs GET /v1/batches
            return self._list([self._gemini_batch_obj(b) for b in self._kind("gemini")], "gemini")
        if path.endswith("/v1/batches"):
            return self._list([self._openai_batch_obj(b) for b in self._kind("openai")], "openai")
        m = re.search(r"/messages/batches/([^/]+)/results$", path)
        if m:
            return self._anthropic_batch_results(m.group(1))
        m = re.search(r"/messages/batches/([^/]+)$", path)
        if m:
            return self._anthropic_batch_get(m.group(1))
        m = re.search(r"/batches/([^/]+)$", path)
        if m and m.group(1) in self.api.batches and self.api.batches[m.group(1)].get("kind") == "gemini":
            return self._gemini_batch_get(m.group(1))
        if m:
            return self._openai_batch_get(m.group(1))
        self._error(404, f"no route {path}")

    # -- batch lists (newest first, one page) ---------------------------------------------------
    def _kind(self, kind: str) -> list[dict[str, Any]]:
        with self.api.lock:
            found = [b for b in self.api.batches.values() if b.get("kind") == kind]
        return sorted(found, key=lambda b: b["created"], reverse=True)

    def _list(self, objs: list[dict[str, Any]], flavour: str) -> None:
        if flavour == "gemini":
            return self._send(200, {"operations": objs})
        first, last = (objs[0]["id"], objs[-1]["id"]) if objs else (None, None)
        self._send(200, {"object": "list", "data": objs, "has_more": False, "first_id": first, "last_id": last})

    # -- OpenAI files + batches ----------------------------------------------------------------
    def _file_upload(self, raw: bytes) -> None:
        # multipart/form-data: take the part holding the JSONL file
        boundary = self.headers.get("Content-Type", "").split("boundary=")[-1].encode()
        content = b""
        for part in raw.split(b"--" + boundary):
            if b'name="file"' in part:
                content = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
        limit = self.api.batch_limit("openai")
        if limit and len(content) > limit[1]:
            return self._send(400, {"error": {"message": f"File size {len(content)} bytes exceeds the limit of {limit[1]} bytes "
                                              "for purpose 'batch'.", "type": "invalid_request_error",
                                              "param": "file", "code": "file_too_large"}})
        fid = "file-" + uuid.uuid4().hex[:10]
        self.api.files[fid] = content
        self._send(200, {"id": fid, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                         "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})

    def _openai_batch_obj(self, b: dict[str, Any]) -> dict[str, Any]:
        return {"id": b["id"], "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": b["input"],
                "completion_window": "24h", "status": b["status"], "output_file_id": b.get("output"),
                "error_file_id": None, "created_at": int(b["created"]), "errors": b.get("errors"), "metadata": b.get("metadata"),
                "request_counts": {"total": b["total"], "completed": b["total"] if b["status"] == "completed" else 0, "failed": 0}}

    def _openai_batch_create(self, body: dict[str, Any]) -> None:
        bid = "batch_" + uuid.uuid4().hex[:10]
        lines = [json.loads(x) for x in self.api.files[body["input_file_id"]].decode().splitlines() if x.strip()]
        self.api.batches[bid] = {"id": bid, "input": body["input_file_id"], "status": "in_progress", "polls": 0,
                                 "lines": lines, "total": len(lines), "kind": "openai", "created": time.time(),
                                 "metadata": body.get("metadata")}
        limit = self.api.batch_limit("openai")
        if limit and len(lines) > limit[0]:  # OpenAI validates the file after creation: the batch fails
            self.api.batches[bid].update(status="failed", errors={"object": "list", "data": [{
                "code": "too_many_requests", "line": None, "param": None,
                "message": f"The batch input file has {len(lines)} requests; the limit is {limit[0]}."}]})
        if self.api.batches[bid]["status"] != "failed":
            self.api.buy([line["body"] for line in lines])
        if self.api.batch_create_delay:  # tests may patch time.sleep (shared module) to interrupt a run
            time.sleep(self.api.batch_create_delay)
        self._send(200, self._openai_batch_obj(self.api.batches[bid]))

    def _openai_batch_get(self, bid: str) -> None:
        b = self.api.batches[bid]
        b["polls"] += 1
        if b["status"] == "in_progress" and b["polls"] >= self.api.batch_polls_until_done:
            out = []
            for line in b["lines"]:
                info, fault = self.api.begin("openai", line["body"])
                sha = info["sha"]
                text = "I'm unable to help with that." if fault == "refusal" else self.api.text_for(info)
                if fault is None:
                    self.api.served[sha] += 1
                reply = self.api.payload("openai", info, text, None)
                out.append(json.dumps({"id": "r", "custom_id": line["custom_id"], "error": None,
                                       "response": {"status_code": 200, "body": reply}}))
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
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(b["created"])),
                "expires_at": "2099-01-02T00:00:00Z",
                "ended_at": "2025-01-01T01:00:00Z" if ended else None, "cancel_initiated_at": None,
                "archived_at": None, "results_url": f"/v1/messages/batches/{b['id']}/results" if ended else None}

    def _anthropic_batch_create(self, raw: bytes) -> None:
        limit = self.api.batch_limit("anthropic")
        if limit and len(raw) > limit[1]:
            return self._send(413, {"type": "error", "error": {"type": "request_too_large",
                                                               "message": "Request exceeds the maximum allowed number of bytes."}})
        reqs = json.loads(raw)["requests"]
        if limit and len(reqs) > limit[0]:
            return self._send(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                               "message": f"requests: at most {limit[0]} requests per batch"}})
        bid = "msgbatch_" + uuid.uuid4().hex[:10]
        self.api.batches[bid] = {"id": bid, "status": "in_progress", "polls": 0, "requests": reqs, "total": len(reqs),
                                 "kind": "anthropic", "created": time.time()}
        self.api.buy([r["params"] for r in reqs])
        if self.api.batch_create_delay:  # tests may patch time.sleep (shared module) to interrupt a run
            time.sleep(self.api.batch_create_delay)
        self._send(200, self._anthropic_batch_obj(self.api.batches[bid]))

    def _anthropic_batch_get(self, bid: str) -> None:
        b = self.api.batches[bid]
        b["polls"] += 1
        if b["status"] != "ended" and b["polls"] >= self.api.batch_polls_until_done:
            out = []
            for r in b["requests"]:
                info, fault = self.api.begin("anthropic", r["params"])
                sha = info["sha"]
                text = "I'm unable to help with that." if fault == "refusal" else self.api.text_for(info)
                if fault is None:
                    self.api.served[sha] += 1
                message = self.api.payload("anthropic", info, text, None)
                out.append(json.dumps({"custom_id": r["custom_id"], "result": {"type": "succeeded", "message": message}}))
            b["results"] = ("\n".join(out) + "\n").encode()
            b["status"] = "ended"
        self._send(200, self._anthropic_batch_obj(b))

    def _anthropic_batch_results(self, bid: str) -> None:
        self._send(200, raw=self.api.batches[bid].get("results", b""), content_type="application/x-jsonl")


    # -- Gemini batches (inline requests) -----------------------------------------------------------
    def _gemini_batch_obj(self, b: dict[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
                                "model": f"models/{b['model']}", "state": b["status"],
                                "createTime": "2025-01-01T00:00:00Z", "name": f"batches/{b['id']}"}
        if b.get("display_name"):
            meta["displayName"] = b["display_name"]
        if "results" in b:
            meta["output"] = {"inlinedResponses": {"inlinedResponses": b["results"]}}
        return {"name": f"batches/{b['id']}", "metadata": meta, "done": b["status"] == "BATCH_STATE_SUCCEEDED"}

    def _gemini_batch_create(self, raw: bytes, model: str) -> None:
        limit = self.api.batch_limit("gemini")
        if limit and len(raw) > limit[1]:
            return self._send(400, {"error": {"code": 400, "message": f"Request payload size exceeds the limit: {limit[1]} bytes.",
                                              "status": "INVALID_ARGUMENT"}})
        batch = json.loads(raw)["batch"]
        reqs = batch["inputConfig"]["requests"]["requests"]
        if limit and len(reqs) > limit[0]:
            return self._send(400, {"error": {"code": 400, "message": f"at most {limit[0]} requests per batch",
                                              "status": "INVALID_ARGUMENT"}})
        bid = uuid.uuid4().hex[:12]
        self.api.batches[bid] = {"id": bid, "status": "BATCH_STATE_PENDING", "polls": 0, "requests": reqs,
                                 "total": len(reqs), "kind": "gemini", "model": model, "created": time.time(),
                                 "display_name": batch.get("displayName")}
        self.api.buy([r["request"] for r in reqs])
        if self.api.batch_create_delay:  # tests may patch time.sleep (shared module) to interrupt a run
            time.sleep(self.api.batch_create_delay)
        self._send(200, self._gemini_batch_obj(self.api.batches[bid]))

    def _gemini_batch_get(self, bid: str) -> None:
        b = self.api.batches[bid]
        b["polls"] += 1
        if b["status"] != "BATCH_STATE_SUCCEEDED" and b["polls"] >= self.api.batch_polls_until_done:
            out = []
            for r in b["requests"]:
                info, fault = self.api.begin("gemini", r["request"], b["model"])
                text = "I'm unable to help with that." if fault == "refusal" else self.api.text_for(info)
                if fault is None:
                    self.api.served[info["sha"]] += 1
                out.append({"response": self.api.payload("gemini", info, text, None, b["model"]),
                            "metadata": r.get("metadata", {})})
            b["results"], b["status"] = out, "BATCH_STATE_SUCCEEDED"
        elif b["status"] == "BATCH_STATE_PENDING":
            b["status"] = "BATCH_STATE_RUNNING"
        self._send(200, self._gemini_batch_obj(b))


class _Server(ThreadingHTTPServer):
    # set before `listen`: assigning it on an instance after construction leaves the backlog at 5,
    # and 64 clients connecting at once then lose SYNs (1 s retransmits) or get reset connections
    request_queue_size = 1024
    daemon_threads = True


class FakeServer:
    """Context manager: `with FakeServer(latency=0.2) as fake: fake.openai_url, fake.api.faults …`."""

    def __init__(self, latency: float = 0.0, slow_seconds: float = 2.0):
        self.api = FakeAPI(latency, slow_seconds)
        handler = type("Handler", (_Handler,), {"api": self.api})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        # shutdown() waits for serve_forever's next poll: the default 0.5 s cost every test that much
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

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
