"""Training configuration: defaults from LGNet §5.2, a TOML file, and flags (flags win)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

from langir.errors import ConfigError

SCHEDULES = ("cosine", "poly")
LOSSES = ("auto", "bce_deep", "softiou", "bce")
PRIORS = ("auto", "never", "train-only", "train+test")
PHASES = ("main", "pretrain", "both")


@dataclass
class TrainConfig:
    """Every knob of a training run; saved as RUN/config.toml."""

    dataset: str = ""
    out: str = "runs/train"
    model: str = "lgnet"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    # dataset layout (the CLI's shared options)
    layout: str = "auto"
    images: str = ""
    masks: str = ""
    descriptions: str = ""
    split_files: dict[str, str] = field(default_factory=dict)
    train_split: str = ""  # "" → train, else trainval, else every image
    val_split: str = ""  # "" → val, else test, else the training ids
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
    # language prior (Table 2)
    language_prior: str = "auto"  # auto → train-only for models with a language input, else never
    clip_model: str = "ViT-B-16"
    clip_pretrained: str = "openai"
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
    phase: str = "main"

    def validate(self) -> TrainConfig:
        """Raise ConfigError for values that cannot work."""
        checks = [
            (self.epochs >= 1, "epochs must be ≥ 1"),
            (self.batch_size >= 1, "batch size must be ≥ 1"),
            (self.size >= 32 and self.size % 32 == 0, f"size must be a multiple of 32 (≥ 32), got {self.size}"),
            (self.lr > 0, "lr must be > 0"),
            (self.warmup_epochs >= 0, "warmup epochs must be ≥ 0"),
            (self.val_every >= 1, "val_every must be ≥ 1"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}"),
            (self.language_prior in PRIORS, f"language prior must be one of {', '.join(PRIORS)}"),
            (self.phase in PHASES, f"phase must be one of {', '.join(PHASES)}"),
            (self.device in ("auto", "cpu") or self.device.startswith("cuda"), "device must be auto, cpu or cuda"),
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
        try:
            return cls(**data)
        except TypeError as error:
            raise ConfigError(f"{where}: {error}") from error


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config; top-level keys or a [train] table."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"config file not found: {path}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from error
    data = data.get("train", data)
    defaults = TrainConfig().to_dict()
    for key, value in data.items():
        # TOML has no None, so empty strings stand for "unset"; types must match the defaults.
        if key in defaults and defaults[key] is not None and not isinstance(value, type(defaults[key])):
            if not (isinstance(defaults[key], float) and isinstance(value, int)):
                raise ConfigError(f"{path}: {key} should be {type(defaults[key]).__name__}, got {value!r}")
            data[key] = float(value)
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def dump_toml(config: TrainConfig) -> str:
    """The config as a flat TOML document (hand-written: the stdlib reads TOML but cannot write it)."""
    lines = ["# langir train: resolved configuration of this run", "[train]"]
    lines += [f"{_key(k)} = {_toml_value(v)}" for k, v in config.to_dict().items()]
    return "\n".join(lines) + "\n"
