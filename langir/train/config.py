"""Training configuration: defaults from LGNet §5.2, a TOML file, and flags (flags win; see :func:`config_from_options`)."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from langir.errors import ConfigError

SCHEDULES = ("cosine", "poly")
LOSSES = ("auto", "bce_deep", "softiou", "bce")
PRIORS = ("auto", "never", "train-only", "train+test")
PHASES = ("auto", "main", "pretrain", "both")
INPUTS = ("crop", "resize")


@dataclass
class TrainConfig:
    """Every knob of a training run; saved as RUN/config.toml."""

    dataset: str = ""
    more_datasets: list[str] = field(default_factory=list)  # `langir train D1 D2 …`: each with its own layout/splits
    out: str = "runs/train"
    model: str = "lgnet"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    # dataset layout (the CLI's shared options)
    layout: str = "auto"
    images: str = ""
    masks: str = ""
    descriptions: str = ""
    split_files: dict[str, str] = field(default_factory=dict)
    train_split: str = ""  # "" → trainval when there is a test split (community protocol), else train, else all
    val_split: str = ""  # "" → test after trainval, else val, else test, else the training ids
    skip_bad: bool = False  # leave out unreadable samples / mismatched masks (listed) instead of stopping
    # optimisation (paper §5.2)
    epochs: int = 600
    batch_size: int = 8
    size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 10
    schedule: str = "cosine"
    min_lr: float = 0.0
    loss: str = "auto"
    hflip: bool = True
    vflip: bool = True
    transpose: bool = True
    input: str = "crop"  # crop: size×size windows at native scale; resize: the whole image to size×size (paper §5.2)
    target_crop: float = 0.5  # share of crops centred on a target (the rest are uniform but still hold one)
    init_from: str = ""  # start from these weights (no optimizer state, epoch 1)
    # language prior (Table 2)
    language_prior: str = "auto"  # auto → train-only for models with a language input, else never
    clip_model: str = "ViT-B-16"
    clip_pretrained: str = "openai"
    cache_dir: str = ""  # "" → DATASET/.langir/embeddings, or the user cache when the dataset is read-only
    finetune_text: bool = False  # train CLIP's text encoder with the detector (LangIR §3; langir.language.text_tower)
    text_lr_scale: float = 0.1  # its lr = lr × this (see langir.language.text_tower for why 0.1)
    text_layers: int = 0  # 0: every text block; N: only the last N blocks (+ final LayerNorm and projection)
    # runtime
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    workers: int = 0
    seed: int = 0
    val_every: int = 1
    threshold: float = 0.5
    tensorboard: bool = True
    phase: str = "auto"  # auto → the model's default (dgspnet: both)

    def checked(self) -> TrainConfig:
        """This config, once every value can work (ConfigError naming the first that cannot)."""
        checks = [
            (self.epochs >= 1, "epochs must be ≥ 1"),
            (self.batch_size >= 1, "batch size must be ≥ 1"),
            (self.size >= 32 and self.size % 32 == 0, f"size must be a multiple of 32 (≥ 32), got {self.size}"),
            (self.lr > 0, "lr must be > 0"),
            (self.weight_decay >= 0, "weight_decay must be ≥ 0"),
            (self.min_lr >= 0, "min_lr must be ≥ 0"),
            (self.workers >= 0, "workers must be ≥ 0"),
            (0.0 < self.threshold < 1.0, "threshold must be in (0, 1)"),
            (0.0 <= self.target_crop <= 1.0, "target_crop must be in [0, 1]"),
            (self.input in INPUTS, f"input must be one of {', '.join(INPUTS)}"),
            (self.text_lr_scale > 0, "text_lr_scale must be > 0"),
            (self.text_layers >= 0, "text_layers must be ≥ 0 (0 = every block)"),
            (not self.finetune_text or self.language_prior in ("auto", "train-only", "train+test"),
             "--finetune-text needs a language prior (train-only or train+test), not never"),
            (self.warmup_epochs >= 0, "warmup epochs must be ≥ 0"),
            (self.val_every >= 1, "val_every must be ≥ 1"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}"),
            (self.language_prior in PRIORS, f"language prior must be one of {', '.join(PRIORS)}"),
            (self.phase in PHASES, f"phase must be one of {', '.join(PHASES)}"),
            (self.device in ("auto", "cpu", "mps") or self.device.startswith("cuda"), "device must be auto, cpu, cuda or mps"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}")
        return cls(**check_types(data, where))


def _type_ok(value: Any, default: Any) -> bool:
    # bool is an int in Python: `lr = true` must not pass as 1.0, nor `epochs = true` as 1.
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, dict):
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, type(default))


def check_types(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Each value against its default's type (ints accepted for floats); ConfigError naming the key."""
    defaults = TrainConfig().to_dict()
    out = dict(data)
    for key, value in data.items():
        if key not in defaults:
            continue
        if not _type_ok(value, defaults[key]):
            kind = {dict: "table", list: "list of strings"}.get(type(defaults[key]), type(defaults[key]).__name__)
            raise ConfigError(f"{where}: {key} should be {kind}, got {value!r}")
        if isinstance(defaults[key], float):
            out[key] = float(value)
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config; top-level keys or a [train] table. Types are checked (key named on error)."""
    from langir.data.guarded import read_text  # a FIFO, a huge or a binary file: one line, no hang

    path = Path(path)  # missing, a folder, a FIFO, binary: the guarded reader's one line
    try:
        data = tomllib.loads(read_text(path, "config file"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from error
    data = data.get("train", data)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [train] should be a table")
    return check_types(data, str(path))


def dump_toml(config: TrainConfig) -> str:
    """The config as TOML under ``[train]`` (tomli-w: strings with quotes or newlines stay valid TOML)."""
    import tomli_w

    return "# langir train: resolved configuration of this run\n" + tomli_w.dumps({"train": config.to_dict()})


# what `--resume` takes from the command line (how long, where, and how it is watched); every other
# setting is the run's own (config.toml), so that the run continues as it began
RESUME_TAKES = ("epochs", "out", "device", "workers", "val_every", "tensorboard")


def resumed(saved: TrainConfig, given: TrainConfig) -> TrainConfig:
    """The run's saved config with what `--resume` takes from the command line (`RESUME_TAKES`) from `given`."""
    return replace(saved, **{k: getattr(given, k) for k in RESUME_TAKES})


