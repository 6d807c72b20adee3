"""Planning a describe run against the ledger: per image, keep the file, reuse a paid answer, or buy one.

No API call here. A request key hashes what decides the reply; every paid answer has its own
attempt number. A `--redo` is remembered in the ledger (`redos`) until a run finishes it (not killed, not
interrupted, not stopped), so a run killed mid-redo continues the same redo: the answers it
bought count, nothing is bought again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langir.data.dataset import QUARANTINE_DIR, LangIRDataset
from langir.data.imageio import read_file_bytes
from langir.describe.ledger import Ledger, Row, attempt_key, request_key
from langir.describe.options import DescribeOptions
from langir.describe.prompts import Prompt
from langir.describe.providers import Provider
from langir.errors import DataError


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
    maybe_billed: float = 0.0  # worst-case USD of requests that may have been billed without a readable answer
    image_bytes: int = -1  # the image file's size when planned (-1: unknown)


@dataclass
class Plan:
    jobs: list[Job]

    def by_status(self, status: str) -> list[Job]:
        return [j for j in self.jobs if j.status == status]


def file_sha(files: list[tuple[Path, str]]) -> tuple[str, int]:
    """Hash of the files' bytes and the first file's size, read through the data layer's guard: a FIFO,
    folder, symlink loop or missing file is one DataError naming it (never a hang, never a raw OSError)."""
    h = hashlib.sha256()
    first = -1
    for path, what in files:
        data = read_file_bytes(path, what)
        first = len(data) if first < 0 else first
        h.update(data)
    return h.hexdigest()[:24], first


def quarantined(ds: LangIRDataset, image_id: str, text: str) -> bool:
    """True when `validate --quarantine` moved this very text aside: the answer was rejected."""
    path = ds.description_path(image_id)
    folder = path.parent / QUARANTINE_DIR
    if not folder.is_dir():
        return False
    for moved in folder.glob(path.name + "*"):
        try:
            if read_file_bytes(moved, "description").decode("utf-8-sig").strip() == text.strip():
                return True
        except (OSError, UnicodeDecodeError, DataError):
            continue
    return False


def request_params(opts: DescribeOptions) -> dict[str, Any]:
    return {"max_side": opts.max_side, "max_tokens": opts.max_tokens, "temperature": opts.temperature,
            "detail": opts.detail, "max_words": opts.max_words}


def _keyed_jobs(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
                on_bad: Callable[[str, str], None] | None, redo_ids: set[str]) -> list[Job]:
    jobs: list[Job] = []
    params = request_params(opts)
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
            sha, image_bytes = file_sha(files)
        except DataError as error:
            # one unreadable sample is that id's failure (exit 1, listed), or skipped with --skip-bad
            message = str(error)
            if opts.skip_bad and on_bad:
                on_bad(image_id, message)
            jobs.append(Job(image_id, "", "bad" if opts.skip_bad else "failed", error=message))
            continue
        if prompt.needs_mask and not provider.needs_mask:
            with contextlib.suppress(DataError):  # the hint comes from the mask: its bytes decide the request too
                sha += file_sha([(ds.mask_path(image_id), "mask")])[0]
        base = request_key(sha, provider.name, provider.model, digest, params)
        jobs.append(Job(image_id, base, request=base, redo=forced, image_bytes=image_bytes))
    return jobs


def _decide(ds: LangIRDataset, job: Job, rows: list[Row], current: Row | None, opts: DescribeOptions, ledger: Ledger) -> None:
    """Set a keyed job's status/attempt/asks_left from its ledger rows."""
    paid = [r for r in rows if r.status in ("done", "invalid")]
    next_attempt = max(r.attempt for r in paid) + 1 if paid else 0
    if job.redo:  # only answers bought by this redo (a killed run's included) count from here on
        floor = ledger.redo_floor(job.request, job.image_id, next_attempt)
        rows = [r for r in rows if r.attempt > floor]
        paid = [r for r in paid if r.attempt > floor]
    done = [r for r in rows if r.status == "done" and r.text]
    if done:
        # an answer superseded by a redo in another style is not restored: the current one is
        best = next((r for r in done if r.current), None) or (current if current and not job.redo else done[-1])
        if not quarantined(ds, job.image_id, best.text or ""):
            job.status, job.text, job.key, job.raw = "cached", best.text, best.key, best.raw_reply
            return
        if not job.redo:
            job.redo = True  # the user rejected this answer: buy a new one
            floor = ledger.redo_floor(job.request, job.image_id, next_attempt)
            paid = [r for r in paid if r.attempt > floor]
    job.attempt = next_attempt
    job.key = attempt_key(job.request, job.attempt)
    invalid = [r for r in paid if r.status == "invalid"]
    job.asks_left = max(0, opts.invalid_retries + 1 - len(invalid))
    if invalid:
        job.error = invalid[-1].error


def plan_run(ds: LangIRDataset, ids: list[str], provider: Provider, prompt: Prompt, opts: DescribeOptions,
             ledger: Ledger, on_bad: Callable[[str, str], None] | None = None,
             redo: Iterable[str] | None = None) -> Plan:
    """Decide per id: keep the file, reuse a done ledger row, or buy an answer. No API calls here.

    Ids in `redo` are asked anew (the next attempt number) and their files replaced; a redo left
    unfinished by a killed run is continued, not started again.
    """
    jobs = _keyed_jobs(ds, ids, provider, prompt, opts, on_bad, set(redo or ()))
    keyed = [j for j in jobs if j.request]
    history = ledger.by_request([j.request for j in keyed])
    current = ledger.current_many([j.image_id for j in keyed])
    pending = ledger.redo_pending([j.request for j in keyed]) if not ledger.readonly else {}
    digest = prompt.digest()
    for job in keyed:
        job.redo = job.redo or job.request in pending  # a killed redo run continues under a plain re-run too
        if ledger.readonly and job.redo:  # --dry-run: no redo intent is written
            job.attempt = max((r.attempt + 1 for r in history.get(job.request, []) if r.status in ("done", "invalid")), default=0)
            job.key, job.asks_left = attempt_key(job.request, job.attempt), opts.invalid_retries + 1
            continue
        _decide(ds, job, history.get(job.request, []), current.get(job.image_id), opts, ledger)
        if job.status == "todo":
            ledger.plan(job.key, request=job.request, attempt=job.attempt, prompt_style=prompt.style, prompt_digest=digest)
    return Plan(jobs)


def finish_redos(plan: Plan, ledger: Ledger) -> None:
    """A run went to its end: its redos are done (the same --redo again asks anew)."""
    for job in plan.jobs:
        if job.redo and job.request:
            ledger.finish_redo(job.request)
