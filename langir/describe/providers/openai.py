"""OpenAI (Chat Completions, Batch API), also any OpenAI-compatible server via `--base-url`."""

from __future__ import annotations

import io
import json
import math
from typing import TYPE_CHECKING, Any, ClassVar

from langir.describe.providers.base import (
    BatchAdapter,
    FatalError,
    Provider,
    Reply,
    Request,
    RetryableError,
    classify_status,
    longest_prefix,
    png_b64,
    short,
    structured_reply,
    token_count,
    with_usage,
)
from langir.describe.providers.http11 import async_http_client
from langir.text.conventions import FAMILIES

if TYPE_CHECKING:
    from langir.describe.prompts import Prompt


class OpenAIProvider(Provider):
    """Chat Completions with the image as a base64 data URL."""

    name = "openai"
    key_env = "OPENAI_API_KEY"
    default_model = "gpt-4o"
    keyless_base_url = True
    summary = "OpenAI Chat Completions, or any OpenAI-compatible server via --base-url (vLLM, Ollama)"
    # images are fitted into 2048×2048 by the API anyway; ≤ 20 MB an image
    max_side = 2048
    max_image_bytes = 20 * 1024 * 1024
    prices: ClassVar[dict[str, tuple[float, float]]] = {
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-5": (1.25, 10.00),
        "gpt-5-mini": (0.25, 2.00),
    }
    batch_discount = 0.5
    # Batch API: ≤ 50,000 requests and ≤ 200 MB per input file
    batch_max_requests = 50_000
    batch_max_bytes = 200 * 1024 * 1024
    # (base, per 512-px tile) image tokens; the mini models bill many more tokens at a lower price
    tile_tokens: ClassVar[dict[str, tuple[int, int]]] = {"": (85, 170), "gpt-4o-mini": (2833, 5667)}
    quota_markers = ("insufficient_quota", "exceeded your current quota", "billing_hard_limit")
    coordinates: ClassVar[dict[str, str]] = FAMILIES  # GPT pixels, and the open models servers behind --base-url run

    def __init__(self, model: str | None, api_key: str, base_url: str | None = None, timeout: float = 60.0):
        super().__init__(model)
        import httpx
        import openai

        self._openai, self._httpx = openai, httpx
        # describe's requests on the lean keep-alive transport (http11.py: ≈ 0.9 ms less CPU a request)
        http_client, self.transport = async_http_client(openai.DefaultAsyncHttpxClient, timeout)
        self.client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0,
                                         http_client=http_client)
        self.sync_client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    def messages(self, request: Request) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = []
        if request.prompt.role:
            msgs.append({"role": "system", "content": request.prompt.role})
        for shot in request.prompt.shots:
            msgs.append({"role": "user", "content": [
                {"type": "text", "text": request.prompt.task},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png_b64(shot.png), "detail": request.detail}},
            ]})
            msgs.append({"role": "assistant", "content": shot.text})
        assert request.image is not None
        msgs.append({"role": "user", "content": [
            {"type": "text", "text": request.prompt.task},
            {"type": "image_url", "image_url": {"url": request.image.data_url, "detail": request.detail}},
        ]})
        return msgs

    def body(self, request: Request) -> dict[str, Any]:
        """The request body, direct and batch alike (structured: `response_format` json_schema, strict)."""
        body = {"model": self.model, "messages": self.messages(request), "max_tokens": request.max_tokens,
                "temperature": request.temperature}
        if request.structured:
            from langir.describe.structured import SCHEMA_NAME, answer_schema

            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": SCHEMA_NAME, "strict": True, "schema": answer_schema(request.max_words)}}
        return body

    async def describe(self, request: Request) -> Reply:
        # The client's documented raw `post` (for custom requests) instead of `chat.completions.create`:
        # same auth, timeout and error mapping, without the SDK's per-request typed-dict transform of
        # the base64 payload (≈ 3 ms CPU a request, the largest client cost at high concurrency).
        try:
            response = await self.client.post("/chat/completions", cast_to=self._httpx.Response, body=self.body(request))
            data = json.loads(response.content)
        except (self._openai.OpenAIError, ValueError) as error:  # ValueError: a body that is not JSON
            raise self.classify(error) from None
        return self.parse(data, request.structured)

    @staticmethod
    def parse(data: Any, structured: bool = False) -> Reply:
        """A chat completion → Reply; `structured`: the message content is the JSON answer."""
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise RetryableError("malformed reply: no choices[0].message") from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        tin, tout = token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))
        if structured:
            finish = data["choices"][0].get("finish_reason")
            reply = structured_reply(message.get("content"), 0, 0, cut_off=finish == "length",
                                     refusal=message.get("refusal"), finish_reason=finish)
            if message.get("content") is None and message.get("refusal"):
                reply.text, reply.problem = str(message["refusal"]).strip(), "refusal"
            return with_usage(reply, tin, tout)
        text = message.get("content") or message.get("refusal") or ""
        reply = Reply(str(text).strip(), raw=json.dumps({"content": message.get("content"), "refusal": message.get("refusal")}))
        # servers that parse a thinking model's reasoning out of the content (vLLM, DeepSeek, OpenRouter) put it here
        if not reply.text and (message.get("reasoning_content") or message.get("reasoning")):
            # imported here: the provider registry's import stays light (langir.data pulls numpy)
            from langir.data.text_rules import ONLY_REASONING

            cut = data["choices"][0].get("finish_reason") == "length"
            reply.problem = (f"the reply holds {ONLY_REASONING}"
                             + (" (it stopped at the token limit: raise --max-tokens)" if cut else ""))
        return with_usage(reply, tin, tout)

    @classmethod
    def classify(cls, error: Exception) -> RetryableError | FatalError:
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            body = getattr(error, "body", None) or getattr(error, "message", "") or str(error)
            headers = getattr(getattr(error, "response", None), "headers", None)
            return classify_status(status, body, headers, cls.quota_markers)
        return super().classify(error)

    @classmethod
    def image_tokens(cls, width: int, height: int, detail: str = "auto", model: str | None = None) -> int:
        """OpenAI's documented formula for GPT-4o-class models: base + per-tile tokens for 512-px tiles.

        'low' is the base alone; 'high' fits the image in 2048×2048, scales the short side to 768,
        then counts tiles; 'auto' is treated as 'high' (an upper bound for the estimate).
        """
        base, tile = cls.tile_tokens[longest_prefix(cls.tile_tokens, model or "") or ""]
        if detail == "low":
            return base
        scale = min(1.0, 2048 / max(width, height))
        w, h = width * scale, height * scale
        scale = min(1.0, 768 / min(w, h))
        w, h = w * scale, h * scale
        return base + tile * math.ceil(w / 512) * math.ceil(h / 512)

    def message_overhead_tokens(self, prompt: Prompt) -> int:
        return 7 * (2 + 2 * len(prompt.shots))  # ≈ role/format tokens per chat message

    async def aclose(self) -> None:
        await self.client.close()
        self.sync_client.close()


