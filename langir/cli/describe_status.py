"""`langir describe --status`: the ledger's spend per provider/model, per run, and the batches in flight."""

from __future__ import annotations

from langir.cli.common import literal, out, print_json


def show_status(summary: dict, as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"describe ledger {literal(summary['ledger'])}", title_justify="left")
    for col in ("provider", "model", "status", "requests", "attempts", "input_tokens", "output_tokens", "cost_usd"):
        table.add_column(col)
    for g in summary["groups"]:
        table.add_row(*(literal(str(g[c])) for c in ("provider", "model", "status", "requests", "attempts", "input_tokens", "output_tokens", "cost_usd")))
    out.print(table)
    out.print(f"total cost ${summary['cost_usd']:.4f}; {summary['current']} current answers; "
              f"{len(summary['failures'])} image(s) without a valid answer", highlight=False)
    for f in summary["failures"][:20]:
        out.print(f"  {f['status']} {f['id']}: {f['error']}", highlight=False, markup=False, soft_wrap=True)
    show_spend(summary)


def show_spend(summary: dict) -> None:
    """--status: spend per provider/model, per run, and the batches still in flight."""
    import datetime

    plain = {"highlight": False, "markup": False, "soft_wrap": True}
    if summary.get("by_model"):
        out.print("spend by provider/model:", **plain)
        for m in summary["by_model"]:
            out.print(f"  {m['provider']} {m['model']}: {m['answers']} paid answer(s), ${m['cost_usd']:.4f}", **plain)
    if summary.get("runs"):
        out.print("spend by run:", **plain)
        for r in summary["runs"]:
            when = datetime.datetime.fromtimestamp(r["started"]).strftime("%Y-%m-%d %H:%M") if r["started"] else "before runs were recorded"
            out.print(f"  {r['run_id'] or '-'} ({when}, {r['mode'] or '?'}) {r['provider']} {r['model']}: "
                      f"{r['answers']} paid answer(s), ${r['cost_usd']:.4f}", **plain)
    flight = summary.get("in_flight", [])
    out.print(f"batches in flight: {len(flight)}" + ("" if flight else " (none)"), **plain)
    for b in flight:
        state = "intent recorded, creation not confirmed" if b["status"] == "intent" else "submitted"
        out.print(f"  batch {b['batch_id']} ({b['provider']}, {b['requests']} requests): {state}", **plain)
