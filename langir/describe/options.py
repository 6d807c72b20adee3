"""Options of a describe run, the retry policy, the run-stopping error and its advice line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenacity import wait_exponential_jitter

from langir.describe.images import DEFAULT_MAX_SIDE
from langir.describe.pricing import DEFAULT_PRICES, price_for
from langir.describe.providers import Provider
from langir.errors import ConfigError, LangirError


class DescribeError(LangirError):
    """The run stopped: a non-retryable API error (bad key, bad request, exhausted quota); `kind` as FatalError's."""

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind


# What a person does about each FatalError.kind (one clause, appended to the one-line stop message).
_ADVICE = {
    "auth": "check the API key in ${env} (or name another variable with --api-key-env)",
    "quota": "add credit or wait for the quota to reset, then run again (answers bought are kept)",
    "bad_request": "the request itself was refused: check --model, --max-tokens, --detail and --base-url",
}


def stop_advice(kind: str | None, provider: str | None = None) -> str:
    """The advice clause for a run stopped by a FatalError of `kind` ("" when there is none)."""
    from langir.describe.providers import REGISTRY

    cls = REGISTRY.get(provider or "")
    env = (cls.key_env if cls else None) or "the key variable"
    return _ADVICE.get(kind or "", "").replace("${env}", f"${env}" if cls and cls.key_env else env)


@dataclass
class RetryPolicy:
    """The one retry policy: bounded attempts, exponential backoff with jitter, retry-after honoured."""

    attempts: int = 5
    initial: float = 1.0
    max_wait: float = 60.0
    max_retry_after: float = 120.0

    def wait(self, state: Any) -> float:
        error = state.outcome.exception() if state.outcome else None
        after = getattr(error, "retry_after", None)
        if after is not None:
            return min(float(after), self.max_retry_after)
        return wait_exponential_jitter(initial=self.initial, max=self.max_wait, jitter=self.initial)(state)


@dataclass
class DescribeOptions:
    max_words: int = 50
    max_tokens: int = 300
    temperature: float = 0.0
    detail: str = "auto"
    max_side: int | None = DEFAULT_MAX_SIDE
    concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    max_cost: float | None = None
    overwrite: bool = False
    invalid_retries: int = 2
    skip_bad: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    # Re-asks (attempt > 0) sample at this temperature when `temperature` is 0: asking the same
    # request again at temperature 0 buys the same answer again.
    retry_temperature: float = 0.7
    no_target_fallback: bool = True  # empty mask, every answer claims a target → write NO_TARGET_SENTENCE
    grace: float = 30.0  # seconds the first Ctrl-C waits for answers in flight
    worst_input_margin: float = 1.25  # worst case = estimated input × this + max_tokens output


def check_prices(provider: Provider, opts: DescribeOptions) -> None:
    """With a cost cap, an unknown price is an error (it would count as $0 and void the cap)."""
    if opts.max_cost is not None and provider.remote and price_for(opts.prices, provider.model) is None:
        raise ConfigError(
            f"no price known for model {provider.model!r}, so --max-cost cannot be enforced; give its prices with "
            f'--prices FILE (JSON {{"{provider.model}": [USD per million input tokens, USD per million output tokens]}})')
