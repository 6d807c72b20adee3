"""`langir describe`: write a description per image with a VLM or offline from the masks."""

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
    notice,
    open_dataset,
    out,
    print_json,
    progress_bar,
    selected_ids,
    warn,
)
from langir.errors import ConfigError

_API = "API and limits"
_PROMPT = "Prompt"


def _read_ids(path: Path) -> list[str]:
    from langir.data.dataset import read_split_file

    return read_split_file(path)


def _shots(ds, shots_from: str | None, shots_file: Path | None, k: int, max_side: int | None):
    """Few-shot examples: (image, description) pairs from a described split or an id file."""
    from langir.describe.images import encode_array
    from langir.describe.prompts import Shot

    if not shots_from and not shots_file:
        return ()
    ids = ds.split_ids(shots_from) if shots_from else _read_ids(shots_file)  # type: ignore[arg-type]
    shots = []
    for sid in ids:
        text = ds.read_description(sid)
        if text:
            shots.append(Shot(encode_array(ds.read_image(sid), max_side).png, text))
        if len(shots) >= k:
            break
    if not shots:
        raise ConfigError(f"no described images for few-shot examples in {shots_from or shots_file}")
    return tuple(shots)


def describe(
    dataset: DatasetArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    ids_file: Annotated[Path | None, typer.Option("--ids", help="File of image ids (one a line) to describe.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Describe at most N images.", min=1)] = None,
    provider: Annotated[str, typer.Option("--provider", help="auto | template | openai | anthropic (auto: OpenAI key → openai, Anthropic key → anthropic, else template).")] = "auto",
    model: Annotated[str | None, typer.Option("--model", help="Model name (defaults: gpt-4o, claude-sonnet-4-5).", show_default=False)] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server (vLLM, Ollama, LM Studio), e.g. http://localhost:11434/v1.", show_default=False)] = None,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Read the key from this environment variable instead.", show_default=False)] = None,
    template_style: Annotated[str, typer.Option("--template-style", help="Template provider text: rich | quadrant (paper §5.6.4).", rich_help_panel=_PROMPT)] = "rich",
    prompt_style: Annotated[str, typer.Option("--prompt-style", help="system | few-shot | zero-shot (files in prompts/).", rich_help_panel=_PROMPT)] = "system",
    prompt_file: Annotated[Path | None, typer.Option("--prompt-file", help="Your own prompt file ('# role' / '# task' sections, {max_words}).", rich_help_panel=_PROMPT, show_default=False)] = None,
    shots_from: Annotated[str | None, typer.Option("--shots-from", help="Few-shot examples from this described split.", rich_help_panel=_PROMPT, show_default=False)] = None,
    shots_file: Annotated[Path | None, typer.Option("--shots", help="Few-shot examples: file of described image ids.", rich_help_panel=_PROMPT, show_default=False)] = None,
    num_shots: Annotated[int, typer.Option("--num-shots", help="Number of few-shot examples.", rich_help_panel=_PROMPT, min=1)] = 2,
    max_words: Annotated[int, typer.Option("--max-words", help="Word limit put in the prompt and checked on replies.", rich_help_panel=_PROMPT, min=1)] = 50,
    detail: Annotated[str, typer.Option("--detail", help="OpenAI image detail: low | high | auto.", rich_help_panel=_API)] = "auto",
    max_side: Annotated[int, typer.Option("--max-side", help="Downscale images whose longer side exceeds this (0 = provider limit only).", rich_help_panel=_API)] = 1024,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Reply token cap.", rich_help_panel=_API, min=1)] = 300,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Requests in flight at once.", rich_help_panel=_API, min=1)] = 8,
    rpm: Annotated[float | None, typer.Option("--rpm", help="Requests-per-minute limit.", rich_help_panel=_API, show_default=False)] = None,
    tpm: Annotated[float | None, typer.Option("--tpm", help="Tokens-per-minute limit (estimated input + max output).", rich_help_panel=_API, show_default=False)] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request before it counts as timed out (then retried).", rich_help_panel=_API)] = 60.0,
    retries: Annotated[int, typer.Option("--retries", help="Attempts per request on 429/5xx/529/timeouts.", rich_help_panel=_API, min=1)] = 5,
    backoff: Annotated[float, typer.Option("--backoff", help="First backoff wait in seconds (doubles, with jitter, max 60).", rich_help_panel=_API)] = 1.0,
    invalid_retries: Annotated[int, typer.Option("--invalid-retries", help="Ask again this often when a reply fails validation.", rich_help_panel=_API, min=0)] = 2,
    max_cost: Annotated[float | None, typer.Option("--max-cost", help="Budget cap in USD: stop cleanly before exceeding it.", rich_help_panel=_API, show_default=False)] = None,
    prices: Annotated[Path | None, typer.Option("--prices", help="JSON price table {model: [USD per M input, per M output]}.", rich_help_panel=_API, show_default=False)] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Use the OpenAI Batch API / Anthropic Message Batches (half price, resumable).", rich_help_panel=_API)] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between batch status checks.", rich_help_panel=_API)] = 30.0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing description files.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show requests, estimated tokens and cost; call nothing, write nothing.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Summarise the dataset's describe ledger and exit.")] = False,
    revalidate: Annotated[bool, typer.Option("--revalidate", help="Re-check stored replies under the current rules (no API calls).")] = False,
    skip_bad: SkipBadOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Describe where the small target is in each image (VLM or offline template), with a resumable ledger.

    Providers: openai (Chat Completions), anthropic (Messages), any OpenAI-compatible server via
    --base-url, template (offline, from the masks). Keys come only from OPENAI_API_KEY /
    ANTHROPIC_API_KEY (or --api-key-env) and are never written anywhere. Finished requests are kept
    in DATASET/.langir/describe.sqlite: a re-run makes no call for done work; a killed run resumes.
    Exit code 1 when any image failed.

    [bold]Example:[/] langir describe datasets/demo --provider template --json
    """
    from langir.describe.ledger import Ledger
    from langir.describe.pricing import load_prices
    from langir.describe.prompts import load_prompt
    from langir.describe.providers import choose_provider, make_provider
    from langir.describe.runner import DescribeOptions, RetryPolicy
    from langir.describe.runner import dry_run as plan_dry_run
    from langir.describe.runner import revalidate as revalidate_ledger

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ledger = Ledger.for_dataset(ds.root)
    try:
        if status:
            _show_status(ledger.summary(), as_json)
            return
        if revalidate:
            counts = revalidate_ledger(ds, ledger, max_words)
            print_json(counts) if as_json else out.print(
                f"revalidated {counts['checked']} stored replies: {counts['now_valid']} now valid, "
                f"{counts['now_invalid']} now invalid, {counts['unchanged']} unchanged")
            return
        if detail not in ("low", "high", "auto"):
            raise ConfigError(f"--detail must be low, high or auto, not {detail!r}")
        if template_style not in ("rich", "quadrant"):
            raise ConfigError(f"--template-style must be rich or quadrant, not {template_style!r}")
        ids = _read_ids(ids_file) if ids_file else selected_ids(ds, selected)
        if ids_file and selected:
            keep = set(selected_ids(ds, selected))
            ids = [i for i in ids if i in keep]
        if limit:
            ids = ids[:limit]
        choice = choose_provider(provider, api_key_env, base_url) if not dry_run else _dry_choice(provider, api_key_env, base_url)
        notice(choice.notice)
        prov = make_provider(choice, model, base_url, timeout, template_style)
        shots = _shots(ds, shots_from, shots_file, num_shots, max_side or None) if prov.remote else ()
        prompt = load_prompt(prompt_style, prompt_file, max_words, shots) if prov.remote else load_prompt(
            prompt_style if prompt_style != "few-shot" else "system", prompt_file, max_words)
        opts = DescribeOptions(
            max_words=max_words, max_tokens=max_tokens, detail=detail, max_side=max_side or None, concurrency=concurrency,
            rpm=rpm, tpm=tpm, max_cost=max_cost, overwrite=overwrite, invalid_retries=invalid_retries, skip_bad=skip_bad,
            retry=RetryPolicy(attempts=retries, initial=backoff), prices=load_prices(prices),
        )
        if dry_run:
            report = plan_dry_run(ds, ids, prov, prompt, opts, ledger, batch)
            import asyncio

            asyncio.run(prov.aclose())
            print_json(report) if as_json else _show_dry(report)
            return
        if batch and prov.remote:
            from langir.describe.batch import run_batch

            summary = run_batch(ds, ids, prov, prompt, opts, ledger, poll_interval=poll, log=notice)
        else:
            if batch:
                warn("--batch applies to openai/anthropic; the template provider runs directly")
            summary = _run_with_progress(ds, ids, prov, prompt, opts, ledger)
    finally:
        ledger.close()
    _finish(summary, as_json)


def _dry_choice(provider: str, api_key_env: str | None, base_url: str | None):
    """For --dry-run an explicit remote provider needs no key: nothing is sent."""
    from langir.describe.providers import Choice, choose_provider

    if provider in ("openai", "anthropic"):
        return Choice(provider, None, f"provider {provider} (dry run: nothing is sent)")
    return choose_provider(provider, api_key_env, base_url)


def _run_with_progress(ds, ids, prov, prompt, opts, ledger):
    from langir.describe.runner import describe_dataset

    counts = {"done": 0, "failed": 0, "retried": 0}
    with progress_bar(transient=False) as bar:
        task = bar.add_task("describing", total=len(ids), status="")

        def fields() -> str:
            return f"done {counts['done']} · failed {counts['failed']} · retried {counts['retried']}"

        def on_plan(plan) -> None:
            ready = len(plan.jobs) - len(plan.by_status("todo"))
            counts["done"] += len(plan.by_status("cached")) + len(plan.by_status("skipped"))
            counts["failed"] += len(plan.by_status("bad"))
            bar.update(task, advance=ready, status=fields())

        def on_event(kind: str, job) -> None:
            if kind == "retry":
                counts["retried"] += 1
                bar.update(task, status=fields())
                return
            counts["done" if kind == "done" else "failed"] += 1
            bar.update(task, advance=1, status=fields())

        def on_bad(image_id: str, message: str) -> None:
            warn(f"skipping {image_id}: {message}")

        return describe_dataset(ds, ids, prov, prompt, opts, ledger, on_event, on_plan, on_bad)


def _finish(summary: dict, as_json: bool) -> None:
    for bad in summary.get("skipped_bad", []):
        warn(f"skipped {bad['id']} (--skip-bad): {bad['reason']}")
    if as_json:
        print_json(summary)
    else:
        out.print(
            f"[bold]{summary['provider']}[/] {summary['model']}: {summary['described']} described, "
            f"{summary['from_ledger']} from the ledger, {summary['kept_existing']} kept, {summary['failed']} failed · "
            f"{summary['api_attempts']} calls ({summary['retries']} retries) · "
            f"{summary['input_tokens']}+{summary['output_tokens']} tokens · ${summary['cost_usd']:.4f} · {summary['elapsed_s']} s"
        )
        for failure in summary["failures"][:50]:
            err.print(f"  [red]{failure['status']}[/] {failure['id']}: {failure['reason']}", highlight=False)
        if len(summary["failures"]) > 50:
            err.print(f"  … and {len(summary['failures']) - 50} more (see langir describe --status)")
    if summary.get("stopped"):
        err.print(f"[bold red]stopped:[/] {summary['stopped']}", highlight=False)
        sys.exit(2)
    if summary["failed"]:
        sys.exit(1)


def _show_dry(report: dict) -> None:
    out.print(
        f"[bold]dry run[/] {report['provider']} {report['model']}: {report['requests']} requests "
        f"({report['from_ledger']} from the ledger, {report['kept_existing']} kept) · "
        f"≈{report['estimated_input_tokens']} input + {report['estimated_output_tokens']} output tokens · "
        f"≈${report['estimated_cost_usd']:.4f}{' (batch price)' if report['batch'] else ''}"
    )


def _show_status(summary: dict, as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"describe ledger {summary['ledger']}", title_justify="left")
    for col in ("provider", "model", "status", "requests", "attempts", "input_tokens", "output_tokens", "cost_usd"):
        table.add_column(col)
    for g in summary["groups"]:
        table.add_row(*(str(g[c]) for c in ("provider", "model", "status", "requests", "attempts", "input_tokens", "output_tokens", "cost_usd")))
    out.print(table)
    out.print(f"total cost ${summary['cost_usd']:.4f}; {len(summary['failures'])} failed/invalid")
    for f in summary["failures"][:20]:
        out.print(f"  {f['status']} {f['id']}: {f['error']}", highlight=False)
    for b in summary["batches"]:
        out.print(f"  batch {b['batch_id']} ({b['provider']}): {b['status']}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("describe")(describe)
