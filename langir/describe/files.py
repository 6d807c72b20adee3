"""Description files of a describe run: writing answers, restoring paid ones, healing and sweeping.

A description file is a copy of a ledger row, which is committed (durably: synchronous=FULL)
before the file is written. So files are written atomically (temp + rename: a killed run leaves the
old file or the new one) but without fsync: after a power loss a file may be missing (the next run
restores it from the ledger, no call) or empty / zero-filled (`heal_files` rewrites it). That
saves two fsyncs per answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from langir.data.dataset import LangIRDataset
from langir.data.imageio import read_file_bytes
from langir.data.text_rules import final_answer
from langir.describe.human import PERSON
from langir.describe.ledger import Ledger
from langir.describe.structured import stored_problem, sync_targets
from langir.errors import DataError, LangirError

if TYPE_CHECKING:
    from langir.describe.plan import Job, Plan


def write_file(ds: LangIRDataset, job: Job, text: str, raw: str | None = None) -> bool:
    """Write the description; a file that cannot be written is this id's failure (the answer stays paid
    for in the ledger, so the next run writes it without a call).

    `raw`: the answer's raw reply; a structured one's targets are stored beside the text, and any
    targets of an earlier answer are dropped otherwise.
    """
    try:
        ds.write_description(job.image_id, text, overwrite=True, durable=False)
        sync_targets(ds, job.image_id, raw, job.request or None)
        return True
    except (OSError, LangirError) as error:
        job.status, job.error = "failed", f"answer kept in the ledger, but the file cannot be written: {error}"
        return False


def write_cached(ds: LangIRDataset, plan: Plan, ledger: Ledger | None = None) -> int:
    """Write description files for done ledger rows whose file is missing (or --overwrite).

    The rows are marked current in one commit first (ledger before files, as for a new answer).
    """
    cached = [job for job in plan.by_status("cached") if job.text is not None]
    if ledger is not None and cached:
        with ledger.group():
            for job in cached:
                ledger.set_current(job.key, job.image_id)
        ledger.flush()  # committed before any file, even inside a caller's own group
    return sum(write_file(ds, job, job.text or "", job.raw) for job in cached)


def _torn(data: bytes) -> bool:
    """What an unsynced write can leave after a power loss: nothing, or zeros, instead of the text."""
    return not data.strip(b" \t\r\n\x00") or b"\x00" in data


def heal_files(ds: LangIRDataset, plan: Plan, ledger: Ledger) -> int:
    """Rewrite kept files from the ledger's current answer when they lost a race with a kill or a crash.

    - A redo commits its answer before replacing the file; a kill in between leaves the old text on
      disk while the ledger holds the new one (newer than the file). A file edited by hand after
      that is newer: kept.
    - A file left empty or zero-filled (a power loss before the unsynced write reached the disk) is
      rewritten whatever its time.
    """
    kept = [j.image_id for j in plan.by_status("skipped")]
    current = ledger.current_many(kept)
    healed = 0
    for image_id, row in current.items():
        path = ds.description_path(image_id)
        if row.text is None or row.updated is None:
            continue
        try:
            data = read_file_bytes(path, "description")
            if not _torn(data):
                if path.stat().st_mtime >= row.updated:
                    continue
                if data.decode("utf-8-sig").strip() == row.text.strip():
                    continue
        except (OSError, UnicodeDecodeError, DataError):
            continue
        ds.write_description(image_id, row.text, overwrite=True, durable=False)
        sync_targets(ds, image_id, row.raw_reply, row.request)
        healed += 1
    return healed


def sweep_stale_temps(ds: LangIRDataset, ids: Iterable[str]) -> int:
    """Remove `.NAME.*.tmp` left by a killed atomic write of these ids' descriptions.

    Safe only under the dataset lock (no other describe run writes there); returns files removed.
    """
    names_by_folder: dict[Path, set[str]] = {}
    for image_id in ids:
        path = ds.description_write_path(image_id)
        names_by_folder.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, names in names_by_folder.items():
        if not folder.is_dir():
            continue
        for tmp in folder.glob(".*.tmp"):
            stem = tmp.name[1:-4].rsplit(".", 1)[0]
            if stem in names:
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


def revalidate(ds: LangIRDataset, ledger: Ledger, max_words: int, write: bool = True) -> dict[str, int]:
    """Re-check stored replies under the current rules, without any API call.

    Only model replies: a person's text from `langir review` (and a file text kept as a ``restored`` row)
    is not a reply, and a person may write past the word limit on purpose (`validate` still reports it)."""
    counts = {"checked": 0, "now_valid": 0, "now_invalid": 0, "unchanged": 0}
    for row in ledger.rows():
        if (row.text is None or row.status not in ("done", "invalid") or row.prompt_style in ("no-target-fallback", "restored")
                or row.provider in (PERSON, "restored")):
            continue
        counts["checked"] += 1
        mask_empty = None
        if ds.has_mask(row.image_id):
            try:
                mask_empty = not bool(ds.read_mask(row.image_id).any())
            except DataError:
                mask_empty = None
        text = final_answer(row.text)  # answers stored before reasoning was left out of them
        problem = stored_problem(text, row.raw_reply, max_words, mask_empty)
        new = "done" if problem is None else "invalid"
        if new == row.status:
            counts["unchanged"] += 1
            continue
        counts["now_valid" if new == "done" else "now_invalid"] += 1
        ledger.set_status(row.key, new, problem)
        if new == "done" and write and ledger.current(row.image_id) is None:
            ledger.set_current(row.key, row.image_id)
            ds.write_description(row.image_id, text, overwrite=True, durable=False)
            sync_targets(ds, row.image_id, row.raw_reply, row.request)
    return counts
