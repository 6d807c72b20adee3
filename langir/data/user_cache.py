"""The one per-user cache folder of langir (CLIP embeddings, review thumbnails and verdicts).

`$LANGIR_CACHE` when set, else `$XDG_CACHE_HOME/langir`, else the platform's cache folder + `langir`:
`~/Library/Caches/langir` on macOS, `%LOCALAPPDATA%/langir` on Windows, `~/.cache/langir` elsewhere.
Each user of it takes a sub-folder: `embeddings/`, `review/`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_ENV = "LANGIR_CACHE"


def user_cache_dir(kind: str = "") -> Path:
    """langir's per-user cache folder, or its sub-folder `kind` (``"embeddings"``, ``"review"``)."""
    if os.environ.get(CACHE_ENV, "").strip():
        base = Path(os.environ[CACHE_ENV]).expanduser()
    else:
        if os.environ.get("XDG_CACHE_HOME", "").strip():
            platform = Path(os.environ["XDG_CACHE_HOME"]).expanduser()
        elif sys.platform == "darwin":
            platform = Path.home() / "Library" / "Caches"
        elif os.name == "nt" and os.environ.get("LOCALAPPDATA"):
            platform = Path(os.environ["LOCALAPPDATA"])
        else:
            platform = Path.home() / ".cache"
        base = platform / "langir"
    return base / kind if kind else base
