"""`langir eval` in two calls: check the choices (before the dataset is opened), then score and finish.

`prepare_scoring` checks every choice and the output paths; `score` runs a checkpoint or reads
prediction PNGs, writes the prediction files, picks the Pd/Fa shown (pooled or per image), and
draws the sweep's curves. `table_rows` and `json_ready` shape the result for a table or JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langir.errors import ConfigError, DataError
from langir.evaluate.inference import DEFAULT_MAX_PIXELS

PD_FA_CHOICES = ("pooled", "per-image")


@dataclass(frozen=True)
class ScoreSettings:
    """The choices of a scoring run (the `langir eval` flags of the same names)."""

    threshold: float = 0.5
    thresholds: str | None = None  # a sweep: start:stop:step or a comma list
    curves: Path | None = None
    save_preds: Path | None = None
    pd_fa: str = "pooled"
    niou_empty: str = "zero"
    pd_matching: str = "greedy"
    device: str = "auto"
    batch_size: int = 8
    max_pixels: int = DEFAULT_MAX_PIXELS
    cache_dir: Path | None = None
    skip_bad: bool = False


@dataclass
class ScoreJob:
    """A checked scoring run: what to score, the sweep's thresholds, and where its files go."""

    preds: Path | None
    checkpoint: Path | None
    settings: ScoreSettings
    sweep: list[float] = field(default_factory=list)
    curve_path: Path = Path("curves.png")
    writer: Any = None  # PredictionWriter with --save-preds


def prepare_scoring(preds: Path | None, checkpoint: Path | None, settings: ScoreSettings) -> ScoreJob:
    """Check the choices and the output paths (one ConfigError line each); nothing is read or scored yet."""
    from langir.evaluate.metrics import NIOU_EMPTY_CHOICES, PD_MATCHING_CHOICES
    from langir.evaluate.outputs import PredictionWriter, check_out_dir, check_out_file
    from langir.evaluate.sweep import parse_thresholds

    s = settings
    if (preds is None) == (checkpoint is None):
        raise ConfigError("give exactly one of --preds DIR or --checkpoint CKPT")
    if s.niou_empty not in NIOU_EMPTY_CHOICES:
        raise ConfigError(f"--niou-empty must be one of {', '.join(NIOU_EMPTY_CHOICES)}")
    if s.pd_matching not in PD_MATCHING_CHOICES:
        raise ConfigError(f"--pd-matching must be one of {', '.join(PD_MATCHING_CHOICES)}")
    if s.pd_fa not in PD_FA_CHOICES:
        raise ConfigError(f"--pd-fa must be one of {', '.join(PD_FA_CHOICES)}")
    if preds is not None and not preds.is_dir():
        raise ConfigError(f"--preds {preds}: not a folder")
    if not 0.0 <= s.threshold < 1.0:
        raise ConfigError("--threshold must lie in [0, 1)")
    job = ScoreJob(preds, checkpoint, s, parse_thresholds(s.thresholds) if s.thresholds else [])
    if s.save_preds is not None:
        job.writer = PredictionWriter(check_out_dir(s.save_preds, "--save-preds"), threshold=s.threshold,
                                      pd_matching=s.pd_matching)
    job.curve_path = s.curves or (s.save_preds or Path(".")) / "curves.png"
    if job.sweep:
        check_out_file(job.curve_path, "--curves")
    return job


def score(job: ScoreJob, ds: Any, ids: list[str], name: Path, on_skip: Callable[[str, DataError], None] | None = None,
          on_progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Score `ids` of `ds` (named `name` in errors and the curves' title); the result dict of `langir eval --json`.

    `pd`/`fa` are the ones `pd_fa` chose; `pd_pooled`/`fa_pooled` and the per-image pair are always there.
    """
    from langir.evaluate.inference import evaluate_dataset, evaluate_folder, load_model, resolve_device

    s = job.settings
    common = {"threshold": s.threshold, "thresholds": job.sweep, "niou_empty": s.niou_empty,
              "pd_matching": s.pd_matching, "skip_bad": s.skip_bad, "on_skip": on_skip, "max_pixels": s.max_pixels}

    def on_result(pred: Any, mask: Any) -> None:
        if job.writer is not None:
            job.writer.write(pred.id, pred.image, pred.prob, mask)
        if on_progress is not None:
            on_progress()

    try:
        if job.checkpoint is not None:
            dev = resolve_device(s.device)
            model, meta = load_model(job.checkpoint, dev)
            result = evaluate_dataset(model, meta, ds, ids, device=dev, batch_size=s.batch_size, cache_dir=s.cache_dir,
                                      on_result=on_result, **common)
        else:
            result = evaluate_folder(job.preds, ds, ids, on_result=on_result, **common)  # type: ignore[arg-type]
        if result["images"] == 0:
            raise DataError(name, "no sample could be scored")
        if job.writer is not None:
            result.update(job.writer.finish())
    finally:  # an error or Ctrl-C: the writes under way end, queued ones are dropped
        if job.writer is not None:
            job.writer.close()
    result["pd_pooled"], result["fa_pooled"] = result["pd"], result["fa"]
    if s.pd_fa == "per-image":
        result["pd"], result["fa"] = result["pd_per_image"], result["fa_per_image"]
    result.update({"pd_fa": s.pd_fa, "niou_empty": s.niou_empty, "pd_matching": s.pd_matching})
    if job.sweep:
        from langir.evaluate.visualize import plot_curves

        plot_curves(_with_chosen_pd_fa(result["sweep"], s.pd_fa), job.curve_path, title=str(name))
        result["curves"] = str(job.curve_path)
    return result


def _with_chosen_pd_fa(rows: list[dict[str, Any]], pd_fa: str) -> list[dict[str, Any]]:
    if pd_fa != "per-image":
        return rows
    return [{**r, "pd": r["pd_per_image"], "fa": r["fa_per_image"]} for r in rows]


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows to show, by threshold: the sweep's (with the chosen Pd/Fa) and the main threshold's."""
    main = {**result}
    if "sweep" not in result:
        return [main]
    rows = _with_chosen_pd_fa(result["sweep"], result["pd_fa"])
    if all(r["threshold"] != result["threshold"] for r in rows):
        rows = sorted([*rows, main], key=lambda r: r["threshold"])
    return rows


def json_ready(value: Any) -> Any:
    """NaN (Pd with no GT target) → None, so the result is valid JSON."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value
