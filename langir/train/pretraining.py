"""Pretraining hooks: a model's phase 1, registered here on the training side (models never import train).

A model declares in its registry entry that it has a ``pretrain`` phase; the function that runs that phase
is registered with :func:`register_pretrain` under the model's name. The built-in hooks live in the
modules listed in ``BUILTIN``, imported the first time a hook is looked up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langir.errors import ConfigError

# hook(model, loader, config, run folder or None (ranks > 0), device) -> summary dict
PretrainHook = Callable[[Any, Any, Any, "Path | None", str], dict[str, Any]]
BUILTIN = ("langir.train.dgspnet_pretrain",)
_HOOKS: dict[str, PretrainHook] = {}


def register_pretrain(model_name: str) -> Callable[[PretrainHook], PretrainHook]:
    """Decorator: ``fn`` runs phase 1 of the registered model ``model_name``."""
    def wrap(fn: PretrainHook) -> PretrainHook:
        _HOOKS[model_name] = fn
        return fn
    return wrap


def pretrain_hook(model_name: str) -> PretrainHook:
    """The phase-1 hook of ``model_name``; ConfigError when none is registered."""
    if model_name not in _HOOKS:
        for module in BUILTIN:
            importlib.import_module(module)
    try:
        return _HOOKS[model_name]
    except KeyError:
        raise ConfigError(f"model {model_name!r} has a pretrain phase but no pretraining hook is registered for it "
                          "(langir.train.pretraining.register_pretrain)") from None


def run_pretrain_phase(setup: Any, model: Any, loader: Any) -> None:
    """The model's phase 1 (its registered hook), or load its result for ``--phase main``."""
    from langir.models.checkpoint import fit_state, read_state_dict

    info, run = setup.info, setup.run
    if "pretrain" not in info.phases or setup.payload is not None:
        return
    if setup.phase in ("pretrain", "both"):
        pretrain_hook(info.name)(model, loader, setup.config, run if setup.dist.is_main else None, setup.device)
    elif setup.config.init_from:
        pass  # weights (pre-trained phase 1 included) come from --init-from
    else:  # setup_run made sure it exists
        fit_state(model, read_state_dict(run / "pretrain.pt"), run / "pretrain.pt", "phase-1")
