"""Provenance of descriptions from the describe ledger: which provider, model and prompt wrote each text.

The ledger (`DATASET/.langir/describe.sqlite`) is opened read-only (`mode=ro`, never created); a
dataset without one simply has no provenance. Only the columns present are read, so ledgers of
older and newer `langir describe` versions both work: image_id, provider, model, status, text,
cost_usd, updated, and where present prompt_style, prompt_digest, attempt(s) and current (1 = the
answer the description file holds).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

LEDGER = Path(".langir") / "describe.sqlite"
WANTED = ("image_id", "provider", "model", "status", "text", "cost_usd", "updated",
          "prompt_style", "prompt_digest", "attempt", "attempts", "current")
FIELDS = ("provider", "model", "prompt_style", "prompt_digest", "attempt", "cost_usd", "date", "edited", "accepted_by")
# Providers that write from the masks without a prompt: the ledger still fills its prompt columns
# (the run's configured style), but no prompt was ever sent, so the card must not name one.
NO_PROMPT_PROVIDERS = frozenset({"template"})


def _connect(path: Path) -> sqlite3.Connection | None:
    """Read-only connection; a WAL ledger in a read-only folder falls back to `immutable=1`."""
    uri = path.resolve().as_uri()
    for query in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(f"{uri}?{query}", uri=True)
            db.execute("SELECT 1 FROM requests LIMIT 1")
            return db
        except sqlite3.Error:
            continue
    return None


def _date(value) -> str | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC).strftime("%Y-%m-%d")
    except (TypeError, ValueError, OSError):
        return str(value)


def read_provenance(root: str | Path, texts: Mapping[str, str] | None = None) -> dict[str, dict]:
    """Per image id: provider, model, prompt_style, prompt_digest, attempt, cost_usd, date of its description.

    prompt_style and prompt_digest are None for a provider that uses no prompt (`NO_PROMPT_PROVIDERS`).

    The row chosen per image: the one marked `current` when the ledger has that column, else the
    newest finished (`done`) row whose text is the description file's text (`texts`), else the newest
    finished row. `cost_usd` is the sum over every request made for that image (retries included).
    `edited` is True when `texts` gives the description file's text and no ledger answer is that
    text (changed by hand or by another tool after `langir describe`). Returns {} when there is no ledger.
    """
    path = Path(root) / LEDGER
    if not path.is_file():
        return {}
    db = _connect(path)
    if db is None:
        return {}
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
        present = [c for c in WANTED if c in columns]
        rows = db.execute(f"SELECT {', '.join(present)} FROM requests").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    by_image: dict[str, list[dict]] = {}
    for row in rows:
        record = dict(zip(present, row, strict=True))
        by_image.setdefault(str(record.get("image_id")), []).append(record)
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
