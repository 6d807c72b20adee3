"""`langir validate`: description QA grounded in the masks."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from langir.cli.common import (
    DatasetArg,
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SplitOpt,
    literal,
    notice,
    open_dataset,
    out,
    print_json,
    progress_bar,
    selected_ids,
    warn,
)


class Strictness(StrEnum):
    grid = "grid"
    broad = "broad"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _print_summary(summary: dict, failing: list[tuple[str, str, str]], shown: int = 10) -> None:
    table = Table(title=f"Grounding agreement ({summary['strictness']})", title_justify="left")
    for head in ("split", "images", "graded", "agreeing", "agreement", "failing"):
        table.add_column(head, justify="left" if head == "split" else "right")
    for name, block in [("all", summary), *summary["per_split"].items()]:
        table.add_row(name, str(block["images"]), str(block["graded"]), str(block["agreeing"]),
                      _pct(block["agreement"]), str(block["failing"]))
    out.print(table)
    both = summary["agreement_by_strictness"]
    out.print("agreement by strictness: " + ", ".join(f"{k} {_pct(v)}" for k, v in both.items())
              + f" (verdicts use {summary['strictness']})")
    out.print("verdicts: " + ", ".join(f"{k} {v}" for k, v in summary["verdicts"].items()))
    _print_scores(summary.get("grounding_scores", []))
    if summary.get("accepted_by_person"):
        out.print(f"accepted by a person (in langir review, passing): {len(summary['accepted_by_person'])}")
    kinds = {k: v for k, v in summary["failures"].items() if v}
    out.print("failures: " + (", ".join(f"{k} {v}" for k, v in kinds.items()) or "none"))
    for sample_id, kinds_text, error in failing[:shown]:
        detail = f" ({error})" if error else ""
        out.print(f"  [red]{literal(sample_id)}[/]: {literal(kinds_text)}{literal(detail)}", highlight=False, soft_wrap=True)
    if len(failing) > shown:
        out.print(f"  … and {len(failing) - shown} more (see --out CSV)")


def _print_scores(scores: list[dict]) -> None:
    """Grounding per provider / model / prompt style, shown when the answers' sources or numbers are known."""
    if not any(s["provider"] != "-" or s["coordinate_answers"] for s in scores):
        return
    table = Table(title="Grounding per model (words and coordinates judged apart)", title_justify="left")
    for head in ("provider", "model", "prompt", "answers", "agreement", "words", "coordinates", "ambiguous",
                 "point hit", "false point"):
        table.add_column(head, justify="left" if head in ("provider", "model", "prompt") else "right")
    for s in scores:
        table.add_row(literal(s["provider"]), literal(s["model"]), literal(s["prompt_style"]), str(s["answers"]),
                      _pct(s["agreement"]), f"{_pct(s['words'])} ({s['words_answers']})",
                      f"{_pct(s['coordinates'])} ({s['coordinate_answers']})", str(s["ambiguous"]),
                      _pct(s["point_hit"]), _pct(s["false_point"]))
    out.print(table)


