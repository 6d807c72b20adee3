"""`langir curate`: describe → validate → redo the failing ones, round after round (library: langir.curate.loop)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from langir.cli.common import (
    DatasetArg,
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SkipBadOpt,
    SplitOpt,
    err,
    literal,
    notice,
    open_dataset,
    out,
    print_json,
)
from langir.cli.describe_options import (
    BackoffOpt,
    BaseUrlOpt,
    ConcurrencyOpt,
    DetailOpt,
    FallbackOpt,
    InvalidRetriesOpt,
    KeyEnvOpt,
    MaxCostOpt,
    MaxSideOpt,
    MaxTokensOpt,
    MaxWordsOpt,
    ModelOpt,
    PricesOpt,
    PromptStyleOpt,
    ProviderOpt,
    RetriesOpt,
    RpmOpt,
    StrictnessOpt,
    StructuredOpt,
    TemperatureOpt,
    TimeoutOpt,
    TpmOpt,
    WaitOpt,
    at_least,
)
from langir.cli.describe_view import display, stop_line

_LOOP = "Loop"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def curate(
    dataset: DatasetArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    ids_file: Annotated[Path | None, typer.Option("--ids", help="File of image ids (one a line) to curate.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Curate at most N images.", callback=at_least("--limit", 1))] = None,
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds at most (the first describes, later ones redo).", rich_help_panel=_LOOP, callback=at_least("--rounds", 1))] = 3,
    redo_styles: Annotated[str, typer.Option("--redo-styles", help="Strategy per redo round, comma-separated: same (first prompt at temperature ≥ 0.7) or a prompt style (zero-shot, system, grounded: the mask's regions as a hint). The last one repeats.", rich_help_panel=_LOOP)] = "same,grounded",
    tolerance: Annotated[float, typer.Option("--tolerance", help="Validation slack around claimed regions (fraction of the image side).", rich_help_panel=_LOOP, callback=at_least("--tolerance", 0))] = 0.05,
    strictness: StrictnessOpt = None,
    provider: ProviderOpt = "auto",
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    prompt_style: PromptStyleOpt = "system",
    max_words: MaxWordsOpt = 50,
    structured: StructuredOpt = None,
    detail: DetailOpt = "auto",
    max_side: MaxSideOpt = 1024,
    max_tokens: MaxTokensOpt = 300,
    temperature: TemperatureOpt = 0.0,
    concurrency: ConcurrencyOpt = 8,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    timeout: TimeoutOpt = 60.0,
    retries: RetriesOpt = 5,
    backoff: BackoffOpt = 1.0,
    invalid_retries: InvalidRetriesOpt = 2,
    max_cost: MaxCostOpt = None,
    prices: PricesOpt = None,
    no_target_fallback: FallbackOpt = True,
    wait: WaitOpt = False,
    skip_bad: SkipBadOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Curate descriptions until they agree with the masks: describe, validate, redo the failing ones.

    Round 1 describes the images without a description (answers in the ledger are reused);
    each later round asks anew only the ids `langir validate` flags, with the next --redo-styles
    strategy. Stops when all agree, after --rounds, or when --max-cost (for the whole loop) is
    reached. Prints a table per round (agreement, calls, cost). Exit 0 when all agree, 1 when some
    still fail (listed), 2 could not run, 130 interrupted.

    [bold]Examples:[/]
    [dim]# offline and free: template descriptions agree with their masks by construction[/]
    langir curate datasets/demo --provider template
    [dim]# a VLM, at most 3 rounds and $5 in all; round 3 gives the VLM the mask's regions as a hint[/]
    langir curate ~/data/sirst --provider openai --rounds 3 --max-cost 5 --redo-styles same,grounded
    """
    from langir.curate.loop import curate_dataset, parse_redo_styles
    from langir.describe.selection import choose_ids
    from langir.describe.settings import RunSettings
    from langir.describe.structured import structured_default

    styles = parse_redo_styles(redo_styles)
    ds, splits = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = choose_ids(ds, splits, ids_file, limit)
    settings = RunSettings(
        provider=provider, model=model, base_url=base_url, api_key_env=api_key_env, timeout=timeout,
        prompt_style=prompt_style, max_words=max_words, structured=structured_default(ds.root, structured),
        detail=detail, max_side=max_side, max_tokens=max_tokens, temperature=temperature, concurrency=concurrency,
        rpm=rpm, tpm=tpm, retries=retries, backoff=backoff, invalid_retries=invalid_retries, max_cost=max_cost,
        prices=prices, skip_bad=skip_bad, no_target_fallback=no_target_fallback)
    settings.check()

    def on_round(report) -> None:
        if not as_json:
            err.print(f"round {report.round} ({report.strategy}): agreement {_pct(report.agreement)}, "
                      f"{report.failing} failing, {report.calls} calls, ${report.cost_usd:.4f}", highlight=False)

    result = curate_dataset(ds, ids, settings, rounds, styles, tolerance, strictness, wait, display(), on_round)
    data = result.to_dict()
    if as_json:
        print_json(data)
    else:
        _show(data)
        notice(f"descriptions: {ds.root / Path(ds.layout.descriptions).parent}; ledger: {ds.root / '.langir' / 'describe.sqlite'}")
    if result.stopped == "interrupted":
        sys.exit(130)
    if result.stopped == "api":
        err.print(stop_line(str(result.api_error), result.api_error_kind, result.provider), highlight=False, soft_wrap=True)
        sys.exit(2)
    if result.failing_ids:
        sys.exit(1)


def _show(data: dict) -> None:
    from rich.table import Table

    table = Table(title="Curation rounds", title_justify="left")
    for head in ("round", "strategy", "asked", "answers", "calls", "cost", "total cost", "agreement", "failing"):
        # min_width: a narrow terminal wraps the cells, never cuts a header to "strat…"
        table.add_column(head, justify="left" if head == "strategy" else "right", min_width=len(head))
    for r in data["rounds"]:
        strategy = r["strategy"] if r["strategy"] in ("first", r["prompt_style"]) else f"{r['strategy']} ({r['prompt_style']})"
        if r["strategy"] == "first":
            strategy = f"describe ({r['prompt_style']})"
        table.add_row(str(r["round"]), literal(strategy), str(r["asked"]), str(r["answers"]), str(r["calls"]),
                      f"${r['cost_usd']:.4f}", f"${r['total_cost_usd']:.4f}", _pct(r["agreement"]), str(r["failing"]))
    out.print(table)
    reasons = {"all-agree": "every graded description agrees with its mask", "rounds": "--rounds reached",
               "max-cost": "--max-cost reached", "nothing-to-redo": "the remaining failures need new masks or images, not text",
               "api": "the API stopped the run", "interrupted": "interrupted"}
    out.print(f"stopped: {reasons.get(data['stopped'], data['stopped'])}; {data['calls']} calls, ${data['cost_usd']:.4f}",
              highlight=False)
    for image_id in data["failing_ids"][:20]:
        err.print(f"  [red]still failing[/] {literal(image_id)}", highlight=False)
    if len(data["failing_ids"]) > 20:
        err.print(f"  … and {len(data['failing_ids']) - 20} more (langir validate lists them)")


def register(app: typer.Typer) -> None:
    app.command("curate")(curate)
