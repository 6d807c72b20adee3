"""`langir train`: train LGNet / SGEM-UNet / U-Net / DGSPNet (any registered model) with the optional CLIP prior."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from langir.cli.common import (
    DescriptionsOpt,
    ImagesOpt,
    JsonOpt,
    LayoutOpt,
    MasksOpt,
    SplitOpt,
    notice,
    open_dataset,
    print_json,
)

_OPT = "Optimisation"
_LANG = "Language prior"
_RUN = "Runtime"
_DATA = "Training data"
# Parameters of `train` that are not TrainConfig keys (the rest are, under these names where they differ).
NOT_TRAIN_OPTIONS = {"datasets", "layout", "images", "masks", "descriptions", "split", "config_file", "resume", "overwrite", "as_json"}
RENAMED = {"input_mode": "input", "compile_": "compile"}
MODEL_HELP = "Registered model (default lgnet); `langir train --help` lists them all."


def model_help() -> str:
    """--model help: every registered model with its one-line summary (imports the registry, so only on --help)."""
    import langir.models  # noqa: F401  (registers the built-in models)
    from langir.models.registry import model_summaries

    lines = "\n\n".join(f"[bold]{name}[/]: {summary}" for name, summary in model_summaries().items())
    return f"Registered model (default lgnet):\n\n{lines}"


class TrainCommand(TyperCommand):
    """Fills the --model help from the registry when help is shown (keeps `langir --help` free of torch)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        for param in self.params:
            if param.name == "model":
                param.help = model_help()
        super().format_help(ctx, formatter)


DatasetsArg = Annotated[list[Path], typer.Argument(help="Dataset folder(s); several are trained on together, each with its own layout and splits.", show_default=False)]


