"""A registry of named model constructors, the way timm / open_clip present models.

Everything the training engine, the CLI and the profiler need to know about a model lives on its
:class:`ModelInfo` entry, so no caller ever branches on a model's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from langir.errors import ConfigError

LOSSES = ("bce_deep", "softiou", "bce")
PHASES = ("main", "pretrain", "both")
# Share of target pixels in IRSTD masks, the prior the output biases start at (see prior_logit).
FOREGROUND_PRIOR = 0.0017


def prior_logit(prior: float = FOREGROUND_PRIOR) -> float:
    """log(π / (1 − π)): the logit whose sigmoid is the foreground prior π (−6.38 for 0.17 %)."""
    prior = min(max(float(prior), 1e-6), 0.5)
    return math.log(prior / (1 - prior))


@dataclass(frozen=True)
class ModelInfo:
    """What the training engine, the CLI and the profiler need to know about a registered model.

    * ``default_loss`` — the loss ``--loss auto`` picks.
    * ``uses_language`` — takes the CLIP target descriptor (``td``); decides ``--language-prior auto``.
    * ``needs_clip`` — the constructor takes ``clip_model`` / ``clip_pretrained`` (from the run's CLIP flags).
    * ``phases`` — the training phases it supports; ``default_phase`` is what ``--phase`` defaults to.
      The function that runs a ``pretrain`` phase is registered on the training side
      (``langir.train.pretraining.register_pretrain``): models never import the trainer.
    * ``pad_multiple`` — H and W are padded to a multiple of this inside the model.
    * ``output_bias`` — logit every 1-channel output starts at (None: the model's own init).
    * ``profile_kwargs`` — constructor options for profiling/export without downloaded weights.
    """

    name: str
    constructor: Callable[..., nn.Module]
    default_loss: str
    uses_language: bool
    defaults: dict = field(default_factory=dict)
    description: str = ""
    needs_clip: bool = False
    phases: tuple[str, ...] = ("main",)
    default_phase: str = "main"
    pad_multiple: int = 32
    output_bias: float | None = field(default_factory=prior_logit)
    profile_kwargs: dict = field(default_factory=dict)


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(name: str, default_loss: str = "bce", uses_language: bool = False, *, needs_clip: bool = False,
                   phases: tuple[str, ...] = ("main",), default_phase: str = "main",
                   pad_multiple: int = 32, output_bias: float | None = None, init_output_bias: bool = True,
                   profile_kwargs: dict | None = None, **defaults):
    """Decorator: register `fn(**kwargs) -> nn.Module` under `name` with its facts and default kwargs.

    ``output_bias`` defaults to :func:`prior_logit` (``init_output_bias=False`` keeps the model's own init).
    """
    if default_loss not in LOSSES:
        raise ValueError(f"default_loss must be one of {LOSSES}")
    if default_phase not in PHASES or any(p not in ("main", "pretrain") for p in phases):
        raise ValueError(f"phases must be drawn from main/pretrain and default_phase one of {PHASES}")
    if pad_multiple < 1:
        raise ValueError("pad_multiple must be ≥ 1")
    bias = (prior_logit() if output_bias is None else float(output_bias)) if init_output_bias else None

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelInfo(name, fn, default_loss, uses_language, dict(defaults), doc[0] if doc else "",
                                    needs_clip, tuple(phases), default_phase, pad_multiple, bias,
                                    dict(profile_kwargs or {}))
        return fn

    return wrap


def list_models() -> list[str]:
    """Names of all registered models."""
    return sorted(_REGISTRY)


def model_summaries() -> dict[str, str]:
    """Name → one-line summary of every registered model (for `--model` help)."""
    return {name: _REGISTRY[name].description for name in list_models()}


def model_info(name: str) -> ModelInfo:
    """Registry entry of `name`; ConfigError listing the known names when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model; `kwargs` override its registered defaults.

    A fresh model's 1-channel outputs start at the entry's ``output_bias`` (the foreground prior):
    loaded weights replace them anyway, so this only matters when training starts.
    """
    info = model_info(name)
    model = info.constructor(**{**info.defaults, **kwargs})
    if info.output_bias is not None and hasattr(model, "init_output_bias"):
        model.init_output_bias(info.output_bias)
    model.model_name = name
    return model
