"""The direct executor: the `todo` jobs of a plan, concurrently, under the cap, the rate limits and Ctrl-C.

Per HTTP attempt: reserve its worst case against --max-cost, send, settle with what it cost. A
request that may have been billed without a readable answer (a 200 with a broken body, a timeout
after it was sent) is settled at its worst case. Between reading a reply and recording it there is
no `await`, so a second Ctrl-C (which cancels the workers) cannot drop an answer already read.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import gc
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from langir.data.dataset import LangIRDataset
from langir.describe.answers import Recorder
from langir.describe.budget import Budget, RateLimiter
from langir.describe.build import RequestBuilder
from langir.describe.ledger import Ledger
from langir.describe.options import DescribeOptions
from langir.describe.plan import Job
from langir.describe.pricing import cost
from langir.describe.prompts import Prompt
from langir.describe.providers import FatalError, Provider, Reply, Request, RetryableError
from langir.errors import DataError

T = TypeVar("T")


# A run allocates a few hundred short-lived objects a request (SDK models, headers, dicts) beside tens of
# thousands that live as long as the run (jobs, plan, modules): at CPython's threshold of 700 the young
# generation was collected every few requests and the older ones, whose scans cover that whole heap, every
# few dozen, ≈ 0.05 ms of CPU an image (gc callbacks, bench/describe_throughput.py). During a run the
# objects already there are frozen (never scanned) and the young threshold is raised; both undone after.
RUN_GC_THRESHOLD = 20_000


@contextlib.contextmanager
def _quiet_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    frozen = gc.get_freeze_count() == 0 and gc.isenabled()  # a caller's own freeze is left alone
    if frozen:
        gc.freeze()
    gc.set_threshold(max(threshold[0], RUN_GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if frozen:
            gc.unfreeze()


class _Unaffordable(Exception):
    """The next attempt does not fit under --max-cost."""


class _Stopped(Exception):
    """A stop (Ctrl-C or a fatal error elsewhere) came before the attempt was sent."""


class Runner:
    """Runs the `todo` jobs of a plan: concurrency, rate limits, cost cap, retries, validation, Ctrl-C."""

    def __init__(self, ds: LangIRDataset, provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
                 on_event: Callable[[str, Job | None], None] | None = None,
                 on_warn: Callable[[str], None] | None = None, budget: Budget | None = None):
        self.ds, self.provider, self.prompt, self.opts, self.ledger = ds, provider, prompt, opts, ledger
        self.on_event = on_event or (lambda kind, job: None)
        self.builder = RequestBuilder(ds, provider, prompt, opts, on_warn)
        self.recorder = Recorder(ds, provider, prompt, opts, ledger, self.on_event)
        self.fatal: str | None = None
        self.fatal_kind: str | None = None
        self.limiter = RateLimiter(opts.rpm, opts.tpm)
        self.budget = budget or Budget(opts.max_cost)
        self.stopping = False
        self.interrupts = 0
        self.in_flight = 0  # requests sent whose answer has not been read
        self.lost = 0  # requests in flight when a second Ctrl-C stopped the run
        self._workers: list[asyncio.Task] = []
        self._grace: asyncio.TimerHandle | None = None
        self._group: tuple[asyncio.Future, list[tuple[Job, Reply]]] | None = None  # this tick's commit
        self.failure: BaseException | None = None  # a commit or file write that broke: raised at the end
        # One thread for reading and encoding large images off the loop (small ones and the description
        # files are done on the loop: each hop to a thread cost ≈ 0.3 ms of CPU in GIL hand-offs, more
        # than their work; the default pool's six threads cost ≈ 1 ms an image)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="langir-describe")

    @property
    def spent(self) -> float:
        return self.budget.spent

    # kept for callers of the old private helpers
    def _request(self, job: Job) -> tuple[Request, bool | None]:
        return self.builder.build(job.image_id)

    def estimate(self, width: int, height: int) -> tuple[int, int, float]:
        return self.builder.estimate(width, height)

    def worst_case(self, request: Request) -> tuple[int, float]:
        return self.builder.worst_case(request)

    def temperature(self, attempt: int) -> float:
        return self.builder.temperature(attempt)

    # -- one answer ----------------------------------------------------------------------------
    async def _send(self, ask: Request, job: Job, tokens: int, worst: float) -> tuple[Reply, float]:
        """One HTTP attempt, reserved before and settled after."""
        if not await self.budget.reserve(worst):
            raise _Stopped() if self.stopping else _Unaffordable()
        billed = charged = 0.0  # what the answer cost; what it counts against the cap
        sent = False
        try:
            await self.limiter.acquire(tokens)
            if self.stopping or self.fatal:
                raise _Stopped()
            job.attempts += 1
            sent = True
            self.in_flight += 1
            self.on_event("sent", job)
            try:
                reply = await self.provider.describe(ask)
            finally:
                self.in_flight -= 1
            if reply.usage_estimated:  # no usable token counts: estimated, and the cap counts the worst case
                size = (ask.image.width, ask.image.height) if ask.image is not None else None
                reply.input_tokens, reply.output_tokens = self.builder.usage_estimate(size, reply)
            billed = cost(self.opts.prices, self.provider.model, reply.input_tokens, reply.output_tokens)
            charged = worst if reply.usage_estimated else billed
            return reply, billed
        except RetryableError as error:
            if error.maybe_done:  # sent, and maybe billed: it counts against the cap
                charged = worst
                job.maybe_billed += worst
            raise
        except asyncio.CancelledError:
            if sent:  # its answer will never be read, yet it may be billed
                charged = worst
                self.lost += 1
            raise
        finally:
            self.budget.settle(worst, charged)

    async def _ask(self, ask: Request, job: Job) -> tuple[Reply, float]:
        """One answer: transient errors retried under the one policy, each attempt under the cap."""
        tokens, worst = self.builder.worst_case(ask)
        policy = self.opts.retry
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(RetryableError), stop=stop_after_attempt(policy.attempts),
            wait=policy.wait, reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    job.retried += 1
                    self.on_event("retry", job)
                return await self._send(ask, job, tokens, worst)
        raise AssertionError("unreachable")  # pragma: no cover

    def _stop_reason(self) -> str:
        return ("stopped: " + self.fatal) if self.fatal else "interrupted (Ctrl-C) before it was sent"

    def _not_sent(self, job: Job) -> None:
        job.status, job.error = ("not_sent", self._stop_reason()) if job.answers == 0 else ("invalid", job.error)
        self.on_event(job.status, job)

    async def run_job(self, job: Job, built: Awaitable[tuple[Request, bool | None]] | None = None) -> None:
        """One image: its request (`built`: already being built, else built now), its answers, its file."""
        try:
            request, mask_empty = await (built or self._build(job))
        except DataError as error:
            job.status, job.error = ("bad" if self.opts.skip_bad else "failed"), str(error)
            self.on_event(job.status, job)
            return
        while job.asks_left > 0:
            if self.stopping or self.fatal:
                return self._not_sent(job)
            t0 = time.perf_counter()
            try:
                reply, actual = await self._ask(self.builder.ask(request, job.attempt), job)
            except _Stopped:
                return self._not_sent(job)
            except _Unaffordable:
                job.status, job.error = "unaffordable", f"--max-cost {self.opts.max_cost} reached"
                self.on_event("unaffordable", job)
                return
            except FatalError as error:
                self.fatal = self.fatal or str(error)
                self.fatal_kind = self.fatal_kind or getattr(error, "kind", None)
                job.status = "refused"
                self.recorder.unanswered(job, str(error), attempts=job.attempts, latency_s=time.perf_counter() - t0)
                self.on_event(job.status, job)
                return
            except RetryableError as error:  # no answer, nothing paid: the key can be asked again later
                job.status = "failed"
                self.recorder.unanswered(job, f"gave up after {job.attempts} attempts: {error}", attempts=job.attempts,
                                         latency_s=time.perf_counter() - t0)
                self.on_event(job.status, job)
                return
            except asyncio.CancelledError:
                job.status, job.error = "interrupted", "in flight when stopped (Ctrl-C); bought again on the next run"
                raise
            # no await from here to the ledger write: a reply read is a reply kept (committed this tick)
            valid = self.recorder.answered(job, reply, mask_empty, actual, write=False, attempts=job.attempts,
                                           latency_s=time.perf_counter() - t0,
                                           sent=(request.image.width, request.image.height) if request.image else None)
            group = self._commit_soon((job, reply) if valid else None)
            if valid:
                # committed at the end of this tick, then the file from the committed row (a kill in
                # between is healed by the next run, no call). The worker moves on meanwhile.
                group.add_done_callback(lambda group, job=job: group.cancelled() or self.on_event(job.status, job))
                return
        self.recorder.exhausted(job, mask_empty)

    # -- the run -------------------------------------------------------------------------------
    def _commit_soon(self, write: tuple[Job, Reply] | None = None) -> asyncio.Future:
        """One ledger commit for every answer booked in this event-loop tick, then the files of its valid
        answers (`write`). The future is done when both are."""
        if self._group is None:
            loop = asyncio.get_running_loop()
            self._group = (loop.create_future(), [])
            loop.call_soon(self._do_flush)
        future, writes = self._group
        if write is not None:
            writes.append(write)
        return future

    def _do_flush(self) -> None:
        if self._group is None:  # flushed early by the end of the run
            return
        (future, writes), self._group = self._group, None
        try:
            self.ledger.flush()  # durable (synchronous=FULL): from here the answers survive a power loss
        except Exception as error:  # a full disk: stop sending, write no file, and the run raises it
            self.failure = self.failure or error
            self.stopping = True
            future.cancel()
            return
        try:  # on the loop: a thread hop cost more CPU than writing a description file
            self._write_files(writes)
        except Exception as error:  # a bug in writing: the run raises it
            self.failure = self.failure or error
            future.cancel()
            return
        future.set_result(None)

    def _off_loop(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _now_or_off_loop(self, fn: Callable[..., T], *args: Any, inline: bool) -> asyncio.Future[T]:
        """`fn(*args)` run on the loop at once (`inline`), else on the worker thread; a future either way."""
        if not inline:
            return self._off_loop(fn, *args)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(fn(*args))
        except Exception as error:
            future.set_exception(error)
        return future

    def _build(self, job: Job) -> asyncio.Future[tuple[Request, bool | None]]:
        """The job's request: small images are built on the loop (a thread hop costs more CPU than their
        read and encode), large ones on the worker thread (their zlib work runs beside the loop)."""
        return self._now_or_off_loop(self.builder.build, job.image_id, inline=self.builder.cheap(job.image_id, job.image_bytes))

    def _write_files(self, writes: list[tuple[Job, Reply]]) -> None:
        for job, reply in writes:
            self.recorder.write(job, reply.text, reply)

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
        waiting = collections.deque(jobs)
        # requests built ahead (image read, PNG encode) while earlier ones are in flight, so a
        # worker that frees up sends at once. A few spares suffice (a build takes ≈ 1 ms, answers come back
        # every few ms) and bound the memory held by encoded images waiting; a worker that pops one tops
        # the queue up at once, so every worker finds a job while any is waiting.
        ahead: collections.deque[tuple[Job, asyncio.Future]] = collections.deque()
        spare = max(1, min(self.opts.concurrency, len(jobs), 16))

        def top_up() -> None:
            while waiting and len(ahead) < spare and not self.fatal and not self.stopping:
                job = waiting.popleft()
                ahead.append((job, self._build(job)))

        async def worker() -> None:
            while ahead and not self.fatal and not self.stopping:
                job, built = ahead.popleft()
                top_up()
                await self.run_job(job, built)

        loop = asyncio.get_running_loop()
        handled = False
        if threading.current_thread() is threading.main_thread():
            try:
                loop.add_signal_handler(signal.SIGINT, self.interrupt)
                handled = True
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - non-POSIX loops
                pass
        top_up()  # after the handler: small frames are built right here, on the loop
        self._workers = [asyncio.create_task(worker()) for _ in range(max(1, min(self.opts.concurrency, len(jobs))))]
        self.ledger.defer_commits(True)
        try:
            with _quiet_gc():
                results = await asyncio.gather(*self._workers, return_exceptions=True)
        finally:
            self._do_flush()  # this tick's group, if any: its rows and files
            self.ledger.defer_commits(False)  # every answer read is committed, a second Ctrl-C included
            self._pool.shutdown(wait=False, cancel_futures=True)  # images built ahead for nobody: dropped
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
            if self._grace is not None:  # curate runs later rounds in this loop
                self._grace.cancel()
            self._cancel()
        for _, built in ahead:  # built ahead, never sent (a stop): dropped without a "never retrieved" warning
            if built.done() and not built.cancelled():
                built.exception()
            built.cancel()
        if self.failure is not None:
            raise self.failure
        for result in results:  # a bug or an unexpected error must not pass for a finished run
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                raise result
        for job in jobs:
            if job.status == "todo":
                job.status, job.error = "not_sent", self._stop_reason()

    @property
    def interrupted(self) -> bool:
        return self.interrupts > 0
