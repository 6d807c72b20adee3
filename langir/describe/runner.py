"""The describe run: plan against the ledger, call the provider concurrently, validate, write.

Order of writes makes a kill at any moment safe: a reply is committed to the ledger (status done,
with its text) before the description file is written atomically; a re-run writes files for done
rows without calling the API again. Every paid answer gets its own ledger row (attempt number in
the key); an image whose answers all failed validation is not asked again by a plain re-run
(`--redo` asks anew). Money: a request is sent only when the spend so far plus the worst case of
every request in flight, its own included, stays within `max_cost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from langir.data.dataset import LangIRDataset
from langir.data.imageio import read_file_bytes
from langir.data.text_rules import NO_TARGET_SENTENCE
from langir.describe.images import DEFAULT_MAX_SIDE, encode_array
from langir.describe.ledger import Ledger, attempt_key, request_key
from langir.describe.pricing import DEFAULT_PRICES, cost, price_for, text_tokens
from langir.describe.prompts import Prompt
from langir.describe.providers import FatalError, Provider, Reply, Request, RetryableError
from langir.describe.structured import answer_problem, stored_problem, sync_targets
from langir.describe.template import region_hint
from langir.errors import ConfigError, DataError, LangirError


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
    dry_run: bool = False
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


@dataclass
class Job:
    image_id: str
    key: str
    # todo | cached | skipped | done | fallback | invalid | failed | unaffordable | bad | not_sent | interrupted
    status: str = "todo"
    text: str | None = None
    error: str | None = None
    attempts: int = 0  # HTTP attempts, transient retries included
    retried: int = 0
    cost: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    request: str = ""  # the request key without attempt (shared by all attempts)
    attempt: int = 0  # attempt number of the next answer to buy
    asks_left: int = 1  # answers this run may still buy for the image
    answers: int = 0  # answers bought this run
    redo: bool = False
    raw: str | None = None  # a cached answer's raw reply (a structured one carries targets)


class Budget:
    """The hard cost cap: reserve a request's worst case before sending, settle with actual usage."""

    def __init__(self, cap: float | None):
        self.cap = cap
        self.spent = 0.0
        self.reserved = 0.0
        self.cond = asyncio.Condition()
        self.closed = False  # set on interrupt: waiters give up

    async def reserve(self, worst: float) -> bool:
        """True when `worst` fits now; waits while requests in flight may still free room."""
        if self.cap is None:
            return True
        async with self.cond:
            while not self.closed:
                if self.spent + self.reserved + worst <= self.cap:
                    self.reserved += worst
                    return True
                if self.reserved <= 0:
                    return False
                await self.cond.wait()
            return False

    async def settle(self, worst: float, actual: float) -> None:
        async with self.cond:
            if self.cap is not None:
                self.reserved = max(0.0, self.reserved - worst)
            self.spent += actual
            self.cond.notify_all()

    async def close(self) -> None:
        async with self.cond:
            self.closed = True
            self.cond.notify_all()


class RateLimiter:
    """Requests-per-minute and tokens-per-minute over a sliding 60 s window.

    Hand-written (a dozen lines) because no limiter library is installed and the window logic is
    all we need; `acquire` waits until both budgets have room.
    """

    def __init__(self, rpm: float | None, tpm: float | None, window: float = 60.0):
        self.rpm, self.tpm, self.window = rpm, tpm, window
        self.events: deque[tuple[float, int]] = deque()
        self.lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        async with self.lock:
            while True:
                now = time.monotonic()
                while self.events and now - self.events[0][0] >= self.window:
                    self.events.popleft()
                used = sum(t for _, t in self.events)
                ok_r = not self.rpm or len(self.events) < self.rpm
                ok_t = not self.tpm or used + tokens <= self.tpm or not self.events
                if ok_r and ok_t:
                    self.events.append((now, tokens))
                    return
                await asyncio.sleep(max(0.01, self.window - (now - self.events[0][0])))


