"""What a describe run reports: the summary of a run and the dry-run estimate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langir.data.dataset import LangIRDataset
from langir.describe.build import RequestBuilder
from langir.describe.ledger import Ledger
from langir.describe.options import DescribeOptions, check_prices
from langir.describe.plan import Plan, plan_run
from langir.describe.pricing import cost, price_for
from langir.describe.prompts import Prompt
from langir.describe.providers import Provider

FAILED_STATUSES = ("failed", "invalid", "unaffordable", "interrupted")


def run_summary(plan: Plan, provider: Provider, elapsed: float, fatal: str | None = None) -> dict[str, Any]:
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
        "cost_usd": round(sum(j.cost for j in plan.jobs), 6),
        "maybe_billed_usd": round(sum(j.maybe_billed for j in plan.jobs), 6), "elapsed_s": round(elapsed, 3),
        "skipped_bad": bad, "stopped": fatal, "interrupted": False, "failures": failures, "counts": counts,
        "paid": provider.remote, "usage_estimated": 0, "notes": [],
    }


def dry_run(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
            ledger: Ledger, batch: bool = False, redo: Iterable[str] | None = None) -> dict[str, Any]:
    """Requests a run would make, the re-asks it may make, and their estimated tokens and cost.

    No API call, no file written (open the ledger read-only). Empty masks: a VLM that insists on a
    target is re-asked up to the image's remaining answers, so each may cost that many requests.
    """

    check_prices(provider, opts)
    plan = plan_run(ds, ids, provider, prompt, opts, ledger, redo=redo)
    todo = plan.by_status("todo")
    builder = RequestBuilder(ds, provider, prompt, opts)
    tin = tout = 0
    usd = worst_usd = 0.0
    empty = reasks = 0
    for job in todo:
        mask_empty = builder.mask_empty(job.image_id)
        extra = max(0, job.asks_left - 1) if mask_empty and provider.remote else 0
        empty += bool(mask_empty)
        reasks += extra
        if provider.remote:
            sent = builder.sent_size(job.image_id, verify=True)
            if sent is None:  # the real run lists it as that id's failure; it costs nothing
                continue
            i, o, _ = builder.estimate(*sent)
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
