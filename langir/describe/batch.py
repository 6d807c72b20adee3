"""`--batch`: each provider's batch API (its `batch_adapter`; half price), write-ahead and resumable.

The same executor rules as a direct run (plan → reserve → send → record, through the one
`RequestBuilder` and `Recorder`): re-asks sample like a direct run's, invalid answers each keep
their own ledger row, an empty frame whose answers all claim a target gets the no-target sentence,
and every request's worst case is reserved against --max-cost before it is submitted.

Write-ahead: before a batch is created its intent (keys, and a client-side tag the provider keeps:
OpenAI batch `metadata`, Anthropic custom_id prefix, Gemini `display_name`) is committed to the
ledger. A run killed at any point finds its batches again first: a submitted one is polled, an
intent is looked up through the provider's list endpoint by its tag and polled when found, and
asked again only when the provider has no such batch.

Test hook: `LANGIR_TEST_PAUSE_AT=before_create|after_create|mid_poll|mid_download` makes a run
print `LANGIR_TEST_PAUSED <step>` on stderr and sleep there, so a test can kill it at that step.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from langir.data.dataset import LangIRDataset
from langir.describe.answers import Recorder
from langir.describe.budget import Budget
from langir.describe.build import RequestBuilder
from langir.describe.ledger import BatchRecord, Ledger
from langir.describe.options import DescribeError, DescribeOptions, stop_advice
from langir.describe.plan import Job, finish_redos
from langir.describe.pricing import cost
from langir.describe.prompts import Prompt
from langir.describe.providers import BatchAdapter, FatalError, Provider, Reply, RetryableError
from langir.describe.runner import prepare
from langir.describe.summary import run_summary
from langir.errors import DataError


def _api(provider: Provider) -> BatchAdapter:
    api = provider.batch_api()
    if api is None:
        raise DescribeError(f"--batch is not available for provider {provider.name}")
    return api


def _pause(step: str) -> None:
    """The documented test hook: stop at `step` so a test can SIGKILL the run there."""
    if os.environ.get("LANGIR_TEST_PAUSE_AT") == step:
        print(f"LANGIR_TEST_PAUSED {step}", file=sys.stderr, flush=True)
        time.sleep(3600)


def chunked(entries: Iterable[tuple[str, Any, int]], max_requests: int, max_bytes: int, overhead: int = 0,
            too_large: Callable[[str, int], None] | None = None) -> Iterator[list[tuple[str, Any]]]:
    """Group (key, entry, size) triples, in order, into chunks of ≤ max_requests and ≤ max_bytes.

    Lazy: a chunk is yielded as soon as the next entry would not fit, so at most one chunk's
    entries (≤ max_bytes) are held at once. An entry too large for any batch on its own is
    reported through `too_large(key, size)` and left out.
    """
    current: list[tuple[str, Any]] = []
    used = overhead
    for key, entry, size in entries:
        if overhead + size > max_bytes:
            if too_large:
                too_large(key, size)
            continue
        if current and (len(current) >= max_requests or used + size > max_bytes):
            yield current
            current, used = [], overhead
        current.append((key, entry))
        used += size
    if current:
        yield current


def _call(opts: DescribeOptions, provider: Provider, fn: Callable[[], Any], submit: bool = False) -> Any:
    """The same retry policy as direct requests, for batch calls.

    `submit`: creating a batch is not idempotent; a failure that may have created it (a timeout, a
    lost connection) is raised as is (RetryableError with maybe_done) for the caller to look it up.
    """
    def once() -> Any:
        try:
            return fn()
        except (RetryableError, FatalError):
            raise
        except Exception as error:  # SDK errors → retryable/fatal
            mapped = provider.classify(error)
            if submit and isinstance(mapped, RetryableError) and mapped.maybe_done:
                raise _MaybeCreated(str(mapped)) from None
            raise mapped from None

    try:
        for attempt in Retrying(retry=retry_if_exception_type(RetryableError), stop=stop_after_attempt(opts.retry.attempts),
                                wait=opts.retry.wait, reraise=True):
            with attempt:
                return once()
    except (FatalError, RetryableError) as error:
        kind = getattr(error, "kind", None)
        advice = stop_advice(kind, provider.name)
        raise DescribeError(f"batch API: {error}" + (f"; {advice}" if advice else ""), kind) from None


class _MaybeCreated(Exception):
    """A batch creation failed in a way that may have created the batch anyway."""


class BatchRun:
    """One `--batch` run: resume the ledger's batches, then submit rounds until every image is answered."""

    def __init__(self, ds: LangIRDataset, provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
                 poll_interval: float, log: Callable[[str], None]):
        self.ds, self.provider, self.opts, self.ledger = ds, provider, opts, ledger
        self.api = _api(provider)
        self.api.structured = prompt.structured  # results (also of resumed batches) are read as JSON answers
        self.poll_interval, self.log = poll_interval, log
        self.builder = RequestBuilder(ds, provider, prompt, opts, log)
        self.recorder = Recorder(ds, provider, prompt, opts, ledger)
        self.budget = Budget(opts.max_cost)
        self.masks: dict[str, bool | None] = {}
        self.worst: dict[str, float] = {}  # reservation of each submitted key
        self.resumed: list[Job] = []  # answers of batches a killed run had submitted

    # -- resume --------------------------------------------------------------------------------
    def resume(self) -> None:
        """Poll and record every batch (or intent) a previous run of this provider left open."""
        for record in self.ledger.pending_batches(self.provider.name):
            if record.is_intent:
                found = _call(self.opts, self.provider,
                              lambda r=record: self.api.find(r.tag or "", r.prefix or "", r.keys, r.created or 0.0))
                if found is None:
                    self.ledger.drop_intent(record.tag or "")
                    self.log(f"batch intent {record.tag}: the provider has no such batch; its images are asked again")
                    continue
                self.ledger.batch_created(record.tag or "", found)
                record.batch_id = found
                self.log(f"found batch {found} ({record.tag}) submitted by an earlier run; waiting for it")
            else:
                self.log(f"resuming batch {record.batch_id} from the ledger")
            jobs = self._jobs_of(record)
            self.resumed += jobs.values()
            self.collect(record.batch_id, record.prefix or "", jobs)

    def _jobs_of(self, record: BatchRecord) -> dict[str, Job]:
        jobs: dict[str, Job] = {}
        for key in record.keys:
            item = (record.items or {}).get(key)
            if item is None:  # a ledger from before intents: its batched row knows the image
                row = self.ledger.get(key)
                if row is None:
                    continue
                item = (row.image_id, row.request or key, row.attempt)
            jobs[key] = Job(item[0], key, request=item[1], attempt=item[2])
        return jobs

    # -- submit --------------------------------------------------------------------------------
    def _entries(self, asking: list[Job], prefix: str) -> Iterator[tuple[str, Any, int]]:
        for job in asking:
            try:
                request, mask_empty = self.builder.build(job.image_id)
            except DataError as error:
                job.status, job.error = ("bad" if self.opts.skip_bad else "failed"), str(error)
                continue
            self.masks[job.image_id] = mask_empty
            ask = self.builder.ask(request, job.attempt)
            _, worst = self.builder.worst_case(ask, batch=True)
            if not self.budget.try_reserve(worst):
                job.status, job.error = "unaffordable", f"--max-cost {self.opts.max_cost} reached"
                continue
            self.worst[job.key] = worst
            entry = self.api.entry(self.api.custom_id(prefix, job.key), ask)
            yield job.key, entry, self.api.entry_bytes(entry)

    def submit_round(self, asking: list[Job], round_no: int) -> list[tuple[str, str, dict[str, Job]]]:
        """Submit `asking` in chunks within the provider's limits; each chunk's intent is committed first."""
        prefix = "lg" + uuid.uuid4().hex[:10]
        by_key = {j.key: j for j in asking}

        def too_large(key: str, size: int) -> None:
            self._settle(key, 0.0)  # never sent, never billed
            by_key[key].status = "failed"
            by_key[key].error = f"request of {size} bytes exceeds the batch limit of {self.api.max_bytes} bytes"

        submitted = []
        chunks = chunked(self._entries(asking, prefix), self.api.max_requests, self.api.max_bytes,
                         self.api.overhead_bytes, too_large)
        for n, chunk in enumerate(chunks):
            jobs = {k: by_key[k] for k, _ in chunk}
            tag = f"{prefix}-{n}"
            batch_id = self._create(tag, prefix, jobs, [e for _, e in chunk])
            with self.ledger.group():  # one commit (each is fsynced); the intent above is the write-ahead record
                for key, job in jobs.items():
                    self.ledger.record(key, job.image_id, self.provider.name, self.provider.model, "batched",
                                       batch_id=batch_id)
            self.log(f"submitted batch {batch_id} with {len(jobs)} requests (round {round_no + 1})")
            submitted.append((batch_id, prefix, jobs))
        return submitted

    def _create(self, tag: str, prefix: str, jobs: dict[str, Job], entries: list[Any]) -> str:
        items = {k: (j.image_id, j.request, j.attempt) for k, j in jobs.items()}
        self.ledger.batch_intent(tag, self.provider.name, self.provider.model, items, prefix)
        _pause("before_create")
        try:
            batch_id = _call(self.opts, self.provider, lambda: self.api.submit(entries, tag), submit=True)
        except _MaybeCreated as error:
            found = _call(self.opts, self.provider, lambda: self.api.find(tag, prefix, list(jobs), time.time()))
            if found is None:  # maybe still being created: the intent stays, the next run looks again
                raise DescribeError(f"submitting a batch failed with '{error}', and the {self.provider.name} batch may "
                                    "have been created anyway; not sent again, so it cannot be bought twice: run again "
                                    "to find it by its tag") from None
            batch_id = found
        except DescribeError:
            self.ledger.drop_intent(tag)  # refused: never created
            for key in jobs:
                self._settle(key, 0.0)
            raise
        _pause("after_create")
        self.ledger.batch_created(tag, batch_id)
        return batch_id

    def _settle(self, key: str, actual: float) -> None:
        if key in self.worst:
            self.budget.settle(self.worst.pop(key), actual)
        else:  # a resumed batch: reserved by the run that submitted it
            self.budget.spent += actual

    # -- collect -------------------------------------------------------------------------------
    def _wait(self, batch_id: str) -> None:
        while True:
            ended, state = _call(self.opts, self.provider, lambda: self.api.poll(batch_id))
            self.log(f"batch {batch_id}: {state}")
            _pause("mid_poll")
            if ended:
                return
            time.sleep(self.poll_interval)

    def collect(self, batch_id: str, prefix: str, jobs: dict[str, Job]) -> None:
        """Wait for `batch_id`, then book each result through the Recorder (one row per paid answer)."""
        self._wait(batch_id)
        try:
            raw = _call(self.opts, self.provider, lambda: self.api.results(batch_id))
        except DescribeError:  # the provider refused the whole batch: do not resume it again
            self.ledger.close_batch(batch_id, "failed")
            for key, job in jobs.items():
                self._settle(key, 0.0)
                job.status = "failed"
                self.recorder.unanswered(job, "batch failed", batch_id=batch_id)
            raise
        _pause("mid_download")
        results = {self.api.key_of(prefix, cid): got for cid, got in raw.items()}
        for key, job in jobs.items():
            job.key = key
            job.attempts += 1
            got = results.get(key)
            if not isinstance(got, Reply):  # an errored item is not billed
                self._settle(key, 0.0)
                job.status = "failed"
                self.recorder.unanswered(job, got or "no result in batch", attempts=job.attempts, batch_id=batch_id)
                continue
            if got.usage_estimated:  # no usable token counts: estimated; the cap counts the worst case
                got.input_tokens, got.output_tokens = self.builder.usage_estimate(self.builder.sent_size(job.image_id), got)
            actual = cost(self.opts.prices, self.provider.model, got.input_tokens, got.output_tokens, batch=True)
            self._settle(key, self.worst.get(key, actual) if got.usage_estimated else actual)
            if job.image_id not in self.masks:
                self.masks[job.image_id] = self.builder.mask_empty(job.image_id)
            self.recorder.answered(job, got, self.masks[job.image_id], actual, attempts=job.attempts, batch_id=batch_id,
                                   sent=self.builder.sent_size(job.image_id))
        self.ledger.close_batch(batch_id)

    # -- the run -------------------------------------------------------------------------------
    def run(self, todo: list[Job]) -> None:
        for round_no in range(self.opts.invalid_retries + 1):
            asking = [j for j in todo if j.status == "todo" and j.asks_left > 0]
            if not asking:
                break
            if round_no:
                self.log(f"asking again for {len(asking)} invalid repl(ies) (round {round_no + 1})")
            for batch_id, prefix, jobs in self.submit_round(asking, round_no):
                self.collect(batch_id, prefix, jobs)
        for job in todo:
            if job.status == "todo":
                if job.image_id not in self.masks:
                    self.masks[job.image_id] = self.builder.mask_empty(job.image_id)
                self.recorder.exhausted(job, self.masks[job.image_id])


