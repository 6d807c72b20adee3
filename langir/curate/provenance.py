"""Provenance of descriptions from the describe ledger: which provider, model and prompt wrote each text.

The ledger (`DATASET/.langir/describe.sqlite`) is read from an in-memory copy (never created or
changed); a dataset without one simply has no provenance. Only the columns present are read, so ledgers of
older and newer `langir describe` versions both work: image_id, provider, model, status, text,
cost_usd, updated, and where present prompt_style, prompt_digest, attempt(s) and current (1 = the
answer the description file holds).
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from langir.describe.lock import LEDGER_NAME

LEDGER = Path(LEDGER_NAME)  # the ledger's own name; read from its read-only copy without its migrations (see _connect)
WANTED = ("image_id", "provider", "model", "status", "text", "cost_usd", "updated",
          "prompt_style", "prompt_digest", "attempt", "attempts", "current")
FIELDS = ("provider", "model", "prompt_style", "prompt_digest", "attempt", "cost_usd", "date", "edited", "accepted_by")
# Providers that write from the masks without a prompt: the ledger still fills its prompt columns
# (the run's configured style), but no prompt was ever sent, so the card must not name one.
NO_PROMPT_PROVIDERS = frozenset({"template"})


def _connect(path: Path) -> tuple[sqlite3.Connection | None, str]:
    """The ledger's read-only copy (`langir.describe.ledger.read_only_copy`, the opener `describe --status`
    uses), or None and why not.

    Not migrated, on purpose (unlike `Ledger(readonly=True)`): migrating rewrites hand-made and foreign
    ledgers' rows (which answer is current); provenance reads whichever known columns are present instead.
    """
    from langir.describe.ledger import read_only_copy

    try:
        db = read_only_copy(path)
    except sqlite3.Error as error:
        return None, str(error)
    try:
        db.execute("SELECT 1 FROM requests LIMIT 1")
    except sqlite3.Error as error:
        db.close()
        return None, str(error)
    return db, ""


# What each column must hold: SQLite keeps whatever was written, so a hand-edited or foreign ledger
# may hold text where a cost is due (`sum` would raise TypeError) or a number where a text is due.
_NUMBER, _TEXT = (int, float), (str,)
_TYPES = {"image_id": _TEXT, "provider": _TEXT, "model": _TEXT, "status": _TEXT, "text": _TEXT, "cost_usd": _NUMBER,
          "updated": _NUMBER, "prompt_style": _TEXT, "prompt_digest": _TEXT, "attempt": (int,), "attempts": (int,),
          "current": (int,)}


def _wrong_type(record: dict) -> str | None:
    """`column = value` of the first value of the wrong type in a ledger row, else None (NULL is always fine)."""
    for column, value in record.items():
        kinds = _TYPES.get(column)
        if value is not None and kinds and (not isinstance(value, kinds) or isinstance(value, bool)):
            shown = repr(value if len(repr(value)) <= 40 else repr(value)[:40] + "…")
            return f"{column} = {shown}"
    return None


def _open_ledger(root: Path, problems: list[str] | None) -> tuple[sqlite3.Connection | None, Path]:
    """The ledger's read-only connection; None (and a line in `problems`) when it is there but unreadable."""
    from langir.data import guarded
    from langir.errors import DataError

    path = root / LEDGER
    if not os.path.lexists(path):
        return None, path
    try:  # the guarded reader's rules first: a FIFO, a folder or a link out of the set is never opened by SQLite
        guarded.check_regular(path, "describe ledger", root=root)  # never opened here: see check_regular
    except DataError as error:
        _note(problems, f"{error}; provenance left out")
        return None, path
    db, why = _connect(path)
    if db is None:
        _note(problems, f"{path}: describe ledger cannot be read ({why}); provenance left out")
    return db, path


def _note(problems: list[str] | None, line: str) -> None:
    if problems is not None:
        problems.append(line)


def _date(value) -> str | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC).strftime("%Y-%m-%d")
    except (TypeError, ValueError, OSError):
        return str(value)


