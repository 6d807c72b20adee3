"""The entry points of `langir describe`: run, price (dry run), re-check, repair and summarise the ledger.

Each takes the dataset, the `Selection` and the `RunSettings`, holds the dataset lock where it
writes, and reports through a `Display` (callbacks; the defaults show nothing), so the CLI only
parses, calls one of these and prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from langir.data.dataset import LangIRDataset
from langir.describe.ledger import DatasetLock, Ledger
from langir.describe.plan import Job, Plan
from langir.describe.prompts import Prompt
from langir.describe.providers import Provider
from langir.describe.selection import Selection
from langir.describe.settings import RunSettings, build_run
from langir.errors import LangirError


class Watcher(Protocol):
    """Follows one run: the plan once, then every event of every job."""

    def on_plan(self, plan: Plan) -> None: ...

    def on_event(self, kind: str, job: Job | None) -> None: ...


def _ignore(*_: Any) -> None:
    return None


@dataclass
class Display:
    """How a run talks to a person. `watch(total, label)` opens a `Watcher` for one run (a progress bar);
    `on_ready(provider)` runs once the provider is chosen and the ledger locked, before anything is sent."""

    notice: Callable[[str], None] = _ignore
    warn: Callable[[str], None] = _ignore
    on_bad: Callable[[str, str], None] | None = None
    watch: Callable[[int, str], AbstractContextManager[Watcher]] | None = None
    on_ready: Callable[[Provider], None] | None = None


@contextlib.contextmanager
def _watching(display: Display, total: int, label: str) -> Iterator[Watcher | None]:
    if display.watch is None:
        yield None
        return
    with display.watch(total, label) as watcher:
        yield watcher


def describe_selection(ds: LangIRDataset, selection: Selection, settings: RunSettings, batch: bool = False,
                       poll: float = 30.0, wait: bool = False, display: Display | None = None) -> dict[str, Any]:
    """Describe the selected ids under the dataset lock, directly or through the batch API; the run's summary."""
    from langir.describe.runner import describe_dataset

    display = display or Display()
    with DatasetLock(ds.root, wait):
        ledger = Ledger.for_dataset(ds.root)
        try:
            prov, prompt, opts = build_run(ds, settings, notice=display.notice)
            if display.on_ready is not None:
                display.on_ready(prov)
            if batch and prov.remote:
                from langir.describe.batch import run_batch

                return run_batch(ds, selection.ids, prov, prompt, opts, ledger, poll_interval=poll, log=display.notice,
                                 redo=selection.redo)
            if batch:
                display.warn("--batch applies to remote providers; the template provider runs directly")
            with _watching(display, len(selection.ids), "describing") as w:
                return describe_dataset(ds, selection.ids, prov, prompt, opts, ledger, w and w.on_event,
                                        w and w.on_plan, display.on_bad, redo=selection.redo, on_warn=display.warn)
        finally:
            ledger.close()


async def describe_round(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: Any,
                         ledger: Ledger, redo: list[str] | None = None, label: str = "describing",
                         display: Display | None = None) -> dict[str, Any]:
    """One run inside a running event loop (a round of `langir curate`), watched like `describe_selection`."""
    from langir.describe.runner import describe_async

    display = display or Display()
    with _watching(display, len(ids), label) as w:
        return await describe_async(ds, ids, provider, prompt, opts, ledger, w and w.on_event, w and w.on_plan,
                                    display.on_bad, redo=redo, on_warn=display.warn)


def price_run(ds: LangIRDataset, selection: Selection, settings: RunSettings, batch: bool = False,
              notice: Callable[[str], None] | None = None) -> dict[str, Any]:
    """--dry-run: the requests, re-asks, tokens and cost a run would make; sends and writes nothing."""
    import asyncio

    from langir.describe.runner import dry_run

    ledger = Ledger.for_dataset(ds.root, readonly=True)  # first: a broken ledger is the only line printed
    try:
        prov, prompt, opts = build_run(ds, settings, dry_run=True, notice=notice)
        report = dry_run(ds, selection.ids, prov, prompt, opts, ledger, batch, redo=selection.redo)
        asyncio.run(prov.aclose())
    finally:
        ledger.close()
    return report


def ledger_status(ds: LangIRDataset) -> dict[str, Any]:
    """--status: the ledger's summary (read only)."""
    ledger = Ledger.for_dataset(ds.root, readonly=True)
    try:
        return ledger.summary()
    finally:
        ledger.close()


def revalidate_stored(ds: LangIRDataset, max_words: int, wait: bool = False) -> dict[str, int]:
    """--revalidate: re-check stored replies under the current rules (no API call), under the lock."""
    from langir.describe.runner import revalidate

    with DatasetLock(ds.root, wait):
        ledger = Ledger.for_dataset(ds.root)
        try:
            return revalidate(ds, ledger, max_words)
        finally:
            ledger.close()


def repair_ledger(ds: LangIRDataset, wait: bool = False, notice: Callable[[str], None] = _ignore) -> None:
    """--repair: move a broken ledger aside and rebuild it from the description files (a good one is kept)."""
    from langir.describe.ledger import REPAIR_HINT, LedgerError
    from langir.describe.repair import repair

    def present():
        for image_id in ds.all_ids():
            try:
                text = ds.read_description(image_id)
            except (OSError, LangirError):  # an unreadable file is simply not restored
                continue
            if text:
                yield image_id, text

    try:
        Ledger.for_dataset(ds.root, readonly=True).close()
        notice(f"ledger {ds.root / '.langir' / 'describe.sqlite'} is fine; nothing to repair")
        return
    except LedgerError as error:
        notice(f"repairing: {str(error).replace('; ' + REPAIR_HINT, '')}")  # the hint says to do what we now do
    if (ds.root / ".langir").is_dir():
        with DatasetLock(ds.root, wait):
            moved, n = repair(ds.root, present)
    else:
        moved, n = repair(ds.root, present)
    for path in moved:
        notice(f"moved aside: {path}")
    notice(f"rebuilt the ledger with {n} description file(s) present (provider 'restored')")
