"""The curation loop behind `langir curate`: describe → validate → redo the failing ones, round after round.

Round 1 describes every selected image (files already present are kept, answers in the ledger are
reused). Each later round asks only the ids validation flags and a new description could fix
(`ValidationResult.redescribe_ids`), with the next strategy of `redo_styles`:

- ``same``: the first round's prompt again, sampled at temperature ≥ 0.7 (attempt > 0: a new
  request; at temperature 0 the VLM would sell the same answer again);
- a prompt style (``zero-shot``, ``system``, ``grounded`` …): that prompt; ``grounded`` hands the
  VLM the mask's regions, so the position is right and the wording is the VLM's own.

The last strategy repeats when there are more rounds than strategies. The loop stops when every
graded image agrees, after `rounds` rounds, when the cost cap leaves an image unaffordable, when
the API stops the run (bad key, quota), or on Ctrl-C. `max_cost` caps the whole loop: each round
gets what the earlier ones left.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langir.data.dataset import LangIRDataset
from langir.describe.ledger import DatasetLock, Ledger
from langir.describe.prompts import STYLES, Prompt, load_prompt
from langir.describe.providers import Provider
from langir.describe.runner import DescribeOptions
from langir.describe.session import Display, describe_round
from langir.describe.settings import RunSettings, build_run
from langir.errors import ConfigError
from langir.text.judge import DEFAULT_STRICTNESS, DEFAULT_TOLERANCE

# few-shot needs examples the loop cannot pick, so it is not a redo strategy
STRATEGIES = ("same", *(s for s in STYLES if s != "few-shot"))
DEFAULT_REDO_STYLES = ("same", "grounded")


def parse_redo_styles(text: str) -> tuple[str, ...]:
    """'same,zero-shot,grounded' → a checked tuple of strategies."""
    styles = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in styles if s not in STRATEGIES]
    if not styles or unknown:
        raise ConfigError(f"--redo-styles: unknown strategy {unknown[0] if unknown else text!r} "
                          f"(choose from {', '.join(STRATEGIES)}, comma-separated)")
    return styles


@dataclass
class RoundReport:
    """One round: what was asked, what it cost, and where agreement stands after it."""

    round: int
    strategy: str
    prompt_style: str
    asked: int
    answers: int
    calls: int
    cost_usd: float
    total_cost_usd: float
    agreement: float | None
    agreeing: int
    graded: int
    failing: int
    to_redo: int
    elapsed_s: float
    describe: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class CurateResult:
    rounds: list[RoundReport]
    stopped: str  # all-agree | rounds | max-cost | nothing-to-redo | api | interrupted
    failing_ids: list[str]
    api_error: str | None = None
    api_error_kind: str | None = None  # FatalError.kind: auth | quota | bad_request | other
    provider: str | None = None  # the provider's name (for the stop line's advice)

    @property
    def cost_usd(self) -> float:
        return round(sum(r.cost_usd for r in self.rounds), 6)

    def to_dict(self) -> dict[str, Any]:
        last = self.rounds[-1] if self.rounds else None
        return {
            "rounds": [{k: v for k, v in dataclasses.asdict(r).items() if k != "describe"} for r in self.rounds],
            "stopped": self.stopped, "api_error": self.api_error, "api_error_kind": self.api_error_kind,
            "agreement": last.agreement if last else None, "cost_usd": self.cost_usd,
            "calls": sum(r.calls for r in self.rounds), "answers": sum(r.answers for r in self.rounds),
            "failing_ids": self.failing_ids,
        }


Validator = Callable[[list[str]], tuple[dict[str, Any], list[str], list[str]]]


def curate_dataset(ds: LangIRDataset, ids: list[str], settings: RunSettings, rounds: int = 3,
                   redo_styles: tuple[str, ...] = DEFAULT_REDO_STYLES, tolerance: float = DEFAULT_TOLERANCE,
                   strictness: str | None = None, wait: bool = False, display: Display | None = None,
                   on_round: Callable[[RoundReport], None] | None = None) -> CurateResult:
    """`langir curate`: under the dataset lock, rounds of describe (`settings`) → `validate_dataset` → redo."""
    from langir.curate.validate import TargetsMemory, validate_dataset

    display = display or Display()
    kept = TargetsMemory()  # the rounds validate the same images and masks again

    def check(check_ids: list[str]) -> tuple[dict[str, Any], list[str], list[str]]:
        result = validate_dataset(ds, check_ids, settings.max_words, tolerance, strictness=strictness or DEFAULT_STRICTNESS,
                                  kept=kept)
        return result.summary(), result.failing["id"].tolist(), result.redescribe_ids()

    async def run(ds, ids, provider, prompt, opts, ledger, redo=None, label=""):
        return await describe_round(ds, ids, provider, prompt, opts, ledger, redo, label, display)

    with DatasetLock(ds.root, wait):
        ledger = Ledger.for_dataset(ds.root)
        try:
            prov, prompt, opts = build_run(ds, settings, notice=display.notice)

            def prompt_for(style: str) -> Prompt:
                if style == settings.prompt_style:
                    return prompt
                return load_prompt(style, None, settings.max_words, structured=settings.structured)

            result = run_rounds(ds, ids, prov, prompt_for, settings.prompt_style, opts, ledger, check, rounds,
                                redo_styles, run, on_round)
        finally:
            ledger.close()
    result.provider = prov.name
    return result


def run_rounds(ds: LangIRDataset, ids: list[str], provider: Provider, prompt_for: Callable[[str], Prompt],
               first_style: str, opts: DescribeOptions, ledger: Ledger, check: Validator, rounds: int = 3,
               redo_styles: tuple[str, ...] = DEFAULT_REDO_STYLES,
               run: Callable[..., Any] | None = None,
               on_round: Callable[[RoundReport], None] | None = None) -> CurateResult:
    """Run the loop (see the module docstring). `check(ids)` → (summary, failing ids, ids to redo).

    `run(ds, ids, provider, prompt, opts, ledger, redo=…, label=…)` is a coroutine describing one
    round; by default `describe_round` without a display. All rounds share one event loop, as the
    provider's SDK clients belong to the loop they were first used in.
    """
    if rounds < 1:
        raise ConfigError(f"--rounds must be at least 1, not {rounds}")

    async def main() -> CurateResult:
        try:
            return await _loop(ds, ids, provider, prompt_for, first_style, opts, ledger, check, rounds, redo_styles,
                               run, on_round)
        finally:
            await provider.aclose()

    return asyncio.run(main())


async def _loop(ds, ids, provider, prompt_for, first_style, opts, ledger, check, rounds, redo_styles, run,
                on_round) -> CurateResult:
    run = run or describe_round
    reports: list[RoundReport] = []
    spent = 0.0
    todo: list[str] = list(ids)
    redo: list[str] | None = None
    failing: list[str] = []
    for number in range(1, rounds + 1):
        strategy = "first" if number == 1 else redo_styles[min(number - 2, len(redo_styles) - 1)]
        style = first_style if strategy in ("first", "same") else strategy
        round_opts = opts
        if opts.max_cost is not None:
            round_opts = dataclasses.replace(opts, max_cost=max(0.0, opts.max_cost - spent))
        t0 = time.perf_counter()
        summary = await run(ds, todo, provider, prompt_for(style), round_opts, ledger, redo=redo, label=f"round {number}")
        spent += summary["cost_usd"]
        checked, failing, fixable = check(list(ids))
        report = RoundReport(number, strategy, style, len(todo), summary.get("answers", 0), summary["api_attempts"],
                             summary["cost_usd"], round(spent, 6), checked.get("agreement"), checked.get("agreeing", 0),
                             checked.get("graded", 0), len(failing), len(fixable), round(time.perf_counter() - t0, 3),
                             summary)
        reports.append(report)
        if on_round:
            on_round(report)
        if summary.get("interrupted"):
            return CurateResult(reports, "interrupted", failing)
        if summary.get("stopped"):
            return CurateResult(reports, "api", failing, summary["stopped"], summary.get("stopped_kind"))
        if not failing:
            return CurateResult(reports, "all-agree", failing)
        if summary.get("counts", {}).get("unaffordable"):
            return CurateResult(reports, "max-cost", failing)
        if not fixable:
            return CurateResult(reports, "nothing-to-redo", failing)
        todo = redo = fixable
    return CurateResult(reports, "rounds", failing)