def read_provenance(root: str | Path, texts: Mapping[str, str] | None = None,
                    problems: list[str] | None = None) -> dict[str, dict]:
    """Per image id: provider, model, prompt_style, prompt_digest, attempt, cost_usd, date of its description.

    prompt_style and prompt_digest are None for a provider that uses no prompt (`NO_PROMPT_PROVIDERS`).

    The row chosen per image: the one marked `current` when the ledger has that column, else the
    newest finished (`done`) row whose text is the description file's text (`texts`), else the newest
    finished row. `cost_usd` is the sum over every request made for that image (retries included).
    `edited` is True when `texts` gives the description file's text and no ledger answer is that
    text (changed by hand or by another tool after `langir describe`). Returns {} when there is no ledger.
    A ledger that is there but cannot be read, and rows holding values of the wrong type, are left out
    with one line each in `problems` (the caller says them).
    """
    db, path = _open_ledger(Path(root), problems)
    if db is None:
        return {}
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
        present = [c for c in WANTED if c in columns]
        rows = db.execute(f"SELECT {', '.join(present)} FROM requests").fetchall()
    except sqlite3.Error as error:
        _note(problems, f"{path}: describe ledger cannot be read ({error}); provenance left out")
        return {}
    finally:
        db.close()
    by_image: dict[str, list[dict]] = {}
    wrong: list[str] = []
    for row in rows:
        record = dict(zip(present, row, strict=True))
        bad = _wrong_type(record)
        if bad is not None:
            wrong.append(f"{bad} (image {record.get('image_id')!r})" if len(wrong) == 0 else bad)
            continue
        by_image.setdefault(str(record.get("image_id")), []).append(record)
    if wrong:
        _note(problems, f"{path}: {len(wrong)} describe ledger row(s) hold a value of the wrong type, first {wrong[0]}; "
                        "those rows are left out of the provenance")
    texts = texts or {}
    result = {}
    for image_id, records in by_image.items():
        chosen = _choose(records, texts.get(image_id))
        if chosen is None:
            continue
        attempt = chosen.get("attempt", chosen.get("attempts"))
        prompted = chosen.get("provider") not in NO_PROMPT_PROVIDERS
        costs = [r["cost_usd"] for r in records if r.get("cost_usd") is not None]
        result[image_id] = {
            "provider": chosen.get("provider"),
            "model": chosen.get("model"),
            "prompt_style": chosen.get("prompt_style") if prompted else None,
            "prompt_digest": chosen.get("prompt_digest") if prompted else None,
            "attempt": int(attempt) if attempt is not None else None,
            "cost_usd": round(float(sum(costs)), 6) if costs else None,
            "date": _date(chosen.get("updated")),
            "edited": bool(image_id in texts and "text" in chosen
                           and all((r.get("text") or "").strip() != texts[image_id].strip() for r in records)),
        }
    from langir.describe.human import accepted_by  # a person accepted the text in `langir review`

    for image_id, who in accepted_by(root, texts).items():
        result.setdefault(image_id, {}).update(accepted_by=who)
    return result


def _choose(records: list[dict], text: str | None) -> dict | None:
    newest = sorted(records, key=lambda r: float(r.get("updated") or 0.0), reverse=True)
    if "current" in records[0]:
        current = [r for r in newest if r.get("current") in (1, True, "1")]
        if current:
            return current[0]
    done = [r for r in newest if r.get("status", "done") == "done"]
    if text is not None:
        same = [r for r in done if (r.get("text") or "").strip() == text.strip()]
        if same:
            return same[0]
    return done[0] if done else None


def summarize_provenance(records: Mapping[str, dict], ids: list[str] | None = None) -> dict:
    """Counts of provider/model/prompt style/prompt digest, total cost and date range over `ids` (JSON-ready)."""
    ids = list(records) if ids is None else ids
    chosen = [records[i] for i in ids if i in records]

    def counts(key: str) -> dict[str, int]:
        return dict(Counter(str(r[key]) for r in chosen if r.get(key) is not None).most_common())

    dates = sorted(r["date"] for r in chosen if r.get("date"))
    edited = sum(bool(r.get("edited")) for r in chosen)
    costs = [r["cost_usd"] for r in chosen if r.get("cost_usd") is not None]
    return {
        "images": len(ids),
        "with_provenance": len(chosen),
        "providers": counts("provider"),
        "models": counts("model"),
        "prompt_styles": counts("prompt_style"),
        "prompt_digests": counts("prompt_digest"),
        "cost_usd": round(float(sum(costs)), 4) if costs else None,
        "dates": [dates[0], dates[-1]] if dates else [],
        "edited": edited,
        "no_prompt": dict(Counter(str(r["provider"]) for r in chosen if r.get("provider") in NO_PROMPT_PROVIDERS)),
    }


def provenance_lines(summary: dict) -> list[str]:
    """The card's provenance section as Markdown sentences."""
    if not summary["with_provenance"]:
        return ["No describe ledger (`.langir/describe.sqlite`) was found, so who wrote the descriptions is "
                "not recorded: treat them as of unknown provenance."]

    def listing(key: str) -> str:
        return ", ".join(f"`{k}` ({v})" for k, v in summary[key].items()) or "not recorded"

    lines = [
        f"{summary['with_provenance']} of {summary['images']} images have a description recorded in the ledger "
        "(`langir describe` records every request in `.langir/describe.sqlite`).",
        f"Providers: {listing('providers')}. Models: {listing('models')}.",
    ]
    no_prompt = summary.get("no_prompt") or {}
    unprompted = sum(no_prompt.values())
    if unprompted < summary["with_provenance"]:
        lines.append(f"Prompt styles: {listing('prompt_styles')}. Prompt text hashes: {listing('prompt_digests')}.")
    if unprompted:
        names = ", ".join(f"`{k}`" for k in no_prompt)
        lines.append(("Every description" if unprompted == summary["with_provenance"] else f"{unprompted} description(s)")
                     + f" came from {names}, which writes from the masks with no model and no prompt.")
    if summary["dates"]:
        first, last = summary["dates"]
        lines.append(f"Written {first}" + ("" if first == last else f" to {last}") + " (UTC).")
    if summary.get("edited"):
        lines.append(f"{summary['edited']} description file(s) differ from every answer in the ledger: edited by hand "
                     "or by another tool after `langir describe`; the provider and model named for them wrote an "
                     "earlier text.")
    if summary["cost_usd"] is not None:
        lines.append(f"API cost recorded: ${summary['cost_usd']:.4f} (retries included).")
    return lines