def _file_sha(files: list[tuple[Path, str]]) -> str:
    """Hash of the files' bytes, read through the data layer's guard: a FIFO, folder, symlink loop or
    missing file is one DataError naming it (never a hang, never a raw OSError)."""
    h = hashlib.sha256()
    for path, what in files:
        h.update(read_file_bytes(path, what))
    return h.hexdigest()[:24]


@dataclass
class Plan:
    jobs: list[Job]
    keys: dict[str, str]

    def by_status(self, status: str) -> list[Job]:
        return [j for j in self.jobs if j.status == status]


def quarantined(ds: LangIRDataset, image_id: str, text: str) -> bool:
    """True when `validate --quarantine` moved this very text aside: the answer was rejected."""
    path = ds.description_path(image_id)
    folder = path.parent / ".quarantine"
    if not folder.is_dir():
        return False
    for moved in folder.glob(path.name + "*"):
        try:
            if read_file_bytes(moved, "description").decode("utf-8-sig").strip() == text.strip():
                return True
        except (OSError, UnicodeDecodeError, DataError):
            continue
    return False


def _params(opts: DescribeOptions) -> dict[str, Any]:
    return {"max_side": opts.max_side, "max_tokens": opts.max_tokens, "temperature": opts.temperature,
            "detail": opts.detail, "max_words": opts.max_words}


def plan_run(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
             ledger: Ledger, on_bad: Callable[[str, str], None] | None = None,
             redo: Iterable[str] | None = None) -> Plan:
    """Decide per id: keep the file, reuse a done ledger row, or buy an answer. No API calls here.

    Ids in `redo` are always asked anew (the next attempt number) and their files replaced.
    """
    redo_ids = set(redo or ())
    jobs: list[Job] = []
    params = _params(opts)
    digest = prompt.digest()
    for image_id in ids:
        forced = image_id in redo_ids
        if not forced and not opts.overwrite and ds.has_description(image_id):
            jobs.append(Job(image_id, "", "skipped"))
            continue
        try:
            files = [(ds.image_path(image_id), "image")]
            if provider.needs_mask:
                files.append((ds.mask_path(image_id), "mask"))
            sha = _file_sha(files)
        except DataError as error:
            # one unreadable sample is that id's failure (exit 1, listed), or skipped with --skip-bad
            message = str(error)
            if opts.skip_bad and on_bad:
                on_bad(image_id, message)
            jobs.append(Job(image_id, "", "bad" if opts.skip_bad else "failed", error=message))
            continue
        if prompt.needs_mask and not provider.needs_mask:
            with contextlib.suppress(DataError):  # the hint comes from the mask: its bytes decide the request too
                sha += _file_sha([(ds.mask_path(image_id), "mask")])
        base = request_key(sha, provider.name, provider.model, digest, params)
        jobs.append(Job(image_id, base, request=base, redo=forced))
    history = ledger.by_request([j.request for j in jobs if j.request])
    current = ledger.current_many([j.image_id for j in jobs if j.request])
    for job in jobs:
        if not job.request:
            continue
        rows = history.get(job.request, [])
        paid = [r for r in rows if r.status in ("done", "invalid")]
        done = [r for r in rows if r.status == "done" and r.text]
        if done and not job.redo:
            # an answer superseded by a redo in another style is not restored: the current one is
            best = next((r for r in done if r.current), current.get(job.image_id) or done[-1])
            if not quarantined(ds, job.image_id, best.text or ""):
                job.status, job.text, job.key, job.raw = "cached", best.text, best.key, best.raw_reply
                continue
            job.redo = True  # the user rejected this answer: buy a new one
        job.attempt = max(r.attempt for r in paid) + 1 if paid else 0
        job.key = attempt_key(job.request, job.attempt)
        ledger.plan(job.key, request=job.request, attempt=job.attempt, prompt_style=prompt.style, prompt_digest=digest)
        if job.redo:
            job.asks_left = opts.invalid_retries + 1
        else:  # a resumed image keeps its bound: invalid answers already bought count
            invalid = [r for r in paid if r.status == "invalid"]
            job.asks_left = max(0, opts.invalid_retries + 1 - len(invalid))
            if invalid:
                job.error = invalid[-1].error
    return Plan(jobs, {j.image_id: j.key for j in jobs})


