"""Providers: one small class each behind one interface (`Provider`).

A provider turns a `Request` (encoded image, prompt, limits) into a `Reply` (text, tokens) or
raises `RetryableError` / `FatalError`. Retrying is NOT done here: the runner owns the single
tenacity policy, and the SDK clients are built with `max_retries=0` so nothing retries twice.
SDKs are imported inside the classes so `langir --help` stays fast.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from langir.describe.images import EncodedImage
from langir.describe.pricing import anthropic_image_tokens, openai_image_tokens, text_tokens
from langir.describe.prompts import Prompt
from langir.describe.template import template_description
from langir.errors import ConfigError

PROVIDERS = ("auto", "template", "openai", "anthropic")
DEFAULT_MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5", "template": "template"}
KEY_ENVS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@dataclass
class Request:
    image_id: str
    image: EncodedImage | None
    prompt: Prompt
    max_tokens: int = 300
    temperature: float = 0.0
    detail: str = "auto"
    max_words: int = 50
    mask: np.ndarray | None = None  # only the template provider reads it


@dataclass
class Reply:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    raw: str = ""  # what the server said (kept in the ledger for --revalidate)
    extra: dict[str, Any] = field(default_factory=dict)


class RetryableError(Exception):
    """A transient failure (429, 5xx, 529, timeout, connection, malformed reply); may carry retry-after."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(Exception):
    """A failure that retrying cannot fix (401, 400, exhausted quota): stop fast."""


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        return seconds / 1000 if name.endswith("-ms") else seconds
    return None


def classify(error: Exception) -> Exception:
    """Map an SDK/HTTP exception onto RetryableError or FatalError (shared by both SDKs)."""
    status = getattr(error, "status_code", None)
    name = type(error).__name__
    if status is not None:
        response = getattr(error, "response", None)
        body = str(getattr(error, "body", "") or getattr(error, "message", "") or error)
        if status == 429 and ("insufficient_quota" in body or "quota" in body.lower() and "exceeded your" in body.lower()):
            return FatalError(f"HTTP 429 quota exhausted: {_short(body)}")
        if status in (408, 409, 429) or status >= 500:
            return RetryableError(f"HTTP {status}", _retry_after(getattr(response, "headers", None)))
        if status in (401, 403):
            return FatalError(f"HTTP {status} authentication failed (check the API key in the environment)")
        return FatalError(f"HTTP {status}: {_short(body)}")
    if "Timeout" in name:
        return RetryableError("request timed out")
    if "Connection" in name:
        return RetryableError("connection error")
    if isinstance(error, (json.JSONDecodeError, ValueError)) or "Validation" in name:
        return RetryableError(f"malformed reply: {_short(str(error))}")
    return error


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Provider:
    """The interface. `remote` providers need a key and cost money; `template` needs the mask."""

    name = "base"
    remote = True
    needs_mask = False

    def __init__(self, model: str | None = None):
        self.model = model or DEFAULT_MODELS.get(self.name, self.name)

    async def describe(self, request: Request) -> Reply:  # pragma: no cover - interface
        raise NotImplementedError

    def estimate_input_tokens(self, width: int, height: int, prompt: Prompt, detail: str = "auto") -> int:
        return 0

    async def aclose(self) -> None:
        return None


class TemplateProvider(Provider):
    """Offline: text from the ground-truth mask (`langir.describe.template`)."""

    name = "template"
    remote = False
    needs_mask = True

    def __init__(self, model: str | None = None, style: str = "rich"):
        super().__init__("template")
        self.style = style
        self.model = f"template-{style}"

    async def describe(self, request: Request) -> Reply:
        if request.mask is None:
            raise FatalError(f"{request.image_id}: the template provider needs a mask")
        text = template_description(request.mask, self.style, request.max_words)
        return Reply(text, raw=text)


class OpenAIProvider(Provider):
    """Chat Completions with the image as a base64 data URL; also any OpenAI-compatible server."""

    name = "openai"

    def __init__(self, model: str | None, api_key: str, base_url: str | None = None, timeout: float = 60.0):
        super().__init__(model)
        import httpx
        import openai

        self._openai, self._httpx = openai, httpx
        self.client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        self.sync_client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    def messages(self, request: Request) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = []
        if request.prompt.role:
            msgs.append({"role": "system", "content": request.prompt.role})
        for shot in request.prompt.shots:
            msgs.append({"role": "user", "content": [
                {"type": "text", "text": request.prompt.task},
                {"type": "image_url", "image_url": {"url": EncodedImage(shot.png, 0, 0).data_url, "detail": request.detail}},
            ]})
            msgs.append({"role": "assistant", "content": shot.text})
        assert request.image is not None
        msgs.append({"role": "user", "content": [
            {"type": "text", "text": request.prompt.task},
            {"type": "image_url", "image_url": {"url": request.image.data_url, "detail": request.detail}},
        ]})
        return msgs

    def body(self, request: Request) -> dict[str, Any]:
        return {"model": self.model, "messages": self.messages(request), "max_tokens": request.max_tokens,
                "temperature": request.temperature}

    async def describe(self, request: Request) -> Reply:
        # The client's documented raw `post` (for custom requests) instead of `chat.completions.create`:
        # same auth, timeout and error mapping, without the SDK's per-request typed-dict transform of
        # the base64 payload (≈ 3 ms CPU a request, the largest client cost at high concurrency).
        try:
            response = await self.client.post("/chat/completions", cast_to=self._httpx.Response, body=self.body(request))
            data = json.loads(response.content)
        except (self._openai.OpenAIError, ValueError) as error:  # ValueError: a body that is not JSON
            raise classify(error) from None
        return self.parse(data)

    @staticmethod
    def parse(data: Any) -> Reply:
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise RetryableError("malformed reply: no choices[0].message") from None
        text = message.get("content") or message.get("refusal") or ""
        usage = data.get("usage") or {}
        return Reply(text.strip(), int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                     raw=json.dumps({"content": message.get("content"), "refusal": message.get("refusal")}))

    def estimate_input_tokens(self, width: int, height: int, prompt: Prompt, detail: str = "auto") -> int:
        images = 1 + len(prompt.shots)
        text = text_tokens(prompt.role) + (1 + len(prompt.shots)) * text_tokens(prompt.task)
        text += sum(text_tokens(s.text) for s in prompt.shots)
        return images * openai_image_tokens(width, height, detail) + text + 7 * (2 + 2 * len(prompt.shots))

    async def aclose(self) -> None:
        await self.client.close()
        self.sync_client.close()