def run_batch(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
              poll_interval: float = 30.0, log: Callable[[str], None] = print,
              redo: Iterable[str] | None = None) -> dict[str, Any]:
    """Describe `ids` (asking `redo` anew) through the provider's batch API; returns the same summary as a direct run."""
    t0 = time.perf_counter()
    if ledger.run_id is None:
        ledger.start_run(provider.name, provider.model, "batch")
    run = BatchRun(ds, provider, prompt, opts, ledger, poll_interval, log)
    try:
        run.resume()  # first: answers a killed run paid for become this plan's cached ones
        plan = prepare(ds, ids, provider, prompt, opts, ledger, redo=redo)
        _merge_resumed(plan.jobs, run.resumed)
        run.run(plan.by_status("todo"))
        finish_redos(plan, ledger)
    finally:
        asyncio.run(provider.aclose())
        ledger.finish_run()
    summary = run_summary(plan, provider, time.perf_counter() - t0)
    summary.update(batch=True, resumed_answers=sum(j.answers for j in run.resumed), kept_answers=run.recorder.kept)
    note = run.recorder.usage_note()
    summary.update(usage_estimated=run.recorder.estimated, notes=[note] if note else [])
    if note:
        log(note)
    return summary


def _merge_resumed(jobs: list[Job], resumed: list[Job]) -> None:
    """Answers booked from a resumed batch count in this run's summary (the plan sees them as paid)."""
    by_image = {j.image_id: j for j in jobs}
    for r in resumed:
        job = by_image.get(r.image_id)
        if job is None:
            continue
        job.answers += r.answers
        job.cost += r.cost
        job.input_tokens += r.input_tokens
        job.output_tokens += r.output_tokens
        job.attempts += r.attempts
        if job.status in ("cached", "skipped") and r.status == "done":  # its file was written on resume
            job.status = "done"
