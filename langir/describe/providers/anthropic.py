"""Anthropic (Messages API, Message Batches)."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

from langir.describe.providers.base import (
    BatchAdapter,
    FatalError,
    Provider,
    Reply,
    Request,
    RetryableError,
    classify_status,
    png_b64,
    structured_reply,
    token_count,
    with_usage,
)
from langir.describe.providers.http11 import async_http_client


class AnthropicProvider(Provider):
    """Messages API with a base64 image block."""

    name = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    default_model = "claude-sonnet-4-5"
    summary = "Anthropic Messages (Claude)"
    # ≤ 8000 px a side and ≤ 5 MB an image (counted on the base64 text)
    max_side = 8000
    max_image_bytes = 5 * 1024 * 1024
    prices: ClassVar[dict[str, tuple[float, float]]] = {
        "claude-sonnet-4-5": (3.00, 15.00),
        "claude-sonnet-4": (3.00, 15.00),
        "claude-3-5-sonnet": (3.00, 15.00),
        "claude-haiku-4-5": (1.00, 5.00),
        "claude-3-5-haiku": (0.80, 4.00),
        "claude-opus-4": (15.00, 75.00),
        "claude-opus-4-5": (5.00, 25.00),
    }
    batch_discount = 0.5
    # Message Batches: ≤ 100,000 requests and ≤ 256 MB per batch
    batch_max_requests = 100_000
    batch_max_bytes = 256 * 1024 * 1024
    quota_markers = ("credit balance is too low",)
    coordinates: ClassVar[dict[str, str]] = {"": "pixels"}  # Claude estimates pixels of the image as sent

    def __init__(self, model: str | None, api_key: str, base_url: str | None = None, timeout: float = 60.0):
        super().__init__(model)
        import anthropic

        self._anthropic = anthropic
        http_client, self.transport = async_http_client(anthropic.DefaultAsyncHttpxClient, timeout)
        self.client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0,
                                               http_client=http_client)
        self.sync_client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    @staticmethod
    def _image_block(png_b64: str) -> dict[str, Any]:
        return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png_b64}}

    def params(self, request: Request) -> dict[str, Any]:
        msgs: list[dict[str, Any]] = []
        for shot in request.prompt.shots:
            msgs.append({"role": "user", "content": [self._image_block(png_b64(shot.png)),
                                                     {"type": "text", "text": request.prompt.task}]})
            msgs.append({"role": "assistant", "content": shot.text})
        assert request.image is not None
        msgs.append({"role": "user", "content": [self._image_block(request.image.b64), {"type": "text", "text": request.prompt.task}]})
        # No temperature: this SDK's Messages API no longer takes it (model default sampling).
        params: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens, "messages": msgs}
        if request.prompt.role:
            params["system"] = request.prompt.role
        if request.structured:  # a forced tool: the answer is the tool_use block's input
            from langir.describe.structured import SCHEMA_NAME, answer_schema

            params["tools"] = [{"name": SCHEMA_NAME, "description": "Record the answer: the description and the "
                                "positions of the small targets (0..1000 of the image's width and height, x first).",
                                "input_schema": answer_schema(request.max_words)}]
            params["tool_choice"] = {"type": "tool", "name": SCHEMA_NAME}
        return params

    async def describe(self, request: Request) -> Reply:
        try:  # the client's documented raw `post`, as in OpenAIProvider.describe
            # cast_to=object: this SDK returns the decoded JSON as is (httpx.Response is refused here)
            data = await self.client.post("/v1/messages", cast_to=object, body=self.params(request))
        except (self._anthropic.AnthropicError, ValueError) as error:  # ValueError: a body that is not JSON
            raise self.classify(error) from None
        return self.parse(data, request.structured)

    @staticmethod
    def parse(data: Any, structured: bool = False) -> Reply:
        """A message → Reply; `structured`: the answer is the input of the forced tool's `tool_use` block."""
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise RetryableError("malformed reply: no content blocks")
        text = " ".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text").strip()
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        tin, tout = token_count(usage.get("input_tokens")), token_count(usage.get("output_tokens"))
        if structured:
            from langir.describe.structured import SCHEMA_NAME

            use = next((b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"
                        and b.get("name") == SCHEMA_NAME), None)
            answer = json.dumps(use.get("input")) if use is not None else None
            return with_usage(structured_reply(answer, 0, 0, cut_off=data.get("stop_reason") == "max_tokens",
                                               text=text or None, stop_reason=data.get("stop_reason")), tin, tout)
        return with_usage(Reply(text, raw=json.dumps({"content": text, "stop_reason": data.get("stop_reason")})), tin, tout)

    @classmethod
    def classify(cls, error: Exception) -> RetryableError | FatalError:
        status = getattr(error, "status_code", None)
        if isinstance(status, int):  # 529 overloaded falls under ≥ 500: retryable
            body = getattr(error, "body", None) or getattr(error, "message", "") or str(error)
            headers = getattr(getattr(error, "response", None), "headers", None)
            return classify_status(status, body, headers, cls.quota_markers)
        return super().classify(error)

    @classmethod
    def image_tokens(cls, width: int, height: int, detail: str = "auto", model: str | None = None) -> int:
        """Anthropic's documented estimate: width × height / 750 (after its own 1568-px resize)."""
        scale = min(1.0, 1568 / max(width, height))
        return math.ceil(width * scale * height * scale / 750)

    async def aclose(self) -> None:
        await self.client.close()
        self.sync_client.close()