def train(
    datasets: DatasetsArg,
    layout: LayoutOpt = "auto",
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    descriptions: DescriptionsOpt = None,
    split: SplitOpt = None,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP, show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (last.pt, best.pt, metrics.csv, config.toml).", show_default=False)] = None,
    config_file: Annotated[Path | None, typer.Option("--config", help="TOML file with settings (flags win over it).", show_default=False)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last.pt.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run already in --out.")] = False,
    init_from: Annotated[Path | None, typer.Option("--init-from", help="Start from the weights of this checkpoint (new optimiser, epoch 1).", show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Epochs (default 600).", rich_help_panel=_OPT, show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Global batch size (default 8).", rich_help_panel=_OPT, show_default=False)] = None,
    size: Annotated[int | None, typer.Option("--size", min=32, help="Training crop / resize size, multiple of 32 (default 512).", rich_help_panel=_OPT, show_default=False)] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate of Adan (default 1e-3).", rich_help_panel=_OPT, show_default=False)] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", min=0.0, help="Weight decay (default 1e-4).", rich_help_panel=_OPT, show_default=False)] = None,
    warmup_epochs: Annotated[int | None, typer.Option("--warmup-epochs", min=0, help="Linear warm-up epochs (default 10).", rich_help_panel=_OPT, show_default=False)] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", help="cosine | poly decay after warm-up (default cosine).", rich_help_panel=_OPT, show_default=False)] = None,
    loss: Annotated[str | None, typer.Option("--loss", help="auto | bce_deep | softiou | bce (auto: the model's own).", rich_help_panel=_OPT, show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Random seed (default 0).", rich_help_panel=_OPT, show_default=False)] = None,
    input_mode: Annotated[str | None, typer.Option("--input", help="crop: size×size windows at native scale | resize: whole image to size×size as in the paper (default crop).", rich_help_panel=_DATA, show_default=False)] = None,
    target_crop: Annotated[float | None, typer.Option("--target-crop", min=0.0, max=1.0, help="Share of crops centred on a target (default 0.5; every crop keeps a target).", rich_help_panel=_DATA, show_default=False)] = None,
    transpose: Annotated[bool | None, typer.Option("--transpose/--no-transpose", help="Random transposes, with the description swapped to match (default on).", rich_help_panel=_DATA, show_default=False)] = None,
    skip_bad: Annotated[bool | None, typer.Option("--skip-bad", help="Leave out unreadable samples / mismatched masks (all listed) instead of stopping.", rich_help_panel=_DATA, show_default=False)] = None,
    train_split: Annotated[str | None, typer.Option("--train-split", help="Split to train on (default trainval when a test split exists, else train, else all).", rich_help_panel=_DATA, show_default=False)] = None,
    val_split: Annotated[str | None, typer.Option("--val-split", help="Split to validate on (default test after trainval, else val).", rich_help_panel=_DATA, show_default=False)] = None,
    language_prior: Annotated[str | None, typer.Option("--language-prior", help="never | train-only | train+test (default: train-only for models with a language input, never otherwise).", rich_help_panel=_LANG, show_default=False)] = None,
    clip_model: Annotated[str | None, typer.Option("--clip-model", help="open_clip model name (default ViT-B-16).", rich_help_panel=_LANG, show_default=False)] = None,
    clip_pretrained: Annotated[str | None, typer.Option("--clip-pretrained", help="open_clip weights tag (downloaded) or local checkpoint path; 'none' = untrained (default openai).", rich_help_panel=_LANG, show_default=False)] = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Embedding cache folder (default DATASET/.langir/embeddings; the user cache when the dataset is read-only).", rich_help_panel=_LANG, show_default=False)] = None,
    finetune_text: Annotated[bool | None, typer.Option("--finetune-text/--frozen-text", help="Train CLIP's text encoder with the model (LangIR §3 'fine-tuned CLIP text encoder'; default frozen, cached embeddings).", rich_help_panel=_LANG, show_default=False)] = None,
    text_lr_scale: Annotated[float | None, typer.Option("--text-lr-scale", help="With --finetune-text: the text encoder's lr = --lr × this (default 0.1).", rich_help_panel=_LANG, show_default=False)] = None,
    text_layers: Annotated[int | None, typer.Option("--text-layers", min=0, help="With --finetune-text: train only the last N text blocks (+ final norm, projection); 0 = all (default).", rich_help_panel=_LANG, show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto | cpu | cuda | mps (default auto).", rich_help_panel=_RUN, show_default=False)] = None,
    amp: Annotated[bool | None, typer.Option("--amp/--no-amp", help="bf16 autocast on GPU (default on).", rich_help_panel=_RUN, show_default=False)] = None,
    channels_last: Annotated[bool | None, typer.Option("--channels-last/--no-channels-last", help="channels_last memory format (default on; faster on GPUs and CPUs alike, not used on Apple MPS).", rich_help_panel=_RUN, show_default=False)] = None,
    compile_: Annotated[bool | None, typer.Option("--compile/--no-compile", help="torch.compile the model (default off).", rich_help_panel=_RUN, show_default=False)] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=0, help="DataLoader worker processes (default 0).", rich_help_panel=_RUN, show_default=False)] = None,
    val_every: Annotated[int | None, typer.Option("--val-every", min=1, help="Validate every N epochs (default 1).", rich_help_panel=_RUN, show_default=False)] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="auto | main | pretrain | both (auto: the model's default; dgspnet: both).", rich_help_panel=_RUN, show_default=False)] = None,
    tensorboard: Annotated[bool | None, typer.Option("--tensorboard/--no-tensorboard", help="Write TensorBoard logs to RUN/tb (default on).", rich_help_panel=_RUN, show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a segmentation model; LGNet gets the CLIP target descriptor (text + image embedding).

    Defaults follow LGNet §5.2: Adan, lr 1e-3, 10 warm-up epochs then cosine decay, weight decay
    1e-4, batch 8, 512×512 inputs + flips/transposes, full images at validation. Datasets with
    trainval and test splits (SIRST, IRSTD-1k) train on trainval and validate on test. Every sample
    is checked before epoch 1. Launch with `torchrun --nproc-per-node N -m langir train …` for several GPUs.

    [bold]Example[/] (offline, after `langir describe datasets/demo`): langir train datasets/demo --model lgnet --epochs 2
    --size 64 --clip-model langir-tiny --clip-pretrained none --out runs/demo
    """
    given = dict(locals())  # the parameters, before any other name is bound
    options = {RENAMED.get(k, k): v for k, v in given.items() if k not in NOT_TRAIN_OPTIONS}
    from langir.train.config import config_from_options
    from langir.train.engine import train as run_train

    ds, selected = open_dataset(datasets[0], layout, images, masks, descriptions, split)
    config = config_from_options(options, datasets, config_file=config_file, layout=layout, images=images, masks=masks,
                                 descriptions=descriptions, split_files=ds.layout.splits, selected=selected,
                                 resume=resume, overwrite=overwrite)
    summary = run_train(config, resume=resume, overwrite=overwrite, quiet=as_json)
    summary.pop("rows", None)
    if as_json:
        print_json(summary)
    else:
        best = summary.get("best") or {}
        iou = f", best val IoU {best['iou']:.4f} at epoch {best['epoch']}" if "iou" in best else ""
        skipped = f" ({len(summary['skipped'])} bad sample(s) skipped)" if summary.get("skipped") else ""
        notice(f"done: {summary['run']}{iou}{skipped}", style="green")
    if summary.get("skipped"):  # finished, but some samples failed: the contract's exit 1
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("train", cls=TrainCommand)(train)
