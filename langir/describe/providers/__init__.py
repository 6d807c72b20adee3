"""The provider registry: every provider class, in the order `auto` tries them.

`auto` resolution (documented in docs/providers.md):
1. `--api-key-env VAR` names a set variable, or `--base-url` is given → the provider that serves
   OpenAI-compatible servers (`keyless_base_url`, i.e. openai);
2. otherwise the first remote provider in REGISTRY order whose key variable is set
   (OPENAI_API_KEY, then ANTHROPIC_API_KEY, then GEMINI_API_KEY);
3. otherwise the offline provider (template).

`make_provider`, pricing (DEFAULT_PRICES), image encoding, batch and the CLI's choices all read
REGISTRY; adding a provider is one module and one line here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from langir.describe.providers.anthropic import AnthropicProvider
from langir.describe.providers.base import (
    FATAL_KINDS,
    BatchAdapter,
    FatalError,
    Provider,
    Reply,
    Request,
    RetryableError,
    text_tokens,
)
from langir.describe.providers.gemini import GeminiProvider
from langir.describe.providers.openai import OpenAIProvider
from langir.describe.providers.template import TemplateProvider
from langir.errors import ConfigError

REGISTRY: dict[str, type[Provider]] = {cls.name: cls for cls in (OpenAIProvider, AnthropicProvider, GeminiProvider,
                                                                  TemplateProvider)}
AUTO = "auto"


def provider_names(with_auto: bool = True) -> tuple[str, ...]:
    """Names the CLI accepts for --provider ("auto" first)."""
    return ((AUTO,) if with_auto else ()) + tuple(REGISTRY)


PROVIDERS = provider_names()
DEFAULT_MODELS = {name: cls.default_model for name, cls in REGISTRY.items()}


def provider_class(name: str) -> type[Provider]:
    """The class registered under `name` (ConfigError naming the choices when unknown)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}") from None


@dataclass
class Choice:
    name: str
    key_env: str | None
    notice: str


def _offline() -> type[Provider]:
    return next(cls for cls in REGISTRY.values() if not cls.remote)


def _compatible() -> type[Provider]:
    return next(cls for cls in REGISTRY.values() if cls.keyless_base_url)


def choose_provider(provider: str, api_key_env: str | None = None, base_url: str | None = None,
                    require_key: bool = True) -> Choice:
    """Resolve `auto` and check keys (names only; the key value is read later, never stored).

    `require_key=False` (a dry run: nothing is sent) accepts an explicit remote provider without its key.
    """
    if provider == AUTO:
        compatible = _compatible()
        if api_key_env and os.environ.get(api_key_env):
            return Choice(compatible.name, api_key_env, f"provider auto → {compatible.name} (key from ${api_key_env})")
        if base_url:
            return Choice(compatible.name, api_key_env,
                          f"provider auto → {compatible.name}-compatible server at {base_url}")
        for cls in REGISTRY.values():
            if cls.remote and cls.key_env and os.environ.get(cls.key_env):
                return Choice(cls.name, cls.key_env, f"provider auto → {cls.name} (${cls.key_env} is set)")
        offline = _offline()
        keys = ", ".join(f"${c.key_env}" for c in REGISTRY.values() if c.key_env)
        return Choice(offline.name, None, f"provider auto → {offline.name} (none of {keys} is set; "
                                          "offline descriptions from the masks)")
    cls = provider_class(provider)
    if not cls.remote:
        return Choice(cls.name, None, f"provider {cls.name} ({cls.summary})")
    env = api_key_env or cls.key_env
    if not require_key:
        return Choice(cls.name, env, f"provider {cls.name} (dry run: nothing is sent)")
    if not os.environ.get(env or "") and not (base_url and cls.keyless_base_url):
        raise ConfigError(f"provider {cls.name} needs an API key: set ${env} (or name another variable with --api-key-env)")
    return Choice(cls.name, env, f"provider {cls.name}")


def make_provider(choice: Choice, model: str | None = None, base_url: str | None = None, timeout: float = 60.0,
                  template_style: str = "rich", batch_max_requests: int | None = None,
                  batch_max_bytes: int | None = None) -> Provider:
    """Build the provider object; the key is read from the environment here and kept only in the client.

    `batch_max_requests` / `batch_max_bytes` override the provider's documented per-batch limits.
    """
    cls = provider_class(choice.name)
    # OpenAI-compatible local servers (Ollama, vLLM) accept any key, and a dry run sends nothing,
    # but the SDKs insist on one: give them a placeholder (choose_provider already checked real runs).
    key = os.environ.get(choice.key_env or "", "") or "no-key"
    return cls.build(model, key, base_url, timeout, template_style=template_style,
                     batch_max_requests=batch_max_requests, batch_max_bytes=batch_max_bytes)


__all__ = [
    "AUTO", "DEFAULT_MODELS", "FATAL_KINDS", "PROVIDERS", "REGISTRY", "AnthropicProvider", "BatchAdapter",
    "Choice", "FatalError", "GeminiProvider", "OpenAIProvider", "Provider", "Reply", "Request", "RetryableError",
    "TemplateProvider", "choose_provider", "make_provider", "provider_class", "provider_names", "text_tokens",
]