class AnthropicProvider(Provider):
    """Messages API with a base64 image block."""

    name = "anthropic"

    def __init__(self, model: str | None, api_key: str, base_url: str | None = None, timeout: float = 60.0):
        super().__init__(model)
        import anthropic

        self._anthropic = anthropic
        self.client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        self.sync_client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    @staticmethod
    def _image_block(png_b64: str) -> dict[str, Any]:
        return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png_b64}}

    def params(self, request: Request) -> dict[str, Any]:
        msgs: list[dict[str, Any]] = []
        for shot in request.prompt.shots:
            msgs.append({"role": "user", "content": [self._image_block(EncodedImage(shot.png, 0, 0).b64),
                                                     {"type": "text", "text": request.prompt.task}]})
            msgs.append({"role": "assistant", "content": shot.text})
        assert request.image is not None
        msgs.append({"role": "user", "content": [self._image_block(request.image.b64), {"type": "text", "text": request.prompt.task}]})
        # No temperature: this SDK's Messages API no longer takes it (model default sampling).
        params: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens, "messages": msgs}
        if request.prompt.role:
            params["system"] = request.prompt.role
        return params

    async def describe(self, request: Request) -> Reply:
        try:  # raw documented `post`, as in OpenAIProvider.describe
            # cast_to=object: this SDK returns the decoded JSON as is (httpx.Response is refused here)
            data = await self.client.post("/v1/messages", cast_to=object, body=self.params(request))
        except (self._anthropic.AnthropicError, ValueError) as error:  # ValueError: a body that is not JSON
            raise classify(error) from None
        return self.parse(data)

    @staticmethod
    def parse(data: Any) -> Reply:
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise RetryableError("malformed reply: no content blocks")
        text = " ".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text").strip()
        usage = data.get("usage") or {}
        return Reply(text, int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0),
                     raw=json.dumps({"content": text, "stop_reason": data.get("stop_reason")}))

    def estimate_input_tokens(self, width: int, height: int, prompt: Prompt, detail: str = "auto") -> int:
        images = 1 + len(prompt.shots)
        text = text_tokens(prompt.role) + (1 + len(prompt.shots)) * text_tokens(prompt.task)
        text += sum(text_tokens(s.text) for s in prompt.shots)
        return images * anthropic_image_tokens(width, height) + text

    async def aclose(self) -> None:
        await self.client.close()
        self.sync_client.close()


@dataclass
class Choice:
    name: str
    key_env: str | None
    notice: str


def choose_provider(provider: str, api_key_env: str | None = None, base_url: str | None = None) -> Choice:
    """Resolve `auto` and check keys (names only; the key value is read later, never stored)."""
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    if provider == "auto":
        if api_key_env and os.environ.get(api_key_env):
            return Choice("openai", api_key_env, f"provider auto → openai (key from ${api_key_env})")
        if base_url:
            return Choice("openai", api_key_env, f"provider auto → openai-compatible server at {base_url}")
        for name in ("openai", "anthropic"):
            if os.environ.get(KEY_ENVS[name]):
                return Choice(name, KEY_ENVS[name], f"provider auto → {name} (${KEY_ENVS[name]} is set)")
        return Choice("template", None, "provider auto → template (no API key set; offline descriptions from the masks)")
    if provider == "template":
        return Choice("template", None, "provider template (offline, from the masks)")
    env = api_key_env or KEY_ENVS[provider]
    if not os.environ.get(env) and not (base_url and provider == "openai"):
        raise ConfigError(f"provider {provider} needs an API key: set ${env} (or name another variable with --api-key-env)")
    return Choice(provider, env, f"provider {provider}")


def make_provider(choice: Choice, model: str | None = None, base_url: str | None = None, timeout: float = 60.0,
                  template_style: str = "rich") -> Provider:
    """Build the provider object; the key is read from the environment here and kept only in the client."""
    if choice.name == "template":
        return TemplateProvider(style=template_style)
    # OpenAI-compatible local servers (Ollama, vLLM) accept any key, and a dry run sends nothing,
    # but the SDKs insist on one: give them a placeholder (choose_provider already checked real runs).
    key = os.environ.get(choice.key_env or "", "") or "no-key"
    if choice.name == "openai":
        return OpenAIProvider(model, key, base_url, timeout)
    return AnthropicProvider(model, key, base_url, timeout)