_NOT_SETTINGS = frozenset({"dataset", "more_datasets", "layout", "images", "masks", "descriptions", "split_files"})


def _resume_config(config: TrainConfig, given: set[str], run: Path) -> TrainConfig:
    """``config`` for --resume of RUN: what was not given now (--epochs, say) is the run's own, from its
    config.toml (rewritten at each start, so it holds the last resume's --epochs); a setting given now that
    differs from the run's would be ignored, so it is refused (a smaller --batch-size after running out of
    memory must not pass unheard)."""
    saved_path = run / "config.toml"
    if not saved_path.is_file():  # no run there: the run-folder checks say so
        return config
    saved = TrainConfig.from_dict(load_toml(saved_path), where=str(saved_path))
    differ = [k for k in sorted(given - set(RESUME_TAKES)) if hasattr(saved, k) and getattr(config, k) != getattr(saved, k)]
    if differ:
        shown = ", ".join(f"{k} = {getattr(config, k)!r} (the run's: {getattr(saved, k)!r})" for k in differ)
        takes = ", ".join("--" + k.replace("_", "-") for k in RESUME_TAKES if k != "out")
        raise ConfigError(f"--resume continues {run} with its own settings ({saved_path}) and takes only {takes} "
                          f"from the command line; {shown} would be ignored: drop them, or start a new run "
                          f"from its weights with --init-from {run / 'last.pt'} --out NEW_RUN")
    return replace(config, **{k: getattr(saved, k) for k in RESUME_TAKES if k not in given and k != "out"})


def config_from_options(options: dict[str, Any], datasets: list[str | Path], *, config_file: str | Path | None = None,
                        layout: str = "auto", images: str | None = None, masks: str | None = None,
                        descriptions: str | None = None, split_files: dict[str, Any] | None = None,
                        selected: list[str] | tuple[str, ...] = (), resume: bool = False, overwrite: bool = False,
                        ) -> TrainConfig:
    """The run's config from ``langir train``'s options: defaults, then the ``--config`` TOML, then the flags.

    ``options`` maps TrainConfig keys to flag values (None = not given; paths become strings; a
    ``clip_pretrained`` of "none" means no weights). Bare ``--split`` names (``selected``) pick the training
    split, then the validation split. Contradicting run modes (--resume with --overwrite or --init-from,
    --resume without a run folder) are a ConfigError.
    """
    values = load_toml(config_file) if config_file else {}
    flags = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if v is not None}
    if str(flags.get("clip_pretrained", "x")).lower() in ("none", ""):
        flags["clip_pretrained"] = ""
    if selected and "train_split" not in flags:
        flags["train_split"] = selected[0]
    if len(selected) > 1 and "val_split" not in flags:
        flags["val_split"] = selected[1]
    values.update(flags)
    values.update(dataset=str(datasets[0]), more_datasets=[str(d) for d in datasets[1:]], layout=layout, images=images or "",
                  masks=masks or "", descriptions=descriptions or "",
                  split_files={k: str(v) for k, v in (split_files or {}).items()})
    config = TrainConfig.from_dict(values, where=str(config_file) if config_file else "options").checked()
    if resume and not values.get("out"):
        raise ConfigError("--resume needs --out RUN (the run folder to continue)")
    if resume and not overwrite:
        config = _resume_config(config, set(values) - _NOT_SETTINGS, Path(config.out))
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    if resume and flags.get("init_from"):
        raise ConfigError("--resume continues a run; --init-from starts a new one from weights: pick one")
    return config
