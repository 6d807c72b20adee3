"""Option types `langir describe` and `langir curate` share, and parse-time checks of numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from langir.describe.providers import DEFAULT_MODELS, REGISTRY, provider_names
from langir.errors import ConfigError

API_PANEL = "API and limits"
PROMPT_PANEL = "Prompt"
REDO_PANEL = "Redo and repair"


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
PromptStyleOpt = Annotated[str, typer.Option("--prompt-style", help="system | few-shot | zero-shot | grounded (files in prompts/; grounded gives the VLM the mask's regions as a hint).", rich_help_panel=PROMPT_PANEL)]
MaxWordsOpt = Annotated[int, typer.Option("--max-words", help="Word limit put in the prompt and checked on replies.", rich_help_panel=PROMPT_PANEL, callback=at_least("--max-words", 1))]
DetailOpt = Annotated[str, typer.Option("--detail", help="OpenAI image detail: low | high | auto.", rich_help_panel=API_PANEL)]
MaxSideOpt = Annotated[int, typer.Option("--max-side", help="Downscale images whose longer side exceeds this (0 = provider limit only).", rich_help_panel=API_PANEL, callback=at_least("--max-side", 0))]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", help="Reply token cap.", rich_help_panel=API_PANEL, callback=at_least("--max-tokens", 1))]
TemperatureOpt = Annotated[float, typer.Option("--temperature", help="Sampling temperature of first asks; re-asks use at least 0.7 (asking again at 0 buys the same answer).", rich_help_panel=API_PANEL, callback=at_least("--temperature", 0))]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", help="Requests in flight at once.", rich_help_panel=API_PANEL, callback=at_least("--concurrency", 1))]
RpmOpt = Annotated[float | None, typer.Option("--rpm", help="Requests-per-minute limit.", rich_help_panel=API_PANEL, show_default=False, callback=above("--rpm", 0))]
TpmOpt = Annotated[float | None, typer.Option("--tpm", help="Tokens-per-minute limit (estimated input + max output).", rich_help_panel=API_PANEL, show_default=False, callback=above("--tpm", 0))]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per request before it counts as timed out (then retried).", rich_help_panel=API_PANEL, callback=above("--timeout", 0))]
RetriesOpt = Annotated[int, typer.Option("--retries", help="Attempts per request on 429/5xx/529/timeouts.", rich_help_panel=API_PANEL, callback=at_least("--retries", 1))]
BackoffOpt = Annotated[float, typer.Option("--backoff", help="First backoff wait in seconds (doubles, with jitter, max 60).", rich_help_panel=API_PANEL, callback=at_least("--backoff", 0))]
InvalidRetriesOpt = Annotated[int, typer.Option("--invalid-retries", help="Answers bought again (at temperature ≥ 0.7) when one fails validation.", rich_help_panel=API_PANEL, callback=at_least("--invalid-retries", 0))]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", help="Hard budget in USD: a request is sent only if the spend so far plus the worst case of all requests in flight stays within it.", rich_help_panel=API_PANEL, show_default=False, callback=at_least("--max-cost", 0))]
PricesOpt = Annotated[Path | None, typer.Option("--prices", help="JSON price table {model: [USD per M input, per M output]}.", rich_help_panel=API_PANEL, show_default=False)]
FallbackOpt = Annotated[bool, typer.Option("--no-target-fallback/--leave-undescribed", help="Empty mask and every answer claims a target: write the template's no-target sentence (recorded in the ledger), or leave the image undescribed.", rich_help_panel=REDO_PANEL)]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Wait for another run on this dataset to finish instead of exiting 2.")]
RepairOpt = Annotated[bool, typer.Option("--repair", help="Move a corrupt ledger aside (describe.sqlite.corrupt-DATE) and rebuild it from the description files.", rich_help_panel=REDO_PANEL)]
BatchMaxRequestsOpt = Annotated[int | None, typer.Option("--batch-max-requests", help="With --batch: at most N requests per submitted batch (default: the provider's documented limit; lower it for a smaller quota).", rich_help_panel=API_PANEL, show_default=False, callback=at_least("--batch-max-requests", 1))]
BatchMaxBytesOpt = Annotated[int | None, typer.Option("--batch-max-bytes", help="With --batch: at most N bytes per submitted batch file (default: the provider's documented limit).", rich_help_panel=API_PANEL, show_default=False, callback=at_least("--batch-max-bytes", 1024))]
StructuredOpt = Annotated[bool | None, typer.Option("--structured/--plain", help="Ask for one JSON answer {description, targets: [{point, box}]} through the provider's own structured-output mechanism; the text goes to the description file, the targets (pixels of the original image) beside it. Default: `structured` in langir.toml's [describe], else plain.", rich_help_panel=PROMPT_PANEL, show_default=False)]
StrictnessOpt = Annotated[str | None, typer.Option("--strictness", help="Grounding strictness for `failing` (broad | grid; default: validate's).", rich_help_panel=REDO_PANEL, show_default=False)]
