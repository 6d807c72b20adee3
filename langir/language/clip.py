"""Load an open_clip model by name with a pretrained tag, a local checkpoint, or no weights.

A tiny untrained config, ``langir-tiny``, ships with the package so tests and demos run offline
through exactly the same loading path as real weights.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from langir.data import guarded
from langir.errors import ConfigError
from langir.extras import import_open_clip

TINY_NAME = "langir-tiny"
_CONFIG = Path(__file__).with_name("langir-tiny.json")
_registered = False


def _open_clip() -> Any:
    global _registered
    open_clip = import_open_clip()
    if not _registered:
        # add_model_config scans a file or folder of JSON configs into open_clip's registry.
        open_clip.add_model_config(_CONFIG)
        _registered = True
    return open_clip


def clip_key(name: str, pretrained: str | None) -> str:
    """A short folder-safe key naming CLIP model + weights (local files keyed by their content hash)."""
    weights = pretrained or "untrained"
    path = Path(pretrained) if pretrained else None
    if path is not None and path.is_file():
        digest = hashlib.sha256()
        with guarded.open_regular(path, "CLIP weights file") as fh:  # streamed: weights are far over any text limit
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        weights = "file-" + digest.hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{name}__{weights}")
    return safe


OFFLINE_CHOICES = ("offline choices: --clip-model langir-tiny --clip-pretrained none (untrained CLIP, no download), "
                   "--clip-pretrained FILE (local weights), or --language-prior never (for models that can train without CLIP)")
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
PROBE_TIMEOUT_S = 5.0


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Silence open_clip's and the hub's log lines (retry warnings, "Failed to download", "No pretrained
    weights loaded") while loading: a failure is raised as one line of our own instead."""
    root = logging.getLogger()
    # open_clip logs through the module-level `logging.error`, which would install a stderr handler
    # on an unconfigured root logger for good; a NullHandler keeps it unconfigured.
    guard = logging.NullHandler() if not root.handlers else None
    if guard is not None:
        root.addHandler(guard)
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(previous)
        if guard is not None:
            root.removeHandler(guard)


def _weight_sources(open_clip: Any, name: str, tag: str) -> tuple[list[tuple[str, str]], str]:
    """(hub repo, file) candidates and the download URL of an open_clip tag; both empty for an unknown tag."""
    cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    files: list[tuple[str, str]] = []
    if cfg.get("hf_hub"):
        repo, filename = os.path.split(cfg["hf_hub"])
        filename = filename or "open_clip_pytorch_model.bin"
        stem = filename.rsplit(".", 1)[0]
        files = [(repo, stem + ".safetensors"), (repo, filename)]
    return files, str(cfg.get("url") or "")


def _cached(files: list[tuple[str, str]], url: str) -> bool:
    """Whether the weights of a tag are already on disk (the hub cache, or open_clip's URL cache)."""
    if files:
        from huggingface_hub import try_to_load_from_cache

        return any(isinstance(try_to_load_from_cache(repo, f), str) for repo, f in files)
    return bool(url) and (Path.home() / ".cache" / "clip" / os.path.basename(urlsplit(url).path)).is_file()


def _unreachable(files: list[tuple[str, str]], url: str) -> str | None:
    """Why the weights cannot be downloaded now (offline variable set, endpoint unreachable), or None."""
    offline = [v for v in _OFFLINE_VARIABLES if os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")]
    if offline and files:
        return f"{offline[0]}={os.environ[offline[0]]} is set"
    if files:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    else:
        endpoint = url
    if not endpoint:
        return None
    import httpx

    try:  # one request, a few seconds at most: any HTTP answer means the endpoint is there
        httpx.head(endpoint, timeout=PROBE_TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as error:
        return f"{urlsplit(endpoint).netloc or endpoint} cannot be reached ({type(error).__name__})"
    return None


def _check_downloadable(open_clip: Any, name: str, tag: str) -> None:
    """Fail at once, in one line naming the offline choices, when an uncached tag cannot be downloaded."""
    files, url = _weight_sources(open_clip, name, tag)
    if (not files and not url) or _cached(files, url):
        return
    why = _unreachable(files, url)
    if why is not None:
        raise ConfigError(f"CLIP {name} weights {tag!r} are not downloaded and cannot be now: {why}; {OFFLINE_CHOICES}")


def load_clip(name: str = "ViT-B-16", pretrained: str | None = None, device: str = "cpu") -> tuple[Any, Any, Any]:
    """Return (model, preprocess, tokenizer) in eval mode.

    ``pretrained`` is None (random weights), an open_clip tag (downloaded only then, on request)
    or a local checkpoint path (loaded without network).
    """
    open_clip = _open_clip()
    if name not in open_clip.list_models():
        raise ConfigError(f"unknown CLIP model {name!r} (try ViT-B-16 or {TINY_NAME})")
    if pretrained and Path(pretrained).suffix in {".pt", ".pth", ".bin", ".safetensors"} and not Path(pretrained).is_file():
        raise ConfigError(f"CLIP checkpoint not found: {pretrained}")
    import torch

    if pretrained and not Path(pretrained).is_file():
        _check_downloadable(open_clip, name, pretrained)
    try:
        # Untrained weights must be the same in every process so cached embeddings stay valid.
        with _quiet_loading(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained or None, device=device)
    except RuntimeError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "download" in first.lower():  # the hub answered the probe, then the download failed
            raise ConfigError(f"cannot download CLIP {name} weights {pretrained!r} ({first[:160]}); {OFFLINE_CHOICES}") from error
        raise ConfigError(f"cannot load CLIP {name} weights {pretrained!r}: {first}") from error
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(name)