class AnthropicBatches(BatchAdapter):
    """Message Batches: one POST with every request's params inline."""

    overhead_bytes = len('{"requests": []}')

    def custom_id(self, prefix: str, key: str) -> str:
        # Message Batches carry no metadata: the tag rides on every custom_id (≤ 64 characters)
        return f"{prefix}-{key}" if prefix else key

    def key_of(self, prefix: str, custom_id: str) -> str | None:
        if not prefix:
            return custom_id
        head, _, key = custom_id.partition("-")
        return key if head == prefix else None

    def entry(self, key: str, request: Request) -> dict[str, Any]:
        assert isinstance(self.provider, AnthropicProvider)
        self.structured = request.structured
        return {"custom_id": key, "params": self.provider.params(request)}

    def entry_bytes(self, entry: dict[str, Any]) -> int:
        # default separators and ASCII escapes: never less than what the SDK sends
        return len(json.dumps(entry)) + 2

    @property
    def client(self) -> Any:
        assert isinstance(self.provider, AnthropicProvider)
        return self.provider.sync_client

    def submit(self, entries: list[dict[str, Any]], tag: str = "") -> str:
        return self.client.messages.batches.create(requests=entries).id

    def find(self, tag: str, prefix: str, keys: list[str], since: float) -> str | None:
        """Batches created since the intent (a minute of clock skew allowed), newest first: an ended one is
        ours when its results carry our custom_id prefix; one still running with our request count is
        taken (its results are matched by prefix, so another's batch answers none of our keys)."""
        running = None
        for b in self.client.messages.batches.list(limit=100):
            created = b.created_at.timestamp() if b.created_at else 0.0
            if created < since - 60:
                break
            if b.processing_status == "ended":
                first = next(iter(self.client.messages.batches.results(b.id)), None)
                if first is not None and self.key_of(prefix, first.custom_id) is not None:
                    return str(b.id)
            elif running is None and sum(dict(b.request_counts).values()) == len(keys):
                running = str(b.id)
        return running

    def poll(self, batch_id: str) -> tuple[bool, str]:
        b = self.client.messages.batches.retrieve(batch_id)
        return b.processing_status == "ended", f"{b.processing_status} {b.request_counts.succeeded} succeeded"

    def results(self, batch_id: str) -> dict[str, Reply | str]:
        found: dict[str, Reply | str] = {}
        for item in self.client.messages.batches.results(batch_id):
            if item.result.type == "succeeded":
                found[item.custom_id] = AnthropicProvider.parse(item.result.message.model_dump(), self.structured)
            else:
                found[item.custom_id] = f"batch {item.result.type}"
        return found


AnthropicProvider.batch_adapter = AnthropicBatches
