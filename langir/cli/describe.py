"""`langir describe`: write a description per image with a VLM or offline from the masks."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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
    progress_bar,
    selected_ids,
    warn,
)
from langir.describe.providers import DEFAULT_MODELS, REGISTRY, provider_names
from langir.errors import ConfigError, LangirError

_API = "API and limits"
_PROMPT = "Prompt"
_REDO = "Redo and repair"


def at_least(flag: str, low: float) -> Callable[[Any], Any]:
    """A parse-time check: `flag` must be ≥ `low` (one line, exit 2, instead of click's panel)."""
    def check(value: Any) -> Any:
        if value is not None and value < low:
            raise ConfigError(f"{flag} must be at least {low:g}, not {value:g}")
        return value
    return check


def above(flag: str, low: float) -> Callable[[Any], Any]:
    """A parse-time check: `flag` must be > `low`."""
    def check(value: Any) -> Any:
        if value is not None and value <= low:
            raise ConfigError(f"{flag} must be greater than {low:g}, not {value:g}")
        return value
    return check


def _read_ids(path: Path) -> list[str]:
    from langir.data.dataset import read_split_file

    return read_split_file(path, "ids file")


def _shots(ds, shots_from: str | None, shots_file: Path | None, k: int, max_side: int | None, provider: Any = None):
    """Few-shot examples: (image, description) pairs from a described split or an id file, encoded
    within `provider`'s image limits like the image they accompany."""
    from langir.describe.images import encode_array
    from langir.describe.prompts import Shot

    if not shots_from and not shots_file:
        return ()
    ids = ds.split_ids(shots_from) if shots_from else _read_ids(shots_file)  # type: ignore[arg-type]
    shots = []
    for sid in ids:
        text = ds.read_description(sid)
        if text:
            shots.append(Shot(encode_array(ds.read_image(sid), max_side, provider).png, text, _shot_targets(ds, sid)))
        if len(shots) >= k:
            break
    if not shots:
        raise ConfigError(f"no described images for few-shot examples in {shots_from or shots_file}")
    return tuple(shots)


def _shot_targets(ds, sample_id: str) -> list | None:
    """A few-shot example's targets on 0..1000 from its mask (its answer in structured mode); None without one."""
    from langir.describe.structured import mask_targets

    try:
        return mask_targets(ds.read_mask(sample_id)) if ds.has_mask(sample_id) else None
    except LangirError:
        return None


# Options shared with `langir curate`.
# The choices come from the provider registry: listed in --help, checked when the command runs (so a
# provider registered later, a plugin or a test's, is accepted too).
def _provider_choice(value: str) -> str:
    from langir.describe.providers import AUTO, provider_class

    if value != AUTO:
        provider_class(value)  # ConfigError naming the choices
    return value


_KEYS = ", ".join(f"${cls.key_env} → {name}" for name, cls in REGISTRY.items() if cls.key_env)
_COMPATIBLE = next(name for name, cls in REGISTRY.items() if cls.keyless_base_url)
_OFFLINE = next(name for name, cls in REGISTRY.items() if not cls.remote)
_MODELS = "; ".join(f"{name}: {model}" for name, model in DEFAULT_MODELS.items() if REGISTRY[name].remote)
ProviderOpt = Annotated[str, typer.Option("--provider", metavar="[" + "|".join(provider_names()) + "]", callback=_provider_choice, help=f"Who writes the descriptions. auto: the first key set in the environment picks its provider ({_KEYS}); --base-url picks {_COMPATIBLE}; no key: {_OFFLINE} (offline, from the masks, free).")]
ModelOpt = Annotated[str | None, typer.Option("--model", help=f"Model name. Defaults: {_MODELS}.", show_default=False)]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server (vLLM, Ollama, LM Studio), e.g. http://localhost:11434/v1.", show_default=False)]
KeyEnvOpt = Annotated[str | None, typer.Option("--api-key-env", help="Read the key from this environment variable instead.", show_default=False)]
PromptStyleOpt = Annotated[str, typer.Option("--prompt-style", help="system | few-shot | zero-shot | grounded (files in prompts/; grounded gives the VLM the mask's regions as a hint).", rich_help_panel=_PROMPT)]
MaxWordsOpt = Annotated[int, typer.Option("--max-words", help="Word limit put in the prompt and checked on replies.", rich_help_panel=_PROMPT, callback=at_least("--max-words", 1))]
DetailOpt = Annotated[str, typer.Option("--detail", help="OpenAI image detail: low | high | auto.", rich_help_panel=_API)]
MaxSideOpt = Annotated[int, typer.Option("--max-side", help="Downscale images whose longer side exceeds this (0 = provider limit only).", rich_help_panel=_API, callback=at_least("--max-side", 0))]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", help="Reply token cap.", rich_help_panel=_API, callback=at_least("--max-tokens", 1))]
TemperatureOpt = Annotated[float, typer.Option("--temperature", help="Sampling temperature of first asks; re-asks use at least 0.7 (asking again at 0 buys the same answer).", rich_help_panel=_API, callback=at_least("--temperature", 0))]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", help="Requests in flight at once.", rich_help_panel=_API, callback=at_least("--concurrency", 1))]
RpmOpt = Annotated[float | None, typer.Option("--rpm", help="Requests-per-minute limit.", rich_help_panel=_API, show_default=False, callback=above("--rpm", 0))]
TpmOpt = Annotated[float | None, typer.Option("--tpm", help="Tokens-per-minute limit (estimated input + max output).", rich_help_panel=_API, show_default=False, callback=above("--tpm", 0))]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per request before it counts as timed out (then retried).", rich_help_panel=_API, callback=above("--timeout", 0))]
RetriesOpt = Annotated[int, typer.Option("--retries", help="Attempts per request on 429/5xx/529/timeouts.", rich_help_panel=_API, callback=at_least("--retries", 1))]
BackoffOpt = Annotated[float, typer.Option("--backoff", help="First backoff wait in seconds (doubles, with jitter, max 60).", rich_help_panel=_API, callback=at_least("--backoff", 0))]
InvalidRetriesOpt = Annotated[int, typer.Option("--invalid-retries", help="Answers bought again (at temperature ≥ 0.7) when one fails validation.", rich_help_panel=_API, callback=at_least("--invalid-retries", 0))]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", help="Hard budget in USD: a request is sent only if the spend so far plus the worst case of all requests in flight stays within it.", rich_help_panel=_API, show_default=False, callback=at_least("--max-cost", 0))]
PricesOpt = Annotated[Path | None, typer.Option("--prices", help="JSON price table {model: [USD per M input, per M output]}.", rich_help_panel=_API, show_default=False)]
FallbackOpt = Annotated[bool, typer.Option("--no-target-fallback/--leave-undescribed", help="Empty mask and every answer claims a target: write the template's no-target sentence (recorded in the ledger), or leave the image undescribed.", rich_help_panel=_REDO)]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Wait for another run on this dataset to finish instead of exiting 2.")]
RepairOpt = Annotated[bool, typer.Option("--repair", help="Move a corrupt ledger aside (describe.sqlite.corrupt-DATE) and rebuild it from the description files.", rich_help_panel=_REDO)]
BatchMaxRequestsOpt = Annotated[int | None, typer.Option("--batch-max-requests", help="With --batch: at most N requests per submitted batch (default: the provider's documented limit; lower it for a smaller quota).", rich_help_panel=_API, show_default=False, callback=at_least("--batch-max-requests", 1))]
BatchMaxBytesOpt = Annotated[int | None, typer.Option("--batch-max-bytes", help="With --batch: at most N bytes per submitted batch file (default: the provider's documented limit).", rich_help_panel=_API, show_default=False, callback=at_least("--batch-max-bytes", 1024))]
StructuredOpt = Annotated[bool | None, typer.Option("--structured/--plain", help="Ask for one JSON answer {description, targets: [{point, box}]} through the provider's own structured-output mechanism; the text goes to the description file, the targets (pixels of the original image) beside it. Default: `structured` in langir.toml's [describe], else plain.", rich_help_panel=_PROMPT, show_default=False)]
StrictnessOpt = Annotated[str | None, typer.Option("--strictness", help="Grounding strictness for `failing` (broad | grid; default: validate's).", rich_help_panel=_REDO, show_default=False)]


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
    template_style: Annotated[str, typer.Option("--template-style", help="Template provider text: rich | quadrant (paper §5.6.4).", rich_help_panel=_PROMPT)] = "rich",
    prompt_style: PromptStyleOpt = "system",
    prompt_file: Annotated[Path | None, typer.Option("--prompt-file", help="Your own prompt file ('# role' / '# task' sections, {max_words}, {hint}).", rich_help_panel=_PROMPT, show_default=False)] = None,
    shots_from: Annotated[str | None, typer.Option("--shots-from", help="Few-shot examples from this described split.", rich_help_panel=_PROMPT, show_default=False)] = None,
    shots_file: Annotated[Path | None, typer.Option("--shots", help="Few-shot examples: file of described image ids.", rich_help_panel=_PROMPT, show_default=False)] = None,
    num_shots: Annotated[int, typer.Option("--num-shots", help="Number of few-shot examples.", rich_help_panel=_PROMPT, callback=at_least("--num-shots", 1))] = 2,
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
    batch: Annotated[bool, typer.Option("--batch", help="Use the provider's batch API (half price, resumable).", rich_help_panel=_API)] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between batch status checks.", rich_help_panel=_API, callback=above("--poll", 0))] = 30.0,
    batch_max_requests: BatchMaxRequestsOpt = None,
    batch_max_bytes: BatchMaxBytesOpt = None,
    redo: Annotated[str | None, typer.Option("--redo", help="Ask these ids anew (a new paid request each; the ledger keeps every answer): FILE of ids, or `failing` = the ids `langir validate` would flag, or `review` = the ids queued in `langir review`.", rich_help_panel=_REDO, show_default=False)] = None,
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
    from langir.describe.ledger import DatasetLock, Ledger
    from langir.describe.runner import dry_run as plan_dry_run
    from langir.describe.runner import revalidate as revalidate_ledger

    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    if repair:
        repair_ledger(ds, wait)
    if status:
        ledger = Ledger.for_dataset(ds.root, readonly=True)
        try:
            _show_status(ledger.summary(), as_json)
        finally:
            ledger.close()
        return
    if detail not in ("low", "high", "auto"):
        raise ConfigError(f"--detail must be low, high or auto, not {detail!r}")
    if template_style not in ("rich", "quadrant"):
        raise ConfigError(f"--template-style must be rich or quadrant, not {template_style!r}")
    ids = _read_ids(ids_file) if ids_file else selected_ids(ds, selected)
    if ids_file and selected:
        keep = set(selected_ids(ds, selected))
        ids = [i for i in ids if i in keep]
    redo_ids = None
    if redo is not None:
        if redo == "review":  # the ids queued on the `langir review` page
            from langir.describe.human import queued_ids

            redo_ids = queued_ids(ds.root)
        else:
            redo_ids = failing_ids(ds, ids, max_words, strictness) if redo == "failing" else _read_ids(Path(redo))
        if ids_file or selected:
            keep = set(ids)
            redo_ids = [i for i in redo_ids if i in keep]
        ids = redo_ids
    if limit:
        ids = ids[:limit]
    if revalidate:
        with DatasetLock(ds.root, wait):
            ledger = Ledger.for_dataset(ds.root)
            try:
                counts = revalidate_ledger(ds, ledger, max_words)
            finally:
                ledger.close()
        print_json(counts) if as_json else out.print(
            f"revalidated {counts['checked']} stored replies: {counts['now_valid']} now valid, "
            f"{counts['now_invalid']} now invalid, {counts['unchanged']} unchanged")
        return
    args = (ds, provider, model, base_url, api_key_env, timeout, template_style, prompt_style, prompt_file, shots_from,
            shots_file, num_shots, max_words, detail, max_side, max_tokens, temperature, concurrency, rpm, tpm, retries,
            backoff, invalid_retries, max_cost, prices, overwrite, skip_bad, no_target_fallback, dry_run)
    from langir.describe.structured import structured_default

    limits = {"batch_max_requests": batch_max_requests, "batch_max_bytes": batch_max_bytes,
              "structured": structured_default(ds.root, structured)}
    if dry_run:
        import asyncio

        ledger = Ledger.for_dataset(ds.root, readonly=True)  # first: a broken ledger is the only line printed
        try:
            prov, prompt, opts = build_run(*args, **limits)
            report = plan_dry_run(ds, ids, prov, prompt, opts, ledger, batch, redo=redo_ids)
            asyncio.run(prov.aclose())
        finally:
            ledger.close()
        print_json(report) if as_json else _show_dry(report)
        return
    with DatasetLock(ds.root, wait):
        ledger = Ledger.for_dataset(ds.root)
        try:
            prov, prompt, opts = build_run(*args, **limits)
            if redo_ids is not None and not as_json:
                notice(f"asking {len(redo_ids)} image(s) anew ({'failing validation' if redo == 'failing' else redo})")
            if batch and prov.remote:
                from langir.describe.batch import run_batch

                summary = run_batch(ds, ids, prov, prompt, opts, ledger, poll_interval=poll, log=notice, redo=redo_ids)
            else:
                if batch:
                    warn("--batch applies to remote providers; the template provider runs directly")
                summary = run_with_progress(ds, ids, prov, prompt, opts, ledger, redo_ids)
        finally:
            ledger.close()
    written = summary.get("described", 0) + summary.get("from_ledger", 0)
    if written and not as_json:  # every writing command says where it wrote (issue 22)
        notice(f"descriptions: {ds.root / Path(ds.layout.descriptions).parent} ({written} written); "
               f"ledger: {ds.root / '.langir' / 'describe.sqlite'}")
    _finish(summary, as_json)


def failing_ids(ds, ids: list[str], max_words: int, strictness: str | None) -> list[str]:
    """The ids `langir validate` would flag (and a new description could fix), computed in process."""
    from langir.curate.validate import validate_dataset

    extra = {"strictness": strictness} if strictness else {}  # only when given: older validate has no such keyword
    return validate_dataset(ds, ids, max_words, **extra).redescribe_ids()


def repair_ledger(ds, wait: bool = False) -> None:
    """--repair: move a broken ledger aside and rebuild it from the description files (a good one is kept)."""
    from langir.describe.ledger import REPAIR_HINT, DatasetLock, Ledger, LedgerError
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
    folder = ds.root / ".langir"
    if folder.is_dir():
        with DatasetLock(ds.root, wait):
            moved, n = repair(ds.root, present)
    else:
        moved, n = repair(ds.root, present)
    for path in moved:
        notice(f"moved aside: {path}")
    notice(f"rebuilt the ledger with {n} description file(s) present (provider 'restored')")


def build_run(ds, provider, model, base_url, api_key_env, timeout, template_style, prompt_style, prompt_file, shots_from,
              shots_file, num_shots, max_words, detail, max_side, max_tokens, temperature, concurrency, rpm, tpm, retries,
              backoff, invalid_retries, max_cost, prices, overwrite, skip_bad, no_target_fallback, dry_run,
              batch_max_requests: int | None = None, batch_max_bytes: int | None = None, structured: bool = False):
    """Provider, prompt and options from the command line (shared by describe and curate).

    A dry run sends nothing, so an explicitly named remote provider needs no key for it.
    `structured`: ask for JSON answers (the prompt carries the note and the flag).
    """
    from langir.describe.pricing import load_prices
    from langir.describe.prompts import load_prompt
    from langir.describe.providers import choose_provider, make_provider
    from langir.describe.runner import DescribeOptions, RetryPolicy, check_prices

    choice = choose_provider(provider, api_key_env, base_url, require_key=not dry_run)
    notice(choice.notice)
    prov = make_provider(choice, model, base_url, timeout, template_style,
                         batch_max_requests=batch_max_requests, batch_max_bytes=batch_max_bytes)
    shots = _shots(ds, shots_from, shots_file, num_shots, max_side or None, prov) if prov.remote else ()
    prompt = load_prompt(prompt_style, prompt_file, max_words, shots, structured) if prov.remote else load_prompt(
        prompt_style if prompt_style != "few-shot" else "system", prompt_file, max_words, structured=structured)
    opts = DescribeOptions(
        max_words=max_words, max_tokens=max_tokens, temperature=temperature, detail=detail, max_side=max_side or None,
        concurrency=concurrency, rpm=rpm, tpm=tpm, max_cost=max_cost, overwrite=overwrite,
        invalid_retries=invalid_retries, skip_bad=skip_bad, retry=RetryPolicy(attempts=retries, initial=backoff),
        prices=load_prices(prices), no_target_fallback=no_target_fallback,
    )
    check_prices(prov, opts)
    return prov, prompt, opts


class Progress:
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

    def __enter__(self) -> Progress:
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


def _on_warn(message: str) -> None:
    warn(message)


def run_with_progress(ds, ids, prov, prompt, opts, ledger, redo=None, label: str = "describing"):
    """describe_dataset with the progress display and per-id warnings on stderr."""
    from langir.describe.runner import describe_dataset

    with Progress(len(ids), label) as progress:
        return describe_dataset(ds, ids, prov, prompt, opts, ledger, progress.on_event, progress.on_plan, _on_bad,
                                redo=redo, on_warn=_on_warn)


async def run_with_progress_async(ds, ids, prov, prompt, opts, ledger, redo=None, label: str = "describing"):
    """The same inside a running event loop (one round of `langir curate`)."""
    from langir.describe.runner import describe_async

    with Progress(len(ids), label) as progress:
        return await describe_async(ds, ids, prov, prompt, opts, ledger, progress.on_event, progress.on_plan, _on_bad,
                                    redo=redo, on_warn=_on_warn)


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


def _finish(summary: dict, as_json: bool) -> None:
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


def _show_dry(report: dict) -> None:
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


def _show_status(summary: dict, as_json: bool) -> None:
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
        out.print(f"  {f['status']} {f['id']}: {f['error']}", highlight=False, markup=False)
    _show_spend(summary)


def _show_spend(summary: dict) -> None:
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


def register(app: typer.Typer) -> None:
    app.command("describe")(describe)