class Runner:
    """Runs the `todo` jobs of a plan: concurrency, rate limits, cost cap, retries, validation, Ctrl-C."""

    def __init__(self, ds: LangIRDataset, provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
                 on_event: Callable[[str, Job | None], None] | None = None,
                 on_warn: Callable[[str], None] | None = None):
        self.ds, self.provider, self.prompt, self.opts, self.ledger = ds, provider, prompt, opts, ledger
        self.on_event = on_event or (lambda kind, job: None)
        self.on_warn = on_warn or (lambda message: None)
        self.fatal: str | None = None
        self.fatal_kind: str | None = None
        self.limiter = RateLimiter(opts.rpm, opts.tpm)
        self.budget = Budget(opts.max_cost)
        self.stopping = False
        self.interrupts = 0
        self._warned: set[str] = set()
        self._workers: list[asyncio.Task] = []
        self._digest = prompt.digest()  # hashes few-shot PNGs: once, not per answer
        self._grace: asyncio.TimerHandle | None = None

    @property
    def spent(self) -> float:
        return self.budget.spent

    # -- one image ---------------------------------------------------------------------------
    def _request(self, job: Job) -> tuple[Request, bool | None]:
        """The request (image encoded, hint filled) and whether the mask is empty (None: unknown).

        A remote request needs only the image: an unreadable or mismatched mask turns the
        no-target judgement off for that id (one warning) instead of blocking it.
        """
        image = self.ds.read_image(job.image_id)
        mask = None
        if self.provider.needs_mask:
            mask = self.ds.read_mask(job.image_id, image.shape)
        elif self.ds.has_mask(job.image_id):
            try:
                mask = self.ds.read_mask(job.image_id, image.shape)
            except DataError as error:
                if job.image_id not in self._warned:
                    self._warned.add(job.image_id)
                    self.on_warn(f"{error}; described without the no-target check"
                                 + (" and without a hint" if self.prompt.needs_mask else ""))
        mask_empty = None if mask is None else not bool(mask.any())
        prompt = self.prompt
        if prompt.needs_mask:
            prompt = prompt.with_hint(region_hint(mask) if mask is not None else "")
        encoded = None if not self.provider.remote else encode_array(image, self.opts.max_side, self.provider)
        return Request(job.image_id, encoded, prompt, self.opts.max_tokens, self.opts.temperature, self.opts.detail,
                       self.opts.max_words, mask), mask_empty

    def estimate(self, width: int, height: int) -> tuple[int, int, float]:
        tin = self.provider.estimate_input_tokens(width, height, self.prompt, self.opts.detail)
        if self.prompt.needs_mask:
            tin += 40  # the hint sentence
        tout = min(self.opts.max_tokens, text_tokens("x" * 6 * self.opts.max_words))
        return tin, tout, cost(self.opts.prices, self.provider.model, tin, tout)

    def worst_case(self, request: Request) -> tuple[int, float]:
        """(tokens for the rate limiter, worst-case USD) of one request: inflated input, full max_tokens."""
        if not self.provider.remote or request.image is None:
            return 0, 0.0
        tin, _, _ = self.estimate(request.image.width, request.image.height)
        tin = int(tin * self.opts.worst_input_margin) + 1
        return tin + self.opts.max_tokens, cost(self.opts.prices, self.provider.model, tin, self.opts.max_tokens)

    def temperature(self, attempt: int) -> float:
        if attempt == 0:
            return self.opts.temperature
        return max(self.opts.temperature, self.opts.retry_temperature)

    async def _call(self, request: Request, job: Job) -> Reply:
        policy = self.opts.retry
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(RetryableError), stop=stop_after_attempt(policy.attempts),
            wait=policy.wait, reraise=True,
        ):
            with attempt:
                job.attempts += 1
                if attempt.retry_state.attempt_number > 1:
                    job.retried += 1
                    self.on_event("retry", job)
                return await self.provider.describe(request)
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(self, job: Job, status: str, reply: Reply | None, request: Request, **fields: Any) -> None:
        self.ledger.record(
            job.key, job.image_id, self.provider.name, self.provider.model, status, attempt=job.attempt,
            request=job.request, prompt_style=self.prompt.style, prompt_digest=self._digest,
            raw_reply=reply.raw if reply else None, **fields)

    def _stop_reason(self) -> str:
        return ("stopped: " + self.fatal) if self.fatal else "interrupted (Ctrl-C) before it was sent"

    def _not_sent(self, job: Job) -> None:
        job.status, job.error = ("not_sent", self._stop_reason()) if job.answers == 0 else ("invalid", job.error)
        self.on_event(job.status, job)

    async def run_job(self, job: Job) -> None:
        try:
            request, mask_empty = await asyncio.to_thread(self._request, job)
        except DataError as error:
            job.status, job.error = ("bad" if self.opts.skip_bad else "failed"), str(error)
            self.on_event(job.status, job)
            return
        problem: str | None = job.error
        while job.asks_left > 0:
            if self.stopping or self.fatal:
                return self._not_sent(job)
            job.key = attempt_key(job.request, job.attempt)
            ask = dataclasses.replace(request, temperature=self.temperature(job.attempt))
            tokens, worst = self.worst_case(ask)
            if not await self.budget.reserve(worst):
                if self.stopping:
                    return self._not_sent(job)
                job.status, job.error = "unaffordable", f"--max-cost {self.opts.max_cost} reached"
                self.on_event("unaffordable", job)
                return
            actual = 0.0
            reply: Reply | None = None
            t0 = time.perf_counter()
            try:
                await self.limiter.acquire(tokens)
                if self.stopping or self.fatal:
                    return self._not_sent(job)
                self.on_event("sent", job)
                reply = await self._call(ask, job)
                actual = cost(self.opts.prices, self.provider.model, reply.input_tokens, reply.output_tokens)
            except FatalError as error:
                self.fatal = self.fatal or str(error)
                self.fatal_kind = self.fatal_kind or getattr(error, "kind", None)
                job.status, job.error = "refused", str(error)
            except RetryableError as error:
                job.status, job.error = "failed", f"gave up after {job.attempts} attempts: {error}"
            except asyncio.CancelledError:
                job.status, job.error = "interrupted", "in flight when stopped (Ctrl-C); bought again on the next run"
                raise
            finally:
                await self.budget.settle(worst, actual)
            latency = time.perf_counter() - t0
            if reply is None:  # no answer, nothing paid: the key can be asked again later
                self._record(job, "failed", None, ask, error=job.error, attempts=job.attempts, latency_s=latency, current=0)
                self.on_event(job.status, job)
                return
            job.answers += 1
            job.asks_left -= 1
            job.cost += actual
            job.input_tokens += reply.input_tokens
            job.output_tokens += reply.output_tokens
            problem = answer_problem(reply, self.opts.max_words, mask_empty)  # text rules + structured schema
            common = {"attempts": job.attempts, "latency_s": latency, "input_tokens": reply.input_tokens,
                      "output_tokens": reply.output_tokens, "cost_usd": actual, "text": reply.text, "error": problem}
            self.on_event("answer", job)
            if problem is None:
                # ledger first, file second: a kill between the two is healed by the next run without a call
                self._record(job, "done", reply, ask, current=1, **common)
                if write_file(self.ds, job, reply.text, reply.raw):
                    job.status, job.text, job.error = "done", reply.text, None
                self.on_event(job.status, job)
                return
            self._record(job, "invalid", reply, ask, current=0, **common)
            job.attempt += 1
            job.error = problem
        job.error = problem
        if mask_empty and self.opts.no_target_fallback:
            self._fallback(job)
            return
        job.status = "invalid"
        if job.answers == 0:
            job.error = f"{problem} (answers used up; --redo asks again)"
        self.on_event("invalid", job)

    def _fallback(self, job: Job) -> None:
        """Empty mask, every answer claimed a target: write the template's no-target sentence."""
        job.key = f"{job.request}:no-target"
        self.ledger.record(job.key, job.image_id, "template", "template-no-target", "done", attempt=job.attempt,
                           request=job.request, prompt_style="no-target-fallback", text=NO_TARGET_SENTENCE,
                           error=f"fallback after: {job.error}", cost_usd=0.0, current=1)
        if write_file(self.ds, job, NO_TARGET_SENTENCE):
            job.status, job.text = "fallback", NO_TARGET_SENTENCE
        self.on_event(job.status, job)

    # -- the run -----------------------------------------------------------------------------
    def interrupt(self) -> None:
        """First call: stop sending, let answers in flight land (≤ grace s). Second: stop at once."""
        self.interrupts += 1
        loop = asyncio.get_running_loop()
        if self.interrupts == 1:
            self.stopping = True
            loop.create_task(self.budget.close())
            self.on_event("interrupt", None)
            self._grace = loop.call_later(self.opts.grace, self._cancel)
        else:
            self._cancel()

    def _cancel(self) -> None:
        for task in self._workers:
            task.cancel()

    async def run(self, jobs: list[Job]) -> None:
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def worker() -> None:
            while not queue.empty() and not self.fatal and not self.stopping:
                await self.run_job(queue.get_nowait())

        self._workers = [asyncio.create_task(worker()) for _ in range(max(1, min(self.opts.concurrency, len(jobs))))]
        loop = asyncio.get_running_loop()
        handled = False
        if threading.current_thread() is threading.main_thread():
            try:
                loop.add_signal_handler(signal.SIGINT, self.interrupt)
                handled = True
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - non-POSIX loops
                pass
        try:
            results = await asyncio.gather(*self._workers, return_exceptions=True)
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
            if self._grace is not None:  # curate runs later rounds in this loop
                self._grace.cancel()
            self._cancel()
        for result in results:  # a bug or an unexpected error must not pass for a finished run
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                raise result
        for job in jobs:
            if job.status == "todo":
                job.status, job.error = "not_sent", self._stop_reason()

    @property
    def interrupted(self) -> bool:
        return self.interrupts > 0


