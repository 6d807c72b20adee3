"""`--batch`: OpenAI Batch API and Anthropic Message Batches (half price), resumable via the ledger.

Flow: build one request per image (custom_id = the ledger's request key), submit, store the batch
id in the ledger, poll, fetch, match results by custom_id, validate, and re-submit the invalid ones
(bounded by --invalid-retries). A run killed while waiting finds its open batches in the ledger
and goes on polling them instead of submitting again.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from langir.data.dataset import LangIRDataset
from langir.describe.checks import reply_problem
from langir.describe.ledger import Ledger
from langir.describe.pricing import cost
from langir.describe.prompts import Prompt
from langir.describe.providers import (
    AnthropicProvider,
    FatalError,
    OpenAIProvider,
    Provider,
    Reply,
    RetryableError,
    classify,
)
from langir.describe.runner import (
    DescribeError,
    DescribeOptions,
    Runner,
    plan_run,
    summarize,
    write_cached,
)
from langir.errors import DataError


class _OpenAIBatches:
    def __init__(self, provider: OpenAIProvider):
        self.p, self.c = provider, provider.sync_client

    def submit(self, items: list[tuple[str, Any]]) -> str:
        lines = [json.dumps({"custom_id": key, "method": "POST", "url": "/v1/chat/completions", "body": self.p.body(req)})
                 for key, req in items]
        upload = self.c.files.create(file=("langir-batch.jsonl", io.BytesIO(("\n".join(lines) + "\n").encode())), purpose="batch")
        return self.c.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id

    def poll(self, batch_id: str) -> tuple[bool, str]:
        b = self.c.batches.retrieve(batch_id)
        counts = b.request_counts
        done = f"{counts.completed}/{counts.total}" if counts else ""
        return b.status in ("completed", "failed", "expired", "cancelled"), f"{b.status} {done}"

    def results(self, batch_id: str) -> dict[str, Reply | str]:
        b = self.c.batches.retrieve(batch_id)
        found: dict[str, Reply | str] = {}
        for file_id in (b.output_file_id, b.error_file_id):
            if not file_id:
                continue
            for line in self.c.files.content(file_id).text.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                response = item.get("response") or {}
                if item.get("error") or response.get("status_code") != 200:
                    found[item["custom_id"]] = f"batch error: {item.get('error') or response.get('status_code')}"
                    continue
                try:
                    found[item["custom_id"]] = OpenAIProvider.parse(response["body"])
                except RetryableError as error:
                    found[item["custom_id"]] = str(error)
        return found


class _AnthropicBatches:
    def __init__(self, provider: AnthropicProvider):
        self.p, self.c = provider, provider.sync_client

    def submit(self, items: list[tuple[str, Any]]) -> str:
        return self.c.messages.batches.create(requests=[{"custom_id": k, "params": self.p.params(r)} for k, r in items]).id

    def poll(self, batch_id: str) -> tuple[bool, str]:
        b = self.c.messages.batches.retrieve(batch_id)
        return b.processing_status == "ended", f"{b.processing_status} {b.request_counts.succeeded} succeeded"

    def results(self, batch_id: str) -> dict[str, Reply | str]:
        found: dict[str, Reply | str] = {}
        for item in self.c.messages.batches.results(batch_id):
            if item.result.type == "succeeded":
                found[item.custom_id] = AnthropicProvider.parse(item.result.message.model_dump())
            else:
                found[item.custom_id] = f"batch {item.result.type}"
        return found


def _api(provider: Provider) -> _OpenAIBatches | _AnthropicBatches:
    if isinstance(provider, OpenAIProvider):
        return _OpenAIBatches(provider)
    if isinstance(provider, AnthropicProvider):
        return _AnthropicBatches(provider)
    raise DescribeError(f"--batch is not available for provider {provider.name}")


def _call(opts: DescribeOptions, fn: Callable[[], Any]) -> Any:
    """The same retry policy as direct requests, for batch housekeeping calls."""
    def once() -> Any:
        try:
            return fn()
        except (RetryableError, FatalError):
            raise
        except Exception as error:  # SDK errors → retryable/fatal
            mapped = classify(error)
            raise mapped from None

    try:
        for attempt in Retrying(retry=retry_if_exception_type(RetryableError), stop=stop_after_attempt(opts.retry.attempts),
                                wait=opts.retry.wait, reraise=True):
            with attempt:
                return once()
    except (FatalError, RetryableError) as error:
        raise DescribeError(f"batch API: {error}") from None


def run_batch(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
              poll_interval: float = 30.0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Describe `ids` through the provider's batch API; returns the same summary as a direct run."""
    t0 = time.perf_counter()
    api = _api(provider)
    plan = plan_run(ds, ids, provider, prompt, opts, ledger)
    write_cached(ds, plan)
    todo = {j.key: j for j in plan.by_status("todo")}
    helper = Runner(ds, provider, prompt, opts, ledger)
    masks: dict[str, bool | None] = {}
    spent = 0.0
    open_batches = [(b, [k for k in keys if k in todo]) for b, keys in ledger.open_batches(provider.name)]
    open_batches = [(b, keys) for b, keys in open_batches if keys]
    waiting = {k for _, keys in open_batches for k in keys}
    if open_batches:
        log(f"resuming {len(open_batches)} open batch(es) from the ledger")
    for round_no in range(opts.invalid_retries + 1):
        fresh = [j for k, j in todo.items() if k not in waiting and j.status in ("todo", "invalid")]
        items = []
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
            items.append((job.key, request))
        if items:
            batch_id = _call(opts, lambda items=items: api.submit(items))
            ledger.add_batch(batch_id, provider.name, [k for k, _ in items])
            for key, _ in items:
                ledger.record(key, todo[key].image_id, provider.name, provider.model, "batched", batch_id=batch_id)
            log(f"submitted batch {batch_id} with {len(items)} requests (round {round_no + 1})")
            open_batches.append((batch_id, [k for k, _ in items]))
        if not open_batches:
            break
        for batch_id, keys in open_batches:
            while True:
                ended, state = _call(opts, lambda b=batch_id: api.poll(b))
                log(f"batch {batch_id}: {state}")
                if ended:
                    break
                time.sleep(poll_interval)
            results = _call(opts, lambda b=batch_id: api.results(b))
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
                problem = reply_problem(got.text, opts.max_words, masks[key])
                fields = {"attempts": job.attempts, "input_tokens": job.input_tokens, "output_tokens": job.output_tokens,
                          "cost_usd": job.cost, "raw_reply": got.raw, "text": got.text, "batch_id": batch_id}
                if problem:
                    job.status, job.error = "invalid", problem
                    ledger.record(key, job.image_id, provider.name, provider.model, "invalid", error=problem, **fields)
                    continue
                ledger.record(key, job.image_id, provider.name, provider.model, "done", error=None, **fields)
                ds.write_description(job.image_id, got.text, overwrite=True)
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
