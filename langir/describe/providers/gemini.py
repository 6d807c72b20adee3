"""Google Gemini (Gemini API `models/{model}:generateContent`) through the `google-genai` SDK."""

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
    longest_prefix,
    structured_reply,
    token_count,
    with_usage,
)
from langir.describe.providers.http11 import Http11Transport, proxied


class GeminiProvider(Provider):
    """generateContent with the image as inline bytes (`Part.from_bytes`)."""

    name = "gemini"
    key_env = "GEMINI_API_KEY"
    default_model = "gemini-2.5-flash"
    summary = "Google Gemini API (google-genai SDK)"
    # inline data: the whole request ≤ 20 MB; the API scales large images down itself, so more
    # than 3072 px a side only costs upload time
    max_side = 3072
    max_image_bytes = 20 * 1024 * 1024
    prices: ClassVar[dict[str, tuple[float, float]]] = {
        "gemini-2.5-flash": (0.30, 2.50),
        "gemini-2.5-flash-lite": (0.10, 0.40),
        "gemini-2.5-pro": (1.25, 10.00),  # prompts ≤ 200k tokens
        "gemini-2.0-flash": (0.10, 0.40),
        "gemini-2.0-flash-lite": (0.075, 0.30),
    }
    batch_discount = 0.5
    # Batch API with inline requests: the create request ≤ 20 MB (the binding limit for images);
    # no request count is documented, so a generous cap
    batch_max_requests = 100_000
    batch_max_bytes = 20 * 1024 * 1024
    # Smallest thinking budget each family accepts (2.5 Flash can switch thinking off, 2.5 Pro
    # cannot go below 128). A 50-word description needs no thinking, and thinking tokens are
    # billed as output and count against max_output_tokens. Models not listed: the model's default.
    min_thinking: ClassVar[dict[str, int]] = {"gemini-2.5-flash": 0, "gemini-2.5-pro": 128}
    # 429 RESOURCE_EXHAUSTED with "You exceeded your current quota … billing details" is also the
    # per-minute rate limit (retry after `retryDelay`); only a per-day quota (QuotaFailure quotaId
    # "…PerDay…") cannot be waited out within a run.
    quota_markers = ("perday",)
    coordinates: ClassVar[dict[str, str]] = {"": "gemini"}  # box_2d / point: [y, x] on 0–1000

    def __init__(self, model: str | None, api_key: str, base_url: str | None = None, timeout: float = 60.0):
        super().__init__(model)
        from google import genai
        from google.genai import types

        self._types = types
        extra: dict[str, Any] = {}
        self.transport: Http11Transport | None = None
        if "async_client_args" in types.HttpOptions.model_fields and not proxied():
            # describe's requests on the lean transport (http11.py), as for OpenAI and Anthropic; given a
            # transport, google-genai sends with httpx (not aiohttp, where installed)
            self.transport = Http11Transport()
            extra["async_client_args"] = {"transport": self.transport}
        options = types.HttpOptions(
            base_url=base_url, timeout=int(timeout * 1000),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),  # the runner retries, not the SDK
            **extra,
        )
        self.client = genai.Client(api_key=api_key, vertexai=False, http_options=options)
        self.sync_client = self.client  # one client serves both (sync calls: batch housekeeping)

    def contents(self, request: Request) -> list[Any]:
        types = self._types
        contents = []
        for shot in request.prompt.shots:
            contents.append(types.Content(role="user", parts=[types.Part.from_bytes(data=shot.png, mime_type="image/png"),
                                                              types.Part(text=request.prompt.task)]))
            contents.append(types.Content(role="model", parts=[types.Part(text=shot.text)]))
        assert request.image is not None
        contents.append(types.Content(role="user", parts=[types.Part.from_bytes(data=request.image.png, mime_type="image/png"),
                                                          types.Part(text=request.prompt.task)]))
        return contents

    def config(self, request: Request) -> Any:
        types = self._types
        family = longest_prefix(self.min_thinking, self.model)
        budget = self.min_thinking[family] if family is not None else None
        structured: dict[str, Any] = {}
        if request.structured:  # JSON mode with the answer schema (direct and batch requests alike)
            from langir.describe.structured import answer_schema, gemini_schema

            structured = {"response_mime_type": "application/json",
                          "response_schema": types.Schema.model_validate(gemini_schema(answer_schema(request.max_words)))}
        return types.GenerateContentConfig(
            system_instruction=request.prompt.role or None,
            temperature=request.temperature,
            max_output_tokens=request.max_tokens + (budget or 0),
            thinking_config=types.ThinkingConfig(thinking_budget=budget) if budget is not None else None,
            **structured,
        )

    async def describe(self, request: Request) -> Reply:
        try:
            response = await self.client.aio.models.generate_content(
                model=self.model, contents=self.contents(request), config=self.config(request))
        except Exception as error:  # SDK, httpx and JSON errors alike → classify
            raise self.classify(error) from None
        return self.parse(response, request.structured)

    @staticmethod
    def parse(response: Any, structured: bool = False) -> Reply:
        """A generateContent response → Reply; `structured`: the text is the JSON answer."""
        candidates = getattr(response, "candidates", None) or []
        feedback = getattr(response, "prompt_feedback", None)
        block = getattr(feedback, "block_reason", None)
        if not candidates and block is None:
            raise RetryableError("malformed reply: no candidates")
        parts = (candidates[0].content.parts if candidates and candidates[0].content else None) or []
        text = " ".join(p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", False)).strip()
        usage = getattr(response, "usage_metadata", None)
        tin = token_count(getattr(usage, "prompt_token_count", None))
        # an empty answer may come without a candidates count; thinking tokens are billed as output tokens
        answer = token_count(getattr(usage, "candidates_token_count", None) if usage is not None and (
            text or getattr(usage, "candidates_token_count", None) is not None) else 0)
        thoughts = getattr(usage, "thoughts_token_count", None)
        thought = 0 if thoughts is None else token_count(thoughts)
        tout = None if answer is None or thought is None else answer + thought
        finish = getattr(candidates[0], "finish_reason", None) if candidates else None
        if structured:
            return with_usage(structured_reply(text or None, 0, 0, cut_off=_enum(finish) == "MAX_TOKENS",
                                               finish_reason=_enum(finish), block_reason=_enum(block)), tin, tout)
        raw = {"content": text, "finish_reason": _enum(finish), "block_reason": _enum(block)}
        return with_usage(Reply(text, raw=json.dumps(raw)), tin, tout)

    @classmethod
    def classify(cls, error: Exception) -> RetryableError | FatalError:
        code = getattr(error, "code", None)
        if isinstance(code, int) and hasattr(error, "details"):  # google.genai.errors.APIError
            details = getattr(error, "details", None) or getattr(error, "message", None) or str(error)
            if "API_KEY_INVALID" in str(details) or "API key not valid" in str(details):  # Gemini's 400 for a bad key
                return FatalError(f"HTTP {code} API key not valid (check the key in the environment)", "auth")
            mapped = classify_status(code, details, _headers(error), cls.quota_markers)
            if isinstance(mapped, RetryableError) and mapped.retry_after is None:
                mapped.retry_after = _retry_delay(details)
            return mapped
        return super().classify(error)

    @classmethod
    def image_tokens(cls, width: int, height: int, detail: str = "auto", model: str | None = None) -> int:
        """Gemini's documented count: 258 tokens when both sides ≤ 384 px, else 258 per 768×768 tile."""
        if width <= 384 and height <= 384:
            return 258
        return 258 * math.ceil(width / 768) * math.ceil(height / 768)

    async def aclose(self) -> None:
        await self.client.aio.aclose()
        self.client.close()


class GeminiBatches(BatchAdapter):
    """Batch API (`models/{model}:batchGenerateContent`) with inline requests; key in each request's metadata."""

    # per entry: JSON keys/escapes differ a little from the SDK's wire form (camelCase, URL-safe
    # base64 with padding); this margin keeps the count an upper bound
    margin = 256
    overhead_bytes = 256
    done_states = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED")

    @property
    def p(self) -> GeminiProvider:
        assert isinstance(self.provider, GeminiProvider)
        return self.provider

    def entry(self, key: str, request: Request) -> Any:
        self.structured = request.structured
        return self.p._types.InlinedRequest(contents=self.p.contents(request), config=self.p.config(request),
                                            metadata={"key": key})

    def entry_bytes(self, entry: Any) -> int:
        return len(json.dumps(entry.model_dump(mode="json", exclude_none=True))) + self.margin

    def submit(self, entries: list[Any], tag: str = "") -> str:
        job = self.p.client.batches.create(model=self.p.model, src=entries, config={"display_name": tag} if tag else None)
        return str(job.name)

    def find(self, tag: str, prefix: str, keys: list[str], since: float) -> str | None:
        """Through `GET batches`, by `display_name`."""
        for job in self.p.client.batches.list(config={"page_size": 100}):
            if job.display_name == tag:
                return str(job.name)
        return None

    def poll(self, batch_id: str) -> tuple[bool, str]:
        job = self.p.client.batches.get(name=batch_id)
        state = _enum(job.state) or "unknown"
        return state in self.done_states, state.removeprefix("JOB_STATE_").lower()

    def results(self, batch_id: str) -> dict[str, Reply | str]:
        job = self.p.client.batches.get(name=batch_id)
        if _enum(job.state) != "JOB_STATE_SUCCEEDED":
            message = getattr(job.error, "message", None) or _enum(job.state)
            raise FatalError(f"batch {batch_id} ended {_enum(job.state)}: {message}", "bad_request")
        found: dict[str, Reply | str] = {}
        for item in (job.dest.inlined_responses if job.dest else None) or []:
            key = (item.metadata or {}).get("key")
            if not key:
                continue
            if item.error is not None or item.response is None:
                found[key] = f"batch error: {getattr(item.error, 'message', None) or 'no response'}"
                continue
            try:
                found[key] = GeminiProvider.parse(item.response, self.structured)
            except RetryableError as error:
                found[key] = str(error)
        return found


GeminiProvider.batch_adapter = GeminiBatches


def _enum(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def _headers(error: Exception) -> Any:
    return getattr(getattr(error, "response", None), "headers", None)


def _retry_delay(details: Any) -> float | None:
    """`google.rpc.RetryInfo.retryDelay` ("12s", "0.5s") from an error body, in seconds."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    for item in error.get("details", []) if isinstance(error, dict) else []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                seconds = float(delay[:-1])
            except ValueError:
                return None
            return max(0.0, seconds) if math.isfinite(seconds) else None  # "nans", "-5s": no wait to honour
    return None
