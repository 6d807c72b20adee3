"""The describe run: plan against the ledger, buy what is missing, write; and the names other code imports.

A run is plan (describe/plan.py) → restore paid answers (files.py) → execute: direct
(execute.py) or `--batch` (batch.py), both booking answers through one `Recorder` (answers.py)
under one cost cap (budget.py) → summary (summary.py). This module keeps `langir.describe.runner`
importable for the code and tests that import from it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from langir.data.dataset import LangIRDataset
from langir.describe.answers import Recorder
from langir.describe.budget import Budget, RateLimiter
from langir.describe.build import RequestBuilder
from langir.describe.execute import Runner
from langir.describe.files import heal_files, revalidate, sweep_stale_temps, write_cached, write_file
from langir.describe.ledger import Ledger
from langir.describe.options import DescribeError, DescribeOptions, RetryPolicy, check_prices, stop_advice
from langir.describe.plan import Job, Plan, finish_redos, plan_run, quarantined
from langir.describe.prompts import Prompt
from langir.describe.providers import Provider
from langir.describe.summary import FAILED_STATUSES, dry_run, run_summary


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


def prepare(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
            on_bad: Callable[[str, str], None] | None = None, redo: Iterable[str] | None = None) -> Plan:
    """Plan, sweep stale temp files, write answers already paid for, heal files that lost a race with a kill."""
    check_prices(provider, opts)
    plan = plan_run(ds, ids, provider, prompt, opts, ledger, on_bad, redo)
    sweep_stale_temps(ds, ids)
    write_cached(ds, plan, ledger)
    heal_files(ds, plan, ledger)
    return plan


async def describe_async(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
                         ledger: Ledger, on_event: Callable[[str, Job | None], None] | None = None,
                         on_plan: Callable[[Plan], None] | None = None,
                         on_bad: Callable[[str, str], None] | None = None,
                         redo: Iterable[str] | None = None,
                         on_warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """`describe_dataset` inside a running event loop (the SDK clients belong to one loop)."""
    t0 = time.perf_counter()
    if ledger.run_id is None and not ledger.readonly:
        ledger.start_run(provider.name, provider.model, "direct")
    plan = prepare(ds, ids, provider, prompt, opts, ledger, on_bad, redo)
    if on_plan:
        on_plan(plan)
    todo = plan.by_status("todo")
    runner = Runner(ds, provider, prompt, opts, ledger, on_event, on_warn)
    if todo:
        await runner.run(todo)
    summary = run_summary(plan, provider, time.perf_counter() - t0, runner.fatal)
    summary["interrupted"] = runner.interrupted
    summary["interrupts"] = runner.interrupts
    summary["stopped_kind"] = runner.fatal_kind
    summary["kept_answers"] = runner.recorder.kept
    summary["lost_in_flight"] = runner.lost
    note = runner.recorder.usage_note()
    summary["usage_estimated"], summary["notes"] = runner.recorder.estimated, [note] if note else []
    if note and on_warn:
        on_warn(note)
    if not runner.interrupted and not runner.fatal:
        finish_redos(plan, ledger)
    ledger.finish_run()
    return summary


__all__ = ["FAILED_STATUSES", "Budget", "DescribeError", "DescribeOptions", "Job", "Plan", "RateLimiter", "Recorder",
           "RequestBuilder", "RetryPolicy", "Runner", "check_prices", "describe_async", "describe_dataset", "dry_run",
           "heal_files", "plan_run", "prepare", "quarantined", "revalidate", "stop_advice", "run_summary",
           "sweep_stale_temps", "write_cached", "write_file"]
