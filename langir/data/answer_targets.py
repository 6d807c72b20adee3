"""Target positions a VLM gave in a structured answer, stored beside the description text.

A structured answer (`describe --structured`) carries the LangIR text *and* a list of targets, each
``{"point": [x, y], "box": [x_min, y_min, x_max, y_max]}`` (``box`` may be missing). The text goes to
the description file as always; the targets are kept here, in **pixels of the original image**
(x right, y down, origin at the top-left pixel's corner), one JSON file per sample:

    DATASET/.langir/targets/ID.json   {"image_size": [W, H], "targets": [...], "request": KEY}

They travel with the set (`pack` writes them as the ``targets`` field), are drawn by `report` and
`review`, and are judged by `validate` against the mask target by target.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any

from langir.data import guarded
from langir.data.atomic import write_text_atomic
from langir.errors import DataError

FOLDER = Path(".langir") / "targets"
SCALE = 1000  # structured answers give integers on 0..SCALE of the sent image's width and height
MAX_TARGETS = 1000  # an answer listing more is broken, not a crowd of IR targets


def targets_path(root: str | Path, sample_id: str) -> Path:
    return Path(root) / FOLDER / f"{sample_id}.json"


def from_scale(targets: list[dict[str, Any]], width: int, height: int, scale: float = SCALE) -> list[dict[str, Any]]:
    """Targets on 0..`scale` of an image's width/height → pixels of a `width`×`height` image."""
    sx, sy = width / scale, height / scale
    out = []
    for t in targets:
        x, y = t["point"]
        item: dict[str, Any] = {"point": [round(x * sx, 2), round(y * sy, 2)]}
        if t.get("box") is not None:
            x0, y0, x1, y1 = t["box"]
            item["box"] = [round(x0 * sx, 2), round(y0 * sy, 2), round(x1 * sx, 2), round(y1 * sy, 2)]
        out.append(item)
    return out


def _finite(values: Any, n: int) -> bool:
    return (isinstance(values, list | tuple) and len(values) == n
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values))


def check_targets(targets: Any, width: float, height: float) -> str | None:
    """Why `targets` (pixels of a `width`×`height` image) are not a valid list, or None when they are."""
    if not isinstance(targets, list):
        return "targets is not a list"
    if len(targets) > MAX_TARGETS:
        return f"{len(targets)} targets (more than {MAX_TARGETS})"
    for i, t in enumerate(targets):
        if not isinstance(t, dict) or not _finite(t.get("point"), 2):
            return f"target {i}: point is not two finite numbers"
        x, y = t["point"]
        if not (0 <= x <= width and 0 <= y <= height):
            return f"target {i}: point ({x:g}, {y:g}) outside the {width:g}×{height:g} image"
        box = t.get("box")
        if box is not None:
            if not _finite(box, 4):
                return f"target {i}: box is not four finite numbers"
            x0, y0, x1, y1 = box
            if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
                return f"target {i}: box {list(box)} is not inside the image with x_min ≤ x_max, y_min ≤ y_max"
    return None


def write_targets(root: str | Path, sample_id: str, targets: list[dict[str, Any]], image_size: tuple[int, int],
                  request: str | None = None) -> Path:
    """Store pixel targets of the original image (`image_size` = (W, H)) atomically."""
    path = targets_path(root, sample_id)
    record = {"image_size": [int(image_size[0]), int(image_size[1])], "targets": targets, "request": request}
    write_text_atomic(path, json.dumps(record, separators=(",", ":")) + "\n")
    return path


def read_targets(root: str | Path, sample_id: str) -> list[dict[str, Any]] | None:
    """The stored pixel targets of a sample, or None when it has none (or the file is not valid)."""
    path = targets_path(root, sample_id)
    if not os.path.lexists(path):
        return None
    try:  # through the guarded reader: a FIFO, a huge file or a symlink out of the set is never read
        record = guarded.read_json(path, "answer targets", root=root)
        w, h = record["image_size"]
        targets = record["targets"]
    except (DataError, ValueError, KeyError, TypeError):
        return None
    return targets if check_targets(targets, w, h) is None else None


def remove_targets(root: str | Path, sample_id: str) -> None:
    """Forget a sample's targets (its text was replaced by one without structured positions)."""
    with contextlib.suppress(FileNotFoundError):
        targets_path(root, sample_id).unlink()
