"""What a describe run is asked to do, as one value, and the provider, prompt and options built from it.

`RunSettings` holds the choices `langir describe` and `langir curate` share (their flags, by keyword);
`build_run` turns them into the objects the runner takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langir.data.dataset import LangIRDataset
from langir.describe.options import DescribeOptions
from langir.describe.prompts import Prompt
from langir.describe.providers import Provider
from langir.errors import ConfigError

DETAILS = ("low", "high", "auto")
TEMPLATE_STYLES = ("rich", "quadrant")


@dataclass(frozen=True)
class RunSettings:
    """Provider, prompt, request and money settings of a run (the CLI flags of the same names)."""

    provider: str = "auto"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float = 60.0
    template_style: str = "rich"
    prompt_style: str = "system"
    prompt_file: Path | None = None
    shots_from: str | None = None
    shots_file: Path | None = None
    num_shots: int = 2
    max_words: int = 50
    structured: bool = False
    detail: str = "auto"
    max_side: int = 1024  # 0: the provider's limit only
    max_tokens: int = 300
    temperature: float = 0.0
    concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    retries: int = 5
    backoff: float = 1.0
    invalid_retries: int = 2
    max_cost: float | None = None
    prices: Path | None = None
    overwrite: bool = False
    skip_bad: bool = False
    no_target_fallback: bool = True
    batch_max_requests: int | None = None
    batch_max_bytes: int | None = None

    def check(self) -> None:
        """The choices click does not check itself (one line each, ConfigError)."""
        if self.detail not in DETAILS:
            raise ConfigError(f"--detail must be low, high or auto, not {self.detail!r}")
        if self.template_style not in TEMPLATE_STYLES:
            raise ConfigError(f"--template-style must be rich or quadrant, not {self.template_style!r}")

    def options(self) -> DescribeOptions:
        """The runner's options."""
        from langir.describe.options import RetryPolicy
        from langir.describe.pricing import load_prices

        return DescribeOptions(
            max_words=self.max_words, max_tokens=self.max_tokens, temperature=self.temperature, detail=self.detail,
            max_side=self.max_side or None, concurrency=self.concurrency, rpm=self.rpm, tpm=self.tpm,
            max_cost=self.max_cost, overwrite=self.overwrite, invalid_retries=self.invalid_retries,
            skip_bad=self.skip_bad, retry=RetryPolicy(attempts=self.retries, initial=self.backoff),
            prices=load_prices(self.prices), no_target_fallback=self.no_target_fallback,
        )


def build_run(ds: LangIRDataset, settings: RunSettings, dry_run: bool = False,
              notice: Callable[[str], None] | None = None) -> tuple[Provider, Prompt, DescribeOptions]:
    """Provider, prompt and options of a run; `notice` gets the line saying which provider was chosen.

    A dry run sends nothing, so an explicitly named remote provider needs no key for it. Few-shot
    examples go to remote providers only (the template provider reads masks, not examples).
    """
    from langir.describe.options import check_prices
    from langir.describe.prompts import load_prompt
    from langir.describe.providers import choose_provider, make_provider
    from langir.describe.selection import select_shots

    s = settings
    choice = choose_provider(s.provider, s.api_key_env, s.base_url, require_key=not dry_run)
    if notice is not None:
        notice(choice.notice)
    prov = make_provider(choice, s.model, s.base_url, s.timeout, s.template_style,
                         batch_max_requests=s.batch_max_requests, batch_max_bytes=s.batch_max_bytes)
    if prov.remote:
        shots = select_shots(ds, s.shots_from, s.shots_file, s.num_shots, s.max_side or None, prov)
        prompt = load_prompt(s.prompt_style, s.prompt_file, s.max_words, shots, s.structured)
    else:
        style = s.prompt_style if s.prompt_style != "few-shot" else "system"
        prompt = load_prompt(style, s.prompt_file, s.max_words, structured=s.structured)
    opts = s.options()
    check_prices(prov, opts)
    return prov, prompt, opts