def validate_cmd(
    dataset: DatasetArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    max_words: Annotated[int, typer.Option("--max-words", min=1, help="Longest allowed description in words (paper: 50).")] = 50,
    tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, max=0.5, help="Slack around claimed regions, as a fraction of the image side.")] = 0.05,
    strictness: Annotated[Strictness, typer.Option("--strictness", help="grid: 'upper left' is the 3×3 cell VLMs name; broad: the half-planes (quadrants). Half/quadrant/side words are half-planes in both.", case_sensitive=False)] = Strictness.grid,
    max_errors: Annotated[int, typer.Option("--max-errors", min=0, help="Exit with code 1 when more images than this fail.")] = 0,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Failure kind that does not make an image fail (repeatable), e.g. too-long.", show_default=False)] = None,
    out_csv: Annotated[Path | None, typer.Option("--out", help="Write the per-image table as CSV (atomically).", show_default=False)] = None,
    write_ids: Annotated[Path | None, typer.Option("--write-ids", help="Write the ids a new description would fix, one a line (for `langir describe --ids`).", show_default=False)] = None,
    do_quarantine: Annotated[bool, typer.Option("--quarantine", help="Move failing descriptions into <descriptions>/.quarantine/ (never deletes).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check each description and ground it in its mask: agrees / contradicts / ambiguous / vague / no-target.

    Per image: description present, UTF-8, non-empty, at most --max-words words, not a refusal,
    names a region for the target, counts no more targets than the mask has; then every region the
    text claims for the target ("upper left", "near the center", "at two o'clock", "top-left
    quadrant") must hold a target centroid. Positions of other things (clouds, tree line,
    buildings) and negated places ("not in the lower half") are not claims; several targets are
    matched one to one. Positions written as numbers are read too (pixel points and boxes, 0–1
    fractions, 0–1000 grids, percentages, Qwen bbox_2d/point_2d, Gemini box_2d, Molmo points,
    grounding tags) on the scale the text states, else the model's convention from the describe
    ledger; a point must fall in a target's box (grown by --tolerance), a box must hold a centroid.
    Words and numbers that disagree fail; numbers readable on two scales with different verdicts
    are "ambiguous". Unreadable or missing files are reported per id. Exit code 1 when more than
    --max-errors images fail.

    [bold]Example:[/] langir validate datasets/demo --out validate.csv --write-ids redo.txt --max-errors 5
    """
    from langir.curate.validate import FAILURE_KINDS, quarantine, validate_dataset
    from langir.data.atomic import write_text_atomic
    from langir.errors import ConfigError

    ignore = ignore or []
    bad = [k for k in ignore if k not in FAILURE_KINDS]
    if bad:
        raise ConfigError(f"--ignore: unknown failure kind {bad[0]!r} (known: {', '.join(FAILURE_KINDS)})")
    ds, selected = open_dataset(dataset, layout, images, masks, descriptions, split)
    ids = selected_ids(ds, selected)
    with progress_bar() as bar:
        task = bar.add_task("validating", total=len(ids), status="")
        result = validate_dataset(ds, ids, max_words, tolerance, ignore, on_item=lambda _: bar.advance(task),
                                  strictness=strictness.value)
    summary = result.summary()
    failing = result.failing
    if out_csv is not None:
        write_text_atomic(out_csv, result.table.to_csv(index=False))
        summary["csv"] = str(out_csv)
    redo = result.redescribe_ids()
    if write_ids is not None:
        write_text_atomic(write_ids, "".join(f"{i}\n" for i in redo))
        summary["ids_file"] = str(write_ids)
    summary["failing_ids"] = failing["id"].tolist()
    from langir.describe.human import accepted_ids  # `langir review`: texts a person accepted (they pass)

    summary["accepted_by_person"] = accepted_ids(result.table)
    moved = quarantine(ds, redo) if do_quarantine else []
    summary["quarantined"] = [[str(a), str(b)] for a, b in moved]
    exit_code = 1 if len(failing) > max_errors else 0
    summary["max_errors"] = max_errors
    summary["passed"] = exit_code == 0
    summary["ledger_problems"] = result.ledger_problems
    for problem in result.ledger_problems:  # the texts were all judged; only the per-model table is lost
        warn(problem)
    if as_json:
        print_json(summary)
    else:
        details = [e or r for e, r in zip(failing["error"], failing["reason"], strict=True)]  # file problem, else why
        _print_summary(summary, list(zip(failing["id"], failing["failures"], details, strict=True)))
        if out_csv is not None:
            notice(f"wrote {out_csv}")
        if write_ids is not None:
            notice(f"wrote {len(redo)} id(s) to {write_ids}")
        if moved:
            notice(f"moved {len(moved)} description(s) to {moved[0][1].parent}")
    if exit_code:
        warn(f"{len(failing)} image(s) failed, more than --max-errors {max_errors}")
        raise typer.Exit(exit_code)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_cmd)
