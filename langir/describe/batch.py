"""`--batch`: each provider's batch API (its `batch_adapter`; half price), resumable via the ledger.

Flow: build one request per image (custom_id = the ledger's request key), cut them into chunks
within the provider's per-batch limits (request count and bytes; `batch_max_requests` /
`batch_max_bytes` override them), submit each chunk as its own batch and store its id in the
ledger, poll, fetch, match results by custom_id, validate, and re-submit the invalid ones (bounded
by --invalid-retries). A run killed while waiting finds its open batches in the ledger and goes on
polling them instead of submitting again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from langir.data.dataset import LangIRDataset
from langir.describe.ledger import Ledger
from langir.describe.pricing import cost
from langir.describe.prompts import Prompt
from langir.describe.providers import BatchAdapter, FatalError, Provider, Reply, RetryableError
from langir.describe.runner import (
    DescribeError,
    DescribeOptions,
    Job,
    Runner,
    plan_run,
    stop_advice,
    summarize,
    write_cached,
    write_file,
)
from langir.describe.structured import answer_problem
from langir.errors import DataError


def _api(provider: Provider) -> BatchAdapter:
    api = provider.batch_api()
    if api is None:
        raise DescribeError(f"--batch is not available for provider {provider.name}")
    return api


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

    `submit`: creating a batch is not idempotent; after a failure that may have created it (a
    timeout, a lost connection) it is not sent again, the run stops and says so.
    """
    def once() -> Any:
        try:
            return fn()
        except (RetryableError, FatalError):
            raise
        except Exception as error:  # SDK errors → retryable/fatal
            mapped = provider.classify(error)
            if submit and isinstance(mapped, RetryableError) and mapped.maybe_done:
                raise FatalError(f"submitting a batch failed with '{mapped}', and the {provider.name} batch may have "
                                 "been created anyway; not sent again, so it cannot be bought twice: check the "
                                 "provider's batch list before running again") from None
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


def run_batch(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
              poll_interval: float = 30.0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Describe `ids` through the provider's batch API; returns the same summary as a direct run."""
    t0 = time.perf_counter()
    api = _api(provider)
    api.structured = prompt.structured  # results (also of resumed batches) are read as JSON answers
    plan = plan_run(ds, ids, provider, prompt, opts, ledger)
    write_cached(ds, plan)
    todo = {j.key: j for j in plan.by_status("todo")}
    helper = Runner(ds, provider, prompt, opts, ledger)
    masks: dict[str, bool | None] = {}
    spent = 0.0
    estimates: dict[str, float] = {}  # estimated cost of each request handed to the chunker
    open_batches = [(b, [k for k in keys if k in todo]) for b, keys in ledger.open_batches(provider.name)]
    open_batches = [(b, keys) for b, keys in open_batches if keys]
    waiting = {k for _, keys in open_batches for k in keys}
    if open_batches:
        log(f"resuming {len(open_batches)} open batch(es) from the ledger")
    for round_no in range(opts.invalid_retries + 1):
        fresh = [j for k, j in todo.items() if k not in waiting and j.status in ("todo", "invalid")]

        def entries(fresh: list[Job] = fresh) -> Iterator[tuple[str, Any, int]]:
            nonlocal spent
            for job in fresh:
                try:
                    request, mask_empty = helper._request(job)
                except DataError as error:
                    job.status, job.error = ("bad" if opts.skip_bad else "failed"), str(error)
                    continue
                masks[job.key] = mask_empty
                assert request.image is not None
                est = helper.estimate(request.image.width, request.image.height)
                est_cost = cost(opts.prices, provider.model, est[0], est[1], batch=True)
                if opts.max_cost is not None and spent + est_cost > opts.max_cost:
                    job.status, job.error = "unaffordable", f"--max-cost {opts.max_cost} reached"
                    continue
                spent += est_cost
                estimates[job.key] = est_cost
                entry = api.entry(job.key, request)
                yield job.key, entry, api.entry_bytes(entry)

        def too_large(key: str, size: int) -> None:
            nonlocal spent
            spent -= estimates.pop(key, 0.0)  # never sent, never billed
            todo[key].status = "failed"
            todo[key].error = f"request of {size} bytes exceeds the batch limit of {api.max_bytes} bytes"

        # each chunk within the provider's per-batch limits becomes its own batch (and ledger entry)
        for chunk in chunked(entries(), api.max_requests, api.max_bytes, api.overhead_bytes, too_large):
            keys = [k for k, _ in chunk]
            batch_id = _call(opts, provider, lambda chunk=chunk: api.submit([e for _, e in chunk]), submit=True)
            ledger.add_batch(batch_id, provider.name, keys)
            for key in keys:
                ledger.record(key, todo[key].image_id, provider.name, provider.model, "batched", batch_id=batch_id)
            log(f"submitted batch {batch_id} with {len(keys)} requests (round {round_no + 1})")
            open_batches.append((batch_id, keys))
        if not open_batches:
            break
        for batch_id, keys in open_batches:
            while True:
                ended, state = _call(opts, provider, lambda b=batch_id: api.poll(b))
                log(f"batch {batch_id}: {state}")
                if ended:
                    break
                time.sleep(poll_interval)
            try:
                results = _call(opts, provider, lambda b=batch_id: api.results(b))
            except DescribeError:  # the provider refused the whole batch: do not resume it again
                ledger.close_batch(batch_id, "failed")
                for key in keys:
                    ledger.record(key, todo[key].image_id, provider.name, provider.model, "failed",
                                  error="batch failed", batch_id=batch_id)
                raise
            for key in keys:
                job = todo[key]
                job.attempts += 1
                got = results.get(key)
                if not isinstance(got, Reply):
                    job.status, job.error = "invalid", got or "no result in batch"
                    ledger.record(key, job.image_id, provider.name, provider.model, "invalid", error=job.error,
                                  attempts=job.attempts, batch_id=batch_id)
                    continue
                job.input_tokens += got.input_tokens
                job.output_tokens += got.output_tokens
                job.cost = cost(opts.prices, provider.model, job.input_tokens, job.output_tokens, batch=True)
                if key not in masks:
                    try:
                        masks[key] = helper._request(job)[1]
                    except DataError:
                        masks[key] = None
                problem = answer_problem(got, opts.max_words, masks[key])
                fields = {"attempts": job.attempts, "input_tokens": job.input_tokens, "output_tokens": job.output_tokens,
                          "cost_usd": job.cost, "raw_reply": got.raw, "text": got.text, "batch_id": batch_id}
                if problem:
                    job.status, job.error = "invalid", problem
                    ledger.record(key, job.image_id, provider.name, provider.model, "invalid", error=problem, **fields)
                    continue
                ledger.record(key, job.image_id, provider.name, provider.model, "done", error=None, **fields)
                if write_file(ds, job, got.text, got.raw):  # else that id's failure; the answer stays in the ledger
                    job.status, job.text, job.error = "done", got.text, None
            ledger.close_batch(batch_id)
        open_batches = []
        waiting = set()
        if round_no < opts.invalid_retries and any(j.status == "invalid" for j in todo.values()):
            log(f"re-submitting {sum(j.status == 'invalid' for j in todo.values())} invalid replies")
    for job in todo.values():
        if job.status == "todo":
            job.status, job.error = "failed", "not processed"
    asyncio.run(provider.aclose())
    return summarize(plan, provider, time.perf_counter() - t0) | {"batch": True}
