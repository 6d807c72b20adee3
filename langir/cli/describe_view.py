"""What `langir describe` and `langir curate` show: live progress, summary lines, the ledger's status, exit codes."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from langir.cli.common import err, literal, notice, out, print_json, progress_bar, warn
from langir.data.dataset import LangIRDataset
from langir.describe.session import Display


class RunProgress:
    """Live progress on stderr: a rich bar on a terminal, else one line every few seconds.

    The interval without a terminal is `LANGIR_PROGRESS_SECONDS` (default 5).
    """

    def __init__(self, total: int, label: str = "describing"):
        self.total, self.label = total, label
        self.counts = {"done": 0, "failed": 0, "retried": 0, "not sent": 0}
        self.finished = 0
        self.spent = 0.0
        self.t0 = time.monotonic()
        self.tty = err.is_terminal
        self.bar = progress_bar(transient=False) if self.tty else None
        self.task = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.every = float(os.environ.get("LANGIR_PROGRESS_SECONDS", "5") or 5)

    def fields(self) -> str:
        c = self.counts
        text = f"done {c['done']} · failed {c['failed']} · retried {c['retried']} · ${self.spent:.4f}"
        return text + (f" · not sent {c['not sent']}" if c["not sent"] else "")

    def line(self) -> str:
        return f"{self.label} {self.finished}/{self.total} · {self.fields()} · {time.monotonic() - self.t0:.0f} s"

    def __enter__(self) -> RunProgress:
        if self.bar is not None:
            self.bar.__enter__()
            self.task = self.bar.add_task(self.label, total=self.total, status="")
        else:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            err.print(self.line(), highlight=False, markup=False)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
        else:
            self._stop.set()

    def update(self, advance: int = 0) -> None:
        self.finished += advance
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=advance, status=self.fields())

    def on_plan(self, plan) -> None:
        ready = len(plan.jobs) - len(plan.by_status("todo"))
        self.counts["done"] += len(plan.by_status("cached")) + len(plan.by_status("skipped"))
        self.counts["failed"] += len(plan.by_status("bad"))
        self.update(ready)

    def on_event(self, kind: str, job) -> None:
        if kind == "retry":
            self.counts["retried"] += 1
        elif kind == "answer":
            self.spent += job.cost - getattr(job, "_shown_cost", 0.0)
            job._shown_cost = job.cost
        elif kind == "interrupt":
            err.print("stopping: no new requests; waiting for the answers in flight (Ctrl-C again to stop at once)",
                      highlight=False, markup=False)
        elif kind in ("done", "fallback"):
            self.counts["done"] += 1
            self.update(1)
            return
        elif kind in ("not_sent", "refused"):
            self.counts["not sent"] += 1
            self.update(1)
            return
        elif kind != "sent":
            self.counts["failed"] += 1
            self.update(1)
            return
        self.update(0)


def _on_bad(image_id: str, message: str) -> None:
    warn(f"skipping {image_id}: {message}")


def summary_line(summary: dict) -> str:
    extra = ""
    if summary.get("no_target_fallback"):
        extra += f", {summary['no_target_fallback']} no-target fallback"
    if summary.get("not_sent"):
        extra += f", {summary['not_sent']} not sent"
    paid = "answers bought" if summary.get("paid", summary["input_tokens"] or summary["cost_usd"]) else "answers (free, offline)"
    return (f"{summary['provider']} {summary['model']}: {summary['described']} described, "
            f"{summary['from_ledger']} from the ledger, {summary['kept_existing']} kept, {summary['failed']} failed{extra} · "
            f"{summary['answers']} {paid}, {summary['api_attempts']} calls ({summary['retries']} retries) · "
            f"{summary['input_tokens']}+{summary['output_tokens']} tokens · ${summary['cost_usd']:.4f} · {summary['elapsed_s']} s")


def show_revalidated(counts: dict) -> None:
    out.print(f"revalidated {counts['checked']} stored replies: {counts['now_valid']} now valid, "
              f"{counts['now_invalid']} now invalid, {counts['unchanged']} unchanged")


def finish(summary: dict, as_json: bool, ds: LangIRDataset | None = None) -> None:
    """Say where the run wrote (every writing command does, issue 22), print the summary, exit with its code."""
    written = summary.get("described", 0) + summary.get("from_ledger", 0)
    if ds is not None and written and not as_json:
        notice(f"descriptions: {ds.root / Path(ds.layout.descriptions).parent} ({written} written); "
               f"ledger: {ds.root / '.langir' / 'describe.sqlite'}")
    for bad in summary.get("skipped_bad", []):
        warn(f"skipped {bad['id']} (--skip-bad): {bad['reason']}")
    if as_json:
        print_json(summary)
    else:
        out.print(summary_line(summary), highlight=False, markup=False, soft_wrap=True)
        for failure in summary["failures"][:50]:
            err.print(f"  [red]{failure['status']}[/] {literal(failure['id'])}: {literal(str(failure['reason']))}", highlight=False)
        if len(summary["failures"]) > 50:
            err.print(f"  … and {len(summary['failures']) - 50} more (see langir describe --status)")
    exit_with(summary)


def exit_with(summary: dict) -> None:
    """The exit-code contract: 130 interrupted, 2 stopped by the API (one line), 1 per-item failures."""
    if summary.get("interrupted"):
        if summary.get("interrupts", 1) > 1:  # stopped at once: say exactly what was kept and what was lost
            err.print(f"[bold red]interrupted at once:[/] {summary.get('kept_answers', 0)} answer(s) read were kept, "
                      f"{summary.get('lost_in_flight', 0)} in flight were not (asked again on the next run); "
                      f"{summary.get('not_sent', 0)} image(s) not sent", highlight=False)
        else:
            err.print(f"[bold red]interrupted:[/] answers in flight were kept; {summary.get('not_sent', 0)} image(s) not sent",
                      highlight=False)
        sys.exit(130)
    if summary.get("stopped"):
        refused = summary.get("counts", {}).get("refused", 0)
        counts = f"{refused} request(s) refused, {summary.get('not_sent', 0)} image(s) not sent"
        err.print(stop_line(summary["stopped"], summary.get("stopped_kind"), summary.get("provider"), counts),
                  highlight=False, soft_wrap=True)
        sys.exit(2)
    if summary["failed"]:
        sys.exit(1)


def stop_line(message: str, kind: str | None, provider: str | None, counts: str = "") -> str:
    """The one line for a run the API stopped (FatalError.kind decides the label and the advice)."""
    from langir.describe.runner import stop_advice

    label = {"auth": "key refused", "quota": "quota exhausted", "bad_request": "request refused"}.get(kind or "")
    advice = stop_advice(kind, provider)
    return (f"[bold red]stopped{f' ({label})' if label else ''}:[/] {literal(message)}"
            + (f" · {literal(counts)}" if counts else "") + (f" · {literal(advice)}" if advice else ""))


def show_dry_run(report: dict) -> None:
    reasks = ""
    if report.get("expected_reasks"):
        reasks = (f" + up to {report['expected_reasks']} re-asks for {report['empty_masks']} empty mask(s) "
                  f"(≈${report['estimated_cost_with_reasks_usd']:.4f} with them)")
    out.print(
        f"[bold]dry run[/] {report['provider']} {report['model']}: {report['requests']} requests{reasks} "
        f"({report['redo']} redo, {report['from_ledger']} from the ledger, {report['kept_existing']} kept) · "
        f"≈{report['estimated_input_tokens']} input + {report['estimated_output_tokens']} output tokens · "
        f"≈${report['estimated_cost_usd']:.4f}{' (batch price)' if report['batch'] else ''}", highlight=False
    )


def display(redo_label: str | None = None, redo_count: int = 0) -> Display:
    """The CLI's `Display`: notices and warnings on stderr, a `RunProgress` per run; `redo_label` (a
    --redo run, not --json) says how many images are asked anew once the provider is chosen."""
    def on_ready(_provider: Any) -> None:
        if redo_label is not None:
            notice(f"asking {redo_count} image(s) anew ({redo_label})")

    return Display(notice=notice, warn=warn, on_bad=_on_bad, watch=RunProgress, on_ready=on_ready)