def write_file(ds: LangIRDataset, job: Job, text: str, raw: str | None = None) -> bool:
    """Write the description; a file that cannot be written is this id's failure (the answer stays paid
    for in the ledger, so the next run writes it without a call).

    `raw`: the answer's raw reply; a structured one's targets are stored beside the text, and any
    targets of an earlier answer are dropped otherwise.
    """
    try:
        ds.write_description(job.image_id, text, overwrite=True)
        sync_targets(ds, job.image_id, raw, job.request or None)
        return True
    except (OSError, LangirError) as error:
        job.status, job.error = "failed", f"answer kept in the ledger, but the file cannot be written: {error}"
        return False


def write_cached(ds: LangIRDataset, plan: Plan, ledger: Ledger | None = None) -> int:
    """Write description files for done ledger rows whose file is missing (or --overwrite)."""
    n = 0
    for job in plan.by_status("cached"):
        if job.text is not None:
            if ledger is not None:
                ledger.set_current(job.key, job.image_id)
            n += write_file(ds, job, job.text, job.raw)
    return n


def heal_files(ds: LangIRDataset, plan: Plan, ledger: Ledger) -> int:
    """Rewrite kept files that lost a race with a kill: the ledger's current answer is newer and differs.

    A redo commits its answer before replacing the file; a kill in between leaves the old text on
    disk while the ledger holds the new one. A file edited by hand after that is newer: kept.
    """
    kept = [j.image_id for j in plan.by_status("skipped")]
    current = ledger.current_many(kept)
    healed = 0
    for image_id, row in current.items():
        path = ds.description_path(image_id)
        try:
            if row.text is None or row.updated is None or path.stat().st_mtime >= row.updated:
                continue
            if read_file_bytes(path, "description").decode("utf-8-sig").strip() == row.text.strip():
                continue
        except (OSError, UnicodeDecodeError, DataError):
            continue
        ds.write_description(image_id, row.text, overwrite=True)
        sync_targets(ds, image_id, row.raw_reply, row.request)
        healed += 1
    return healed


