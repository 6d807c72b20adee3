"""Optional dependencies: which extra provides a module, and one clear error when it is missing.

The base install (describe, curate, eval from PNGs) needs no torch. Commands that do need an extra
call `require("torch", "train")` (or just import it: `langir.cli.main` turns a ModuleNotFoundError
of a module listed in `MODULE_EXTRAS` into the same one-line message, exit 2).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

from langir.errors import LangirError

# top-level module -> the extra of pyproject.toml that installs it
MODULE_EXTRAS: dict[str, str] = {
    "torch": "train",
    "torchvision": "train",
    "open_clip": "train",
    "timm": "train",
    "onnx": "export",
    "onnxruntime": "export",
    "onnxscript": "export",
    "tensorboard": "tensorboard",
    "pyarrow": "pack",
    "datasets": "test",  # only the tests load packed sets back
    "google.genai": "",  # a base dependency ("" = base); only a stripped environment lacks it
}
# pip names of base dependencies that import under another name
_PIP_NAMES = {"google.genai": "google-genai"}


def source_checkout() -> Path | None:
    """The source checkout langir runs from (editable install or PYTHONPATH), or None for an installed package."""
    root = Path(__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    try:
        return root if pyproject.is_file() and 'name = "langir"' in pyproject.read_text(encoding="utf-8") else None
    except OSError:
        return None


def install_command(extra: str, checkout: Path | None = None, cwd: Path | None = None) -> str:
    """`pip install "langir[EXTRA]"`, or from a source checkout `pip install -e ".[EXTRA]"` (the path
    instead of "." when run from elsewhere): PyPI's langir would replace the checkout's code."""
    if checkout is None:
        return f'pip install "langir[{extra}]"'
    here = Path.cwd() if cwd is None else cwd
    where = "." if here.resolve() == checkout.resolve() else str(checkout)
    return f'pip install -e "{where}[{extra}]"'


class MissingExtraError(LangirError):
    """A command needs an optional dependency that is not installed."""

    def __init__(self, module: str, extra: str):
        self.module, self.extra = module, extra
        command = install_command(extra, source_checkout()) if extra else f"pip install {_PIP_NAMES.get(module, module)}"
        super().__init__(f"this command needs {module}, which is not installed: {command}")


class TorchMismatchError(LangirError):
    """torch and torchvision are installed but were not built for each other."""


def extra_for(module_name: str) -> str | None:
    """The extra providing `module_name` (or a submodule of a known package), else None."""
    parts = module_name.split(".")
    for n in range(len(parts), 0, -1):
        extra = MODULE_EXTRAS.get(".".join(parts[:n]))
        if extra is not None:
            return extra
    return None


def missing_extra(error: BaseException) -> MissingExtraError | None:
    """The user-facing error for a ModuleNotFoundError of an optional dependency, else None."""
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    extra = extra_for(error.name)
    if extra is None:
        return None
    known = next((m for m in sorted(MODULE_EXTRAS, key=len, reverse=True)
                  if error.name == m or error.name.startswith(m + ".")), error.name)
    return MissingExtraError(known, extra)


def torch_mismatch(error: BaseException) -> TorchMismatchError | None:
    """The known failure of a torchvision built for another torch (`operator torchvision::nms does not exist`)."""
    if not isinstance(error, RuntimeError) or not re.search(r"operator torchvision::\w+ does not exist", str(error)):
        return None
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    torch_v = ver("torch")
    return TorchMismatchError(
        f"torchvision {ver('torchvision')} does not match torch {torch_v}; install a matching pair, e.g. "
        f"pip install \"torch=={torch_v.split('+')[0]}\" torchvision --index-url https://download.pytorch.org/whl/cpu "
        "(for CUDA: the /whl/cuXYZ index of your CUDA version)"
    )


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import `module` or raise the one-line error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        hint = missing_extra(error)
        if hint is None and extra is not None:
            hint = MissingExtraError(module, extra)
        if hint is None:
            raise
        raise hint from error
    except RuntimeError as error:
        mismatch = torch_mismatch(error)
        if mismatch is None:
            raise
        raise mismatch from error


def friendly_import_error(error: BaseException) -> LangirError | None:
    """The one-line LangirError for a missing optional module or a torch/torchvision mismatch, else None."""
    return missing_extra(error) or torch_mismatch(error)


def import_open_clip() -> ModuleType:
    """open_clip (extra `train`), or one line saying why not (missing, or torch/torchvision mismatched)."""
    return require("open_clip", "train")