class OpenAIBatches(BatchAdapter):
    """Batch API: one JSONL file (one line a request) uploaded with purpose 'batch', then a batch."""

    def entry(self, key: str, request: Request) -> str:
        assert isinstance(self.provider, OpenAIProvider)
        self.structured = request.structured
        return json.dumps({"custom_id": key, "method": "POST", "url": "/v1/chat/completions",
                           "body": self.provider.body(request)})

    def entry_bytes(self, entry: str) -> int:
        return len(entry.encode()) + 1  # the line and its newline

    @property
    def client(self) -> Any:
        assert isinstance(self.provider, OpenAIProvider)
        return self.provider.sync_client

    def submit(self, entries: list[str], tag: str = "") -> str:
        data = ("\n".join(entries) + "\n").encode()
        upload = self.client.files.create(file=("langir-batch.jsonl", io.BytesIO(data)), purpose="batch")
        return self.client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                          completion_window="24h", metadata={"langir_tag": tag}).id

    def find(self, tag: str, prefix: str, keys: list[str], since: float) -> str | None:
        """Newest first through `GET /batches`, by the `langir_tag` metadata; stops a day before the intent."""
        for b in self.client.batches.list(limit=100):
            if (b.metadata or {}).get("langir_tag") == tag:
                return str(b.id)
            if b.created_at and b.created_at < since - 86_400:
                break
        return None

    def poll(self, batch_id: str) -> tuple[bool, str]:
        b = self.client.batches.retrieve(batch_id)
        counts = b.request_counts
        done = f"{counts.completed}/{counts.total}" if counts else ""
        return b.status in ("completed", "failed", "expired", "cancelled"), f"{b.status} {done}"

    def results(self, batch_id: str) -> dict[str, Reply | str]:
        b = self.client.batches.retrieve(batch_id)
        if b.status == "failed" and not b.output_file_id:
            errors = [e.message or e.code for e in (b.errors.data if b.errors and b.errors.data else [])]
            raise FatalError(f"batch {batch_id} failed: {short('; '.join(str(e) for e in errors) or 'no reason given')}",
                             "bad_request")
        found: dict[str, Reply | str] = {}
        for file_id in (b.output_file_id, b.error_file_id):
            if not file_id:
                continue
            for line in self.client.files.content(file_id).text.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                response = item.get("response") or {}
                if item.get("error") or response.get("status_code") != 200:
                    found[item["custom_id"]] = f"batch error: {item.get('error') or response.get('status_code')}"
                    continue
                try:
                    found[item["custom_id"]] = OpenAIProvider.parse(response["body"], self.structured)
                except RetryableError as error:
                    found[item["custom_id"]] = str(error)
        return found


OpenAIProvider.batch_adapter = OpenAIBatches