def sweep_stale_temps(ds: LangIRDataset, ids: Iterable[str]) -> int:
    """Remove `.NAME.*.tmp` left by a killed atomic write of these ids' descriptions.

    Safe only under the dataset lock (no other describe run writes there); returns files removed.
    """
    names_by_folder: dict[Path, set[str]] = {}
    for image_id in ids:
        path = ds.description_write_path(image_id)
        names_by_folder.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, names in names_by_folder.items():
        if not folder.is_dir():
            continue
        for tmp in folder.glob(".*.tmp"):
            stem = tmp.name[1:-4].rsplit(".", 1)[0]
            if stem in names:
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


def revalidate(ds: LangIRDataset, ledger: Ledger, max_words: int, write: bool = True) -> dict[str, int]:
    """Re-check stored replies under the current rules, without any API call."""
    counts = {"checked": 0, "now_valid": 0, "now_invalid": 0, "unchanged": 0}
    for row in ledger.rows():
        if row.text is None or row.status not in ("done", "invalid") or row.prompt_style in ("no-target-fallback", "restored"):
            continue
        counts["checked"] += 1
        mask_empty = None
        if ds.has_mask(row.image_id):
            try:
                mask_empty = not bool(ds.read_mask(row.image_id).any())
            except DataError:
                mask_empty = None
        problem = stored_problem(row.text, row.raw_reply, max_words, mask_empty)
        new = "done" if problem is None else "invalid"
        if new == row.status:
            counts["unchanged"] += 1
            continue
        counts["now_valid" if new == "done" else "now_invalid"] += 1
        ledger.set_status(row.key, new, problem)
        if new == "done" and write and ledger.current(row.image_id) is None:
            ledger.set_current(row.key, row.image_id)
            ds.write_description(row.image_id, row.text, overwrite=True)
            sync_targets(ds, row.image_id, row.raw_reply, row.request)
    return counts


