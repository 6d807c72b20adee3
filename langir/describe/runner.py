"""The describe run: plan against the ledger, call the provider concurrently, validate, write.

Order of writes makes a kill at any moment safe: a reply is committed to the ledger (status done,
with its text) before the description file is written atomically; a re-run writes files for done
rows without calling the API again. Failed or invalid requests are never cached as done.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from langir.data.dataset import LangIRDataset
from langir.describe.checks import reply_problem
from langir.describe.images import DEFAULT_MAX_SIDE, encode_array
from langir.describe.ledger import Ledger, request_key
from langir.describe.pricing import DEFAULT_PRICES, cost, text_tokens
from langir.describe.prompts import Prompt
from langir.describe.providers import FatalError, Provider, Reply, Request, RetryableError
from langir.errors import DataError, LangirError


class DescribeError(LangirError):
    """The run stopped: a non-retryable API error (bad key, bad request, exhausted quota)."""


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


@dataclass
class Job:
    image_id: str
    key: str
    status: str = "todo"  # todo | cached | skipped | done | invalid | failed | unaffordable | bad
    text: str | None = None
    error: str | None = None
    attempts: int = 0
    retried: int = 0
    cost: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0


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


def _file_sha(paths: list[Any]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:24]


@dataclass
class Plan:
    jobs: list[Job]
    keys: dict[str, str]

    def by_status(self, status: str) -> list[Job]:
        return [j for j in self.jobs if j.status == status]


def plan_run(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
             ledger: Ledger, on_bad: Callable[[str, str], None] | None = None) -> Plan:
    """Decide per id: keep existing file, reuse a done ledger row, or call. No API calls here."""
    jobs: list[Job] = []
    params = {"max_side": opts.max_side, "max_tokens": opts.max_tokens, "temperature": opts.temperature,
              "detail": opts.detail, "max_words": opts.max_words}
    for image_id in ids:
        if not opts.overwrite and ds.has_description(image_id):
            jobs.append(Job(image_id, "", "skipped"))
            continue
        try:
            paths = [ds.image_path(image_id)]
            if provider.needs_mask:
                paths.append(ds.mask_path(image_id))
            sha = _file_sha(paths)
        except (OSError, DataError) as error:
            message = str(error)
            if not opts.skip_bad:
                raise error if isinstance(error, DataError) else DataError(None, message, image_id) from None
            if on_bad:
                on_bad(image_id, message)
            jobs.append(Job(image_id, "", "bad", error=message))
            continue
        jobs.append(Job(image_id, request_key(sha, provider.name, provider.model, prompt.digest(), params)))
    rows = ledger.get_many([j.key for j in jobs if j.key])
    for job in jobs:
        row = rows.get(job.key) if job.key else None
        if row is not None and row.status == "done" and row.text:
            job.status, job.text = "cached", row.text
    return Plan(jobs, {j.image_id: j.key for j in jobs})


class Runner:
    """Runs the `todo` jobs of a plan: concurrency, rate limits, budget, retries, validation."""

    def __init__(self, ds: LangIRDataset, provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
                 on_event: Callable[[str, Job], None] | None = None):
        self.ds, self.provider, self.prompt, self.opts, self.ledger = ds, provider, prompt, opts, ledger
        self.on_event = on_event or (lambda kind, job: None)
        self.spent = 0.0
        self.reserved = 0.0
        self.fatal: str | None = None
        self.limiter = RateLimiter(opts.rpm, opts.tpm)

    # -- one image ---------------------------------------------------------------------------
    def _request(self, job: Job) -> tuple[Request, bool | None]:
        sample = self.ds.load(job.image_id, need_mask=self.provider.needs_mask)
        mask_empty = None if sample.mask is None else not bool(sample.mask.any())
        image = None if not self.provider.remote else encode_array(sample.image, self.opts.max_side, self.provider.name)
        return Request(job.image_id, image, self.prompt, self.opts.max_tokens, self.opts.temperature, self.opts.detail,
                       self.opts.max_words, sample.mask), mask_empty

    def estimate(self, width: int, height: int) -> tuple[int, int, float]:
        tin = self.provider.estimate_input_tokens(width, height, self.prompt, self.opts.detail)
        tout = min(self.opts.max_tokens, text_tokens("x" * 6 * self.opts.max_words))
        return tin, tout, cost(self.opts.prices, self.provider.model, tin, tout)

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

    async def run_job(self, job: Job) -> None:
        try:
            request, mask_empty = await asyncio.to_thread(self._request, job)
        except DataError as error:
            job.status, job.error = ("bad" if self.opts.skip_bad else "failed"), str(error)
            self.on_event(job.status, job)
            return
        est_cost = 0.0
        if self.provider.remote and request.image is not None:
            tin, _, est_cost = self.estimate(request.image.width, request.image.height)
            if self.opts.max_cost is not None and self.spent + self.reserved + est_cost > self.opts.max_cost:
                job.status, job.error = "unaffordable", f"--max-cost {self.opts.max_cost} reached"
                self.on_event("unaffordable", job)
                return
            self.reserved += est_cost
            await self.limiter.acquire(tin + self.opts.max_tokens)
        t0 = time.perf_counter()
        reply: Reply | None = None
        problem: str | None = None
        try:
            for _ in range(self.opts.invalid_retries + 1):
                if self.fatal:
                    job.status, job.error = "failed", "stopped: " + self.fatal
                    return
                reply = await self._call(request, job)
                job.input_tokens += reply.input_tokens
                job.output_tokens += reply.output_tokens
                problem = reply_problem(reply.text, self.opts.max_words, mask_empty)
                if problem is None:
                    break
        except FatalError as error:
            self.fatal = self.fatal or str(error)
            job.status, job.error = "failed", str(error)
        except RetryableError as error:
            job.status, job.error = "failed", f"gave up after {job.attempts} attempts: {error}"
        finally:
            self.reserved -= est_cost
        job.cost = cost(self.opts.prices, self.provider.model, job.input_tokens, job.output_tokens)
        self.spent += job.cost
        latency = time.perf_counter() - t0
        common = {"attempts": job.attempts, "latency_s": latency, "input_tokens": job.input_tokens,
                  "output_tokens": job.output_tokens, "cost_usd": job.cost}
        if job.status == "failed":
            self.ledger.record(job.key, job.image_id, self.provider.name, self.provider.model, "failed",
                               error=job.error, raw_reply=reply.raw if reply else None, **common)
            self.on_event("failed", job)
            return
        assert reply is not None
        if problem is not None:
            job.status, job.error = "invalid", problem
            self.ledger.record(job.key, job.image_id, self.provider.name, self.provider.model, "invalid",
                               raw_reply=reply.raw, text=reply.text, error=problem, **common)
            self.on_event("invalid", job)
            return
        # ledger first, file second: a kill between the two is healed by the next run without a call
        self.ledger.record(job.key, job.image_id, self.provider.name, self.provider.model, "done",
                           raw_reply=reply.raw, text=reply.text, error=None, **common)
        self.ds.write_description(job.image_id, reply.text, overwrite=True)
        job.status, job.text = "done", reply.text
        self.on_event("done", job)

    async def run(self, jobs: list[Job]) -> None:
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def worker() -> None:
            while not queue.empty() and not self.fatal:
                job = queue.get_nowait()
                await self.run_job(job)

        workers = [asyncio.create_task(worker()) for _ in range(max(1, min(self.opts.concurrency, len(jobs))))]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await self.provider.aclose()
        for job in jobs:
            if job.status == "todo":
                job.status, job.error = "failed", "stopped: " + (self.fatal or "interrupted")


def write_cached(ds: LangIRDataset, plan: Plan) -> int:
    """Write description files for done ledger rows whose file is missing (or --overwrite)."""
    n = 0
    for job in plan.by_status("cached"):
        if job.text is not None:
            ds.write_description(job.image_id, job.text, overwrite=True)
            n += 1
    return n


def revalidate(ds: LangIRDataset, ledger: Ledger, max_words: int, write: bool = True) -> dict[str, int]:
    """Re-check stored replies under the current rules, without any API call."""
    counts = {"checked": 0, "now_valid": 0, "now_invalid": 0, "unchanged": 0}
    for row in ledger.rows():
        if row.text is None or row.status not in ("done", "invalid"):
            continue
        counts["checked"] += 1
        mask_empty = None
        if ds.has_mask(row.image_id):
            try:
                mask_empty = not bool(ds.read_mask(row.image_id).any())
            except DataError:
                mask_empty = None
        problem = reply_problem(row.text, max_words, mask_empty)
        new = "done" if problem is None else "invalid"
        if new == row.status:
            counts["unchanged"] += 1
            continue
        counts["now_valid" if new == "done" else "now_invalid"] += 1
        ledger.db.execute("UPDATE requests SET status=?, error=? WHERE key=?", (new, problem, row.key))
        if new == "done" and write:
            ds.write_description(row.image_id, row.text, overwrite=True)
    return counts


def summarize(plan: Plan, provider: Provider, elapsed: float, fatal: str | None = None) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for job in plan.jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    failures = [{"id": j.image_id, "status": j.status, "reason": j.error}
                for j in plan.jobs if j.status in ("failed", "invalid", "unaffordable")]
    bad = [{"id": j.image_id, "reason": j.error} for j in plan.jobs if j.status == "bad"]
    return {
        "provider": provider.name, "model": provider.model, "images": len(plan.jobs),
        "described": counts.get("done", 0), "from_ledger": counts.get("cached", 0),
        "kept_existing": counts.get("skipped", 0), "failed": len(failures),
        "retries": sum(j.retried for j in plan.jobs), "api_attempts": sum(j.attempts for j in plan.jobs),
        "input_tokens": sum(j.input_tokens for j in plan.jobs), "output_tokens": sum(j.output_tokens for j in plan.jobs),
        "cost_usd": round(sum(j.cost for j in plan.jobs), 6), "elapsed_s": round(elapsed, 3),
        "skipped_bad": bad, "stopped": fatal, "failures": failures, "counts": counts,
    }


def describe_dataset(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
                     ledger: Ledger, on_event: Callable[[str, Job], None] | None = None,
                     on_plan: Callable[[Plan], None] | None = None,
                     on_bad: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """Describe `ids`: plan, write cached results, call for the rest; returns the summary dict."""
    t0 = time.perf_counter()
    plan = plan_run(ds, ids, provider, prompt, opts, ledger, on_bad)
    write_cached(ds, plan)
    if on_plan:
        on_plan(plan)
    todo = plan.by_status("todo")
    runner = Runner(ds, provider, prompt, opts, ledger, on_event)
    if todo:
        asyncio.run(runner.run(todo))
    else:
        asyncio.run(provider.aclose())
    summary = summarize(plan, provider, time.perf_counter() - t0, runner.fatal)
    if runner.fatal:
        summary["stopped"] = runner.fatal
    return summary


def dry_run(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
            ledger: Ledger, batch: bool = False) -> dict[str, Any]:
    """Requests a run would make and their estimated tokens and cost; no API call, no file written."""
    from langir.data.imageio import image_info

    plan = plan_run(ds, ids, provider, prompt, opts, ledger)
    todo = plan.by_status("todo")
    tin = tout = 0
    usd = 0.0
    for job in todo:
        if provider.remote:
            w, h, _ = image_info(ds.image_path(job.image_id))
            if opts.max_side and max(w, h) > opts.max_side:
                scale = opts.max_side / max(w, h)
                w, h = round(w * scale), round(h * scale)
            i, o, _ = Runner(ds, provider, prompt, opts, ledger).estimate(w, h)
            tin, tout = tin + i, tout + o
            usd += cost(opts.prices, provider.model, i, o, batch)
    from langir.describe.pricing import price_for

    return {"provider": provider.name, "model": provider.model, "images": len(plan.jobs), "requests": len(todo),
            "from_ledger": len(plan.by_status("cached")), "kept_existing": len(plan.by_status("skipped")),
            "bad": len(plan.by_status("bad")), "estimated_input_tokens": tin, "estimated_output_tokens": tout,
            "estimated_cost_usd": round(usd, 4), "batch": batch,
            "price_per_million": price_for(opts.prices, provider.model)}
