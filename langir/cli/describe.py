"""`langir describe`: write a description per image with a VLM or offline from the masks (library: langir.describe.session)."""

from __future__ import annotations

from dataclasses import replace
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
    notice,
    open_dataset,
    print_json,
)
from langir.cli.describe_options import (
    API_PANEL,
    PROMPT_PANEL,
    REDO_PANEL,
    BackoffOpt,
    BaseUrlOpt,
    BatchMaxBytesOpt,
    BatchMaxRequestsOpt,
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
    RepairOpt,
    RetriesOpt,
    RpmOpt,
    StrictnessOpt,
    StructuredOpt,
    TemperatureOpt,
    TimeoutOpt,
    TpmOpt,
    WaitOpt,
    above,
    at_least,
)
from langir.cli.describe_status import show_status
from langir.cli.describe_view import display, finish, show_dry_run, show_revalidated


# Long only by its signature (one parameter per flag); the body builds RunSettings and a Selection and calls
# one function of langir.describe.session.
def describe(
    dataset: DatasetArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    ids_file: Annotated[Path | None, typer.Option("--ids", help="File of image ids (one a line) to describe.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Describe at most N images.", callback=at_least("--limit", 1))] = None,
    provider: ProviderOpt = "auto",
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    template_style: Annotated[str, typer.Option("--template-style", help="Template provider text: rich | quadrant (paper §5.6.4).", rich_help_panel=PROMPT_PANEL)] = "rich",
    prompt_style: PromptStyleOpt = "system",
    prompt_file: Annotated[Path | None, typer.Option("--prompt-file", help="Your own prompt file ('# role' / '# task' sections, {max_words}, {hint}).", rich_help_panel=PROMPT_PANEL, show_default=False)] = None,
    shots_from: Annotated[str | None, typer.Option("--shots-from", help="Few-shot examples from this described split.", rich_help_panel=PROMPT_PANEL, show_default=False)] = None,
    shots_file: Annotated[Path | None, typer.Option("--shots", help="Few-shot examples: file of described image ids.", rich_help_panel=PROMPT_PANEL, show_default=False)] = None,
    num_shots: Annotated[int, typer.Option("--num-shots", help="Number of few-shot examples.", rich_help_panel=PROMPT_PANEL, callback=at_least("--num-shots", 1))] = 2,
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
    batch: Annotated[bool, typer.Option("--batch", help="Use the provider's batch API (half price, resumable).", rich_help_panel=API_PANEL)] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between batch status checks.", rich_help_panel=API_PANEL, callback=above("--poll", 0))] = 30.0,
    batch_max_requests: BatchMaxRequestsOpt = None,
    batch_max_bytes: BatchMaxBytesOpt = None,
    redo: Annotated[str | None, typer.Option("--redo", help="Ask these ids anew (a new paid request each; the ledger keeps every answer): FILE of ids, or `failing` = the ids `langir validate` would flag, or `review` = the ids queued in `langir review`.", rich_help_panel=REDO_PANEL, show_default=False)] = None,
    strictness: StrictnessOpt = None,
    no_target_fallback: FallbackOpt = True,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing description files (from the ledger when it has the answer: no call).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show requests, re-asks, estimated tokens and cost; call nothing, write nothing.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Summarise the dataset's describe ledger and exit (writes nothing).")] = False,
    revalidate: Annotated[bool, typer.Option("--revalidate", help="Re-check stored replies under the current rules (no API calls).")] = False,
    repair: RepairOpt = False,
    wait: WaitOpt = False,
    skip_bad: SkipBadOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Describe where the small target is in each image (VLM or offline template), with a resumable ledger.

    Providers (--provider): openai, anthropic, gemini, any OpenAI-compatible server via --base-url
    (vLLM, Ollama), and template (offline, from the masks, free). Keys come only from the environment
    (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, or --api-key-env) and are never written anywhere.
    Every paid answer is kept in DATASET/.langir/describe.sqlite: a re-run makes no call for done work;
    a killed run resumes; --redo asks chosen ids anew. One run per dataset at a time. See docs/describe.md.
    Exit codes: 0 all described, 1 some image failed (listed), 2 could not run, 130 interrupted.

    [bold]Examples:[/]
    [dim]# offline, free, from the masks[/]
    langir describe datasets/demo --provider template
    [dim]# what a VLM run would cost (no key needed, nothing sent)[/]
    langir describe ~/data/sirst --provider openai --dry-run
    [dim]# a hard budget; then ask anew the ones validate flags, with the mask's regions as a hint[/]
    langir describe ~/data/sirst --provider gemini --max-cost 2
    langir describe ~/data/sirst --provider gemini --redo failing --prompt-style grounded
    """
    from langir.describe import session
    from langir.describe.selection import select
    from langir.describe.settings import RunSettings
    from langir.describe.structured import structured_default

    ds, splits = open_dataset(dataset, layout, images, masks, descriptions, split)
    if repair:
        session.repair_ledger(ds, wait, notice)
    if status:
        show_status(session.ledger_status(ds), as_json)
        return
    settings = RunSettings(
        provider=provider, model=model, base_url=base_url, api_key_env=api_key_env, timeout=timeout,
        template_style=template_style, prompt_style=prompt_style, prompt_file=prompt_file, shots_from=shots_from,
        shots_file=shots_file, num_shots=num_shots, max_words=max_words, detail=detail, max_side=max_side,
        max_tokens=max_tokens, temperature=temperature, concurrency=concurrency, rpm=rpm, tpm=tpm, retries=retries,
        backoff=backoff, invalid_retries=invalid_retries, max_cost=max_cost, prices=prices, overwrite=overwrite,
        skip_bad=skip_bad, no_target_fallback=no_target_fallback, batch_max_requests=batch_max_requests,
        batch_max_bytes=batch_max_bytes)
    settings.check()
    def failing(ids: list[str]) -> list[str]:  # validate (pandas, scipy) is loaded only for --redo failing
        from langir.curate.validate import failing_ids

        return failing_ids(ds, ids, max_words, strictness)

    chosen = select(ds, splits, ids_file, redo, limit, failing)
    if revalidate:
        counts = session.revalidate_stored(ds, max_words, wait)
        print_json(counts) if as_json else show_revalidated(counts)
        return
    settings = replace(settings, structured=structured_default(ds.root, structured))
    if dry_run:
        report = session.price_run(ds, chosen, settings, batch, notice)
        print_json(report) if as_json else show_dry_run(report)
        return
    label = None if chosen.redo is None or as_json else ("failing validation" if redo == "failing" else redo)
    summary = session.describe_selection(ds, chosen, settings, batch, poll, wait, display(label, len(chosen.redo or [])))
    finish(summary, as_json, ds)


def register(app: typer.Typer) -> None:
    app.command("describe")(describe)