FAILED_STATUSES = ("failed", "invalid", "unaffordable", "interrupted")


def summarize(plan: Plan, provider: Provider, elapsed: float, fatal: str | None = None) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for job in plan.jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    failures = [{"id": j.image_id, "status": j.status, "reason": j.error} for j in plan.jobs if j.status in FAILED_STATUSES]
    bad = [{"id": j.image_id, "reason": j.error} for j in plan.jobs if j.status == "bad"]
    return {
        "provider": provider.name, "model": provider.model, "images": len(plan.jobs),
        "described": counts.get("done", 0), "no_target_fallback": counts.get("fallback", 0),
        "from_ledger": counts.get("cached", 0), "kept_existing": counts.get("skipped", 0), "failed": len(failures),
        "not_sent": counts.get("not_sent", 0), "refused": counts.get("refused", 0), "answers": sum(j.answers for j in plan.jobs),
        "retries": sum(j.retried for j in plan.jobs), "api_attempts": sum(j.attempts for j in plan.jobs),
        "input_tokens": sum(j.input_tokens for j in plan.jobs), "output_tokens": sum(j.output_tokens for j in plan.jobs),
        "cost_usd": round(sum(j.cost for j in plan.jobs), 6), "elapsed_s": round(elapsed, 3),
        "skipped_bad": bad, "stopped": fatal, "interrupted": False, "failures": failures, "counts": counts,
    }


