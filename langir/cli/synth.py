"""`langir synth`: realistic synthetic IR data in LangIR layout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from langir.cli.common import JsonOpt, out, print_json, progress_bar


def synth(
    out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="Folder to write (created; must be empty unless --overwrite).")],
    count: Annotated[int, typer.Option("--count", help="Number of images.")] = 40,
    size: Annotated[str, typer.Option("--size", help="Image size: N or WxH.")] = "256",
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed → same bytes).")] = 0,
    test_fraction: Annotated[float, typer.Option("--test-fraction", help="Share of images in test.txt.")] = 0.2,
    max_targets: Annotated[int, typer.Option("--max-targets", help="Most targets in one image.")] = 3,
    empty_fraction: Annotated[float, typer.Option("--empty-fraction", help="Share of images without a target.")] = 0.15,
    snr: Annotated[str, typer.Option("--snr", help="Target SNR range LOW:HIGH over the sensor noise.")] = "3:8",
    bit_depth: Annotated[int, typer.Option("--bit-depth", help="PNG bit depth: 8 or 16.")] = 8,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into a non-empty folder.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write synthetic IR images with small targets, masks and trainval/test splits.

    [bold]Example:[/] langir synth /tmp/synth --count 100 --size 320x256 --seed 7
    """
    from langir.data.synth import parse_size, synthesize
    from langir.errors import ConfigError

    try:
        low, high = (float(v) for v in snr.split(":"))
    except ValueError:
        raise ConfigError(f"--snr expects LOW:HIGH, got {snr!r}") from None
    with progress_bar() as bar:
        task = bar.add_task("synthesizing", total=count, status="")
        report = synthesize(out_dir, count, parse_size(size), seed, test_fraction, max_targets, empty_fraction,
                            (low, high), bit_depth, overwrite, on_image=lambda _: bar.advance(task))
    if as_json:
        print_json(report.to_dict())
    else:
        out.print(f"wrote {report.count} images ({report.size[1]}×{report.size[0]}) to {report.out}: "
                  f"{report.targets} targets, {report.empty_images} images without target, splits {report.splits}",
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
