"""The provider interface and what every provider shares (requests, replies, errors, batch adapters).

A provider turns a `Request` (encoded image, prompt, limits) into a `Reply` (text, tokens) or
raises `RetryableError` / `FatalError`. Retrying is NOT done here: the runner owns the single
tenacity policy, and SDK clients are built with their own retries off so nothing retries twice.

Everything that differs between providers is a class attribute or method of its class (name, key
variable, default model, image limits, image-token formula, prices, error classification, batch
adapter and batch limits); the registry in `__init__` and the modules that read it (pricing,
images, batch, the CLI) never branch on a provider's name.
SDKs are imported inside the classes so `langir --help` stays fast.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # kept out of the import so `import langir.describe.providers` stays light (--help)
    from collections.abc import Mapping

    import numpy as np

    from langir.describe.images import EncodedImage
    from langir.describe.prompts import Prompt

FATAL_KINDS = ("auth", "quota", "bad_request", "other")
# Words of an exhausted quota or credit, whichever provider (or OpenAI-compatible proxy) says them:
# a 429 carrying one is not a rate limit, and retrying it only burns time.
QUOTA_MARKERS = ("insufficient_quota", "billing_error", "billing_hard_limit", "credit balance is too low",
                 "out of credits", "spend limit", "spending limit")


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

    @property
    def structured(self) -> bool:
        """Ask for one JSON answer (`describe --structured`): the prompt carries the flag, so the
        request key (the prompt's digest) differs from a plain request's."""
        return bool(getattr(self.prompt, "structured", False))


@dataclass
class Reply:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    raw: str = ""  # what the server said (kept in the ledger for --revalidate)
    extra: dict[str, Any] = field(default_factory=dict)
    # structured answers only (`langir.describe.structured`): targets on 0..1000 of the sent image
    # (None: a plain answer, or one too broken to read) and why the answer breaks the schema
    targets: list[dict[str, Any]] | None = None
    problem: str | None = None
    # the reply carried no usable token counts (usage missing, negative or not a whole number): the
    # executor estimates them from the request and the price table, and the summary says so
    usage_estimated: bool = False


def structured_reply(answer_text: str | None, input_tokens: int, output_tokens: int, cut_off: bool = False,
                     **extra: Any) -> Reply:
    """A provider's `Reply` for a structured request: text = the description only, targets on 0..1000.

    `cut_off`: the reply stopped at the token limit (a broken answer then says so: raise --max-tokens).
    """
    from langir.describe.structured import parse_answer, structured_raw  # lazy: keeps --help light

    answer = parse_answer(answer_text)
    problem = answer.problem
    if problem and cut_off:
        problem += " (the reply was cut off at --max-tokens)"
    return Reply(answer.description, input_tokens, output_tokens, raw=structured_raw(answer_text, **extra),
                 targets=answer.targets, problem=problem)


class RetryableError(Exception):
    """A transient failure (429, 5xx, 529, timeout, connection, malformed reply); may carry retry-after.

    `maybe_done`: the server may have carried the request out (no error status came back: a
    timeout, a dropped connection, an unreadable reply). Harmless for a description, but a batch
    submission that failed this way is not repeated blindly: that could buy the batch twice.
    """

    def __init__(self, message: str, retry_after: float | None = None, maybe_done: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_done = maybe_done


class FatalError(Exception):
    """A failure that retrying cannot fix; `kind` says which, so a run can print one summary line.

    kind: "auth" (bad/missing key, 401/403), "quota" (credit or daily quota exhausted),
    "bad_request" (the request itself is refused: 400/404/413/422), "other".
    """

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind if kind in FATAL_KINDS else "other"


def png_b64(png: bytes) -> str:
    """Base64 text of PNG bytes (few-shot example images)."""
    return base64.b64encode(png).decode("ascii")


def text_tokens(text: str) -> int:
    """Rough token count of English text (≈ 4 characters a token); only for estimates."""
    return max(1, math.ceil(len(text) / 4))


def token_count(value: Any) -> int | None:
    """A usage field as a whole number ≥ 0; None when missing or malformed (negative, fractional, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def with_usage(reply: Reply, tin: int | None, tout: int | None) -> Reply:
    """`reply` with these token counts; a missing or malformed one makes its usage estimated (see Reply)."""
    reply.input_tokens, reply.output_tokens = tin or 0, tout or 0
    reply.usage_estimated = tin is None or tout is None
    return reply


def longest_prefix(table: Mapping[str, Any], model: str) -> str | None:
    """The key of `table` equal to `model`, else the longest key `model` starts with (dated
    snapshots such as gpt-4o-2024-08-06 share their family's entry); None if none matches."""
    if model in table:
        return model
    return max((k for k in table if model.startswith(k)), key=len, default=None)


def short(text: str, limit: int = 200) -> str:
    """One line, at most `limit` characters (error bodies in messages)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from `retry-after-ms` / `retry-after` headers: a number, or an HTTP date (RFC 9110). A value
    that is neither, or not finite, is ignored (the policy's backoff applies); one in the past is 0."""
    if headers is None:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        seconds = _seconds(str(value).strip())
        if seconds is None:
            continue
        return max(0.0, seconds / 1000 if name.endswith("-ms") else seconds)
    return None


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT; one written without a zone is read as such
            when = when.replace(tzinfo=datetime.UTC)
        return (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return seconds if math.isfinite(seconds) else None


def error_message(body: Any) -> str:
    """The human part of a JSON error body ({"message"} or {"error": {"message"}}), else the body."""
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if inner.get("message"):
            kind = inner.get("code") or inner.get("type") or inner.get("status")
            return f"{inner['message']}" + (f" ({kind})" if kind else "")
    return str(body)


def classify_status(status: int, body: Any, headers: Mapping[str, str] | None = None,
                    quota_markers: tuple[str, ...] = ()) -> RetryableError | FatalError:
    """The HTTP-status part of error classification that the providers share.

    A 429 (or 400/402/403) whose body contains one of the provider's `quota_markers` is an
    exhausted quota or credit: retrying cannot help, so it is fatal with kind "quota".
    """
    lowered = str(body).lower()
    body = error_message(body)
    if status == 402 or (status in (400, 403, 429) and any(m in lowered for m in quota_markers + QUOTA_MARKERS)):
        return FatalError(f"HTTP {status} quota or credit exhausted: {short(body)}", "quota")
    if status in (408, 409, 429) or status >= 500:
        return RetryableError(f"HTTP {status}", retry_after(headers))
    if status in (401, 403):
        return FatalError(f"HTTP {status} authentication failed (check the API key in the environment)", "auth")
    if status in (400, 404, 413, 415, 422):
        return FatalError(f"HTTP {status}: {short(body)}", "bad_request")
    return FatalError(f"HTTP {status}: {short(body)}")


def classify_transport(error: Exception) -> RetryableError | None:
    """Timeouts, dropped connections and unparseable bodies: retryable for every SDK."""
    name = type(error).__name__
    cause = error.__cause__ or error.__context__  # the SDKs wrap httpx's error: it says what happened
    detail = f": {short(str(cause))}" if cause is not None and str(cause) else ""
    if type(cause).__name__ in ("ConnectError", "ConnectTimeout"):  # no connection: the request was never sent
        return RetryableError(f"connection error{detail}", maybe_done=False)
    if "Timeout" in name:
        return RetryableError("request timed out", maybe_done=True)
    if "Connect" in name or "RemoteProtocol" in name or "ReadError" in name:
        return RetryableError(f"connection error{detail}", maybe_done=True)
    if isinstance(error, ValueError) or "Validation" in name or "Decode" in name:
        return RetryableError(f"malformed reply: {short(str(error))}", maybe_done=True)
    return None


class BatchAdapter:
    """One provider's batch API: entries, their size, submit, poll, results.

    `run_batch` chunks entries so that each submitted batch stays within `max_requests` and
    `max_bytes` (as counted by `entry_bytes`, plus `overhead_bytes` for the envelope).
    """

    overhead_bytes = 0

    def __init__(self, provider: Provider, max_requests: int, max_bytes: int):
        self.provider, self.max_requests, self.max_bytes = provider, max_requests, max_bytes
        # results are read as structured answers (`describe --structured`); set by the run, since a
        # resumed batch's results come back without the requests that asked for them
        self.structured = False

    def custom_id(self, prefix: str, key: str) -> str:
        """The id an entry carries (the ledger key; providers whose batches carry no tag prefix it)."""
        return key

    def key_of(self, prefix: str, custom_id: str) -> str | None:
        """The ledger key of a result's custom id (None: not one of this run's entries)."""
        return custom_id

    def entry(self, key: str, request: Request) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def entry_bytes(self, entry: Any) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def submit(self, entries: list[Any], tag: str = "") -> str:  # pragma: no cover - interface
        """Create one batch carrying the client-side idempotency `tag`; returns its id."""
        raise NotImplementedError

    def find(self, tag: str, prefix: str, keys: list[str], since: float) -> str | None:  # pragma: no cover - interface
        """The id of the batch created with `tag` (an intent recorded at `since`), via the provider's
        list endpoint; None when the provider has no such batch."""
        raise NotImplementedError

    def poll(self, batch_id: str) -> tuple[bool, str]:  # pragma: no cover - interface
        raise NotImplementedError

    def results(self, batch_id: str) -> dict[str, Reply | str]:  # pragma: no cover - interface
        raise NotImplementedError


class Provider:
    """The interface; subclasses fill in the class attributes and `describe`.

    `remote` providers need a key (from `key_env`) and cost money; `needs_mask` ones read the mask.
    """

    name: ClassVar[str] = "base"
    key_env: ClassVar[str | None] = None
    default_model: ClassVar[str] = "base"
    remote: ClassVar[bool] = True
    needs_mask: ClassVar[bool] = False
    # `--base-url` without a key is fine (local OpenAI-compatible servers); also the provider
    # `auto` picks for `--base-url` / `--api-key-env`.
    keyless_base_url: ClassVar[bool] = False
    summary: ClassVar[str] = ""  # one line for --help and docs
    # image limits: longest side in pixels and base64 bytes per image (None: no limit)
    max_side: ClassVar[int | None] = None
    max_image_bytes: ClassVar[int | None] = None
    # USD per million tokens (input, output), list prices; batch jobs bill `batch_discount` of that
    prices: ClassVar[dict[str, tuple[float, float]]] = {}
    # scale its models write coordinates on: model-name prefix → convention ("" the default), see langir.text.conventions
    coordinates: ClassVar[dict[str, str]] = {}
    batch_discount: ClassVar[float] = 0.5
    # batch API: adapter class (None: no batch API) and its documented per-batch limits
    batch_adapter: ClassVar[type[BatchAdapter] | None] = None
    batch_max_requests: ClassVar[int] = 0
    batch_max_bytes: ClassVar[int] = 0

    def __init__(self, model: str | None = None):
        self.model = model or self.default_model

    # -- describing ----------------------------------------------------------------------------
    async def describe(self, request: Request) -> Reply:  # pragma: no cover - interface
        raise NotImplementedError

    async def aclose(self) -> None:
        return None

    @classmethod
    def classify(cls, error: Exception) -> RetryableError | FatalError:
        """Map an SDK/HTTP exception onto RetryableError or FatalError (override per SDK)."""
        if isinstance(error, (RetryableError, FatalError)):
            return error
        return classify_transport(error) or FatalError(f"{type(error).__name__}: {short(str(error))}")

    # -- estimates -----------------------------------------------------------------------------
    @classmethod
    def image_tokens(cls, width: int, height: int, detail: str = "auto", model: str | None = None) -> int:
        """Input tokens one image of this size costs (the provider's documented formula)."""
        return 0

    def message_overhead_tokens(self, prompt: Prompt) -> int:
        """Tokens the message framing adds (role markers); 0 where the provider does not document it."""
        return 0

    def estimate_input_tokens(self, width: int, height: int, prompt: Prompt, detail: str = "auto") -> int:
        """Upper-bound style estimate of one request's input tokens (image(s) + prompt text)."""
        if not self.remote:
            return 0
        images = 1 + len(prompt.shots)
        text = text_tokens(prompt.role) if prompt.role else 0
        text += (1 + len(prompt.shots)) * text_tokens(prompt.task) + sum(text_tokens(s.text) for s in prompt.shots)
        return images * self.image_tokens(width, height, detail, self.model) + text + self.message_overhead_tokens(prompt)

    # -- batch ---------------------------------------------------------------------------------
    def batch_api(self) -> BatchAdapter | None:
        """This provider's batch adapter with its (possibly overridden) limits, or None."""
        if self.batch_adapter is None:
            return None
        return self.batch_adapter(self, self.batch_max_requests, self.batch_max_bytes)

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, model: str | None, api_key: str, base_url: str | None, timeout: float, **options: Any) -> Provider:
        """Construct from the CLI's options; `options` may hold batch_max_requests / batch_max_bytes."""
        provider = cls(model, api_key, base_url, timeout)  # type: ignore[call-arg]
        provider.set_batch_limits(options.get("batch_max_requests"), options.get("batch_max_bytes"))
        return provider

    def set_batch_limits(self, max_requests: int | None = None, max_bytes: int | None = None) -> None:
        """Override the documented per-batch limits for this instance (smaller quotas, tests)."""
        if max_requests:
            self.batch_max_requests = int(max_requests)  # type: ignore[misc]
        if max_bytes:
            self.batch_max_bytes = int(max_bytes)  # type: ignore[misc]