def describe_dataset(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
                     ledger: Ledger, on_event: Callable[[str, Job | None], None] | None = None,
                     on_plan: Callable[[Plan], None] | None = None,
                     on_bad: Callable[[str, str], None] | None = None,
                     redo: Iterable[str] | None = None,
                     on_warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Describe `ids` (asking `redo` anew): plan, write cached results, buy the rest; returns the summary.

    Call it while holding `DatasetLock` (the CLI does): it also sweeps stale temp files of these ids.
    Closes the provider at the end; `describe_async` leaves it open for further rounds.
    """
    async def main() -> dict[str, Any]:
        try:
            return await describe_async(ds, ids, provider, prompt, opts, ledger, on_event, on_plan, on_bad, redo, on_warn)
        finally:
            await provider.aclose()

    return asyncio.run(main())


async def describe_async(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
                         ledger: Ledger, on_event: Callable[[str, Job | None], None] | None = None,
                         on_plan: Callable[[Plan], None] | None = None,
                         on_bad: Callable[[str, str], None] | None = None,
                         redo: Iterable[str] | None = None,
                         on_warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """`describe_dataset` inside a running event loop (the SDK clients belong to one loop)."""
    t0 = time.perf_counter()
    check_prices(provider, opts)
    plan = plan_run(ds, ids, provider, prompt, opts, ledger, on_bad, redo)
    sweep_stale_temps(ds, ids)
    write_cached(ds, plan, ledger)
    heal_files(ds, plan, ledger)
    if on_plan:
        on_plan(plan)
    todo = plan.by_status("todo")
    runner = Runner(ds, provider, prompt, opts, ledger, on_event, on_warn)
    if todo:
        await runner.run(todo)
    summary = summarize(plan, provider, time.perf_counter() - t0, runner.fatal)
    summary["interrupted"] = runner.interrupted
    summary["stopped_kind"] = runner.fatal_kind
    return summary


def dry_run(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
            ledger: Ledger, batch: bool = False, redo: Iterable[str] | None = None) -> dict[str, Any]:
    """Requests a run would make, the re-asks it may make, and their estimated tokens and cost.

    No API call, no file written (open the ledger read-only). Empty masks: a VLM that insists on a
    target is re-asked up to the image's remaining answers, so each may cost that many requests.
    """
    from langir.data.imageio import image_info

    check_prices(provider, opts)
    plan = plan_run(ds, ids, provider, prompt, opts, ledger, redo=redo)
    todo = plan.by_status("todo")
    helper = Runner(ds, provider, prompt, opts, ledger)
    tin = tout = 0
    usd = worst_usd = 0.0
    empty = reasks = 0
    for job in todo:
        mask_empty = None
        if ds.has_mask(job.image_id):
            try:
                mask_empty = not bool(ds.read_mask(job.image_id).any())
            except DataError:
                mask_empty = None
        extra = max(0, job.asks_left - 1) if mask_empty and provider.remote else 0
        empty += bool(mask_empty)
        reasks += extra
        if provider.remote:
            try:
                w, h, _ = image_info(ds.image_path(job.image_id))
            except DataError:  # the real run lists it as that id's failure; it costs nothing
                continue
            if opts.max_side and max(w, h) > opts.max_side:
                scale = opts.max_side / max(w, h)
                w, h = round(w * scale), round(h * scale)
            i, o, _ = helper.estimate(w, h)
            tin, tout = tin + i, tout + o
            one = cost(opts.prices, provider.model, i, o, batch)
            usd += one
            worst_usd += one * (1 + extra) if job.asks_left else 0.0
    return {"provider": provider.name, "model": provider.model, "images": len(plan.jobs),
            "requests": sum(1 for j in todo if j.asks_left), "redo": sum(1 for j in todo if j.redo),
            "empty_masks": empty, "expected_reasks": reasks,
            "from_ledger": len(plan.by_status("cached")), "kept_existing": len(plan.by_status("skipped")),
            "bad": len(plan.by_status("bad")), "estimated_input_tokens": tin, "estimated_output_tokens": tout,
            "estimated_cost_usd": round(usd, 4), "estimated_cost_with_reasks_usd": round(worst_usd, 4), "batch": batch,
            "price_per_million": price_for(opts.prices, provider.model)}


__all__ = ["Budget", "DescribeError", "DescribeOptions", "Job", "Plan", "RateLimiter", "RetryPolicy", "Runner",
           "check_prices", "describe_async", "describe_dataset", "dry_run", "plan_run", "revalidate", "stop_advice",
           "summarize", "write_cached"]
