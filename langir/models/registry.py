"""A registry of named model constructors, the way timm / open_clip present models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from langir.errors import ConfigError

LOSSES = ("bce_deep", "softiou", "bce")


@dataclass(frozen=True)
class ModelInfo:
    """What the training engine needs to know about a registered model."""

    name: str
    constructor: Callable[..., nn.Module]
    default_loss: str
    uses_language: bool
    defaults: dict = field(default_factory=dict)
    description: str = ""

    def get(self, key: str, default=None):  # dict-style access for callers that expect a mapping
        return getattr(self, key, default)

    def __getitem__(self, key: str):
        return getattr(self, key)


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(name: str, default_loss: str = "bce", uses_language: bool = False, **defaults):
    """Decorator: register `fn(**kwargs) -> nn.Module` under `name` with its default kwargs."""
    if default_loss not in LOSSES:
        raise ValueError(f"default_loss must be one of {LOSSES}")

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelInfo(name, fn, default_loss, uses_language, dict(defaults), doc[0] if doc else "")
        return fn

    return wrap


def list_models() -> list[str]:
    """Names of all registered models."""
    return sorted(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """Registry entry of `name`; ConfigError listing the known names when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model; `kwargs` override its registered defaults."""
    info = model_info(name)
    model = info.constructor(**{**info.defaults, **kwargs})
    model.model_name = name
    return model
