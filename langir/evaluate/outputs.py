"""Files written from predictions, shared by `langir predict` and `langir eval --save-preds`.

Layout of ``OUT``:

- ``prob/{id}.png``   probability map, 16-bit grey (p × 65535) or 8-bit (p × 255) with ``prob_bits=8``
- ``mask/{id}.png``   binary mask at the threshold (0/255)
- ``overlay/{id}.png`` the picture from :func:`langir.evaluate.visualize.overlay`
- ``targets.csv``     one row per predicted component (and ``targets.json`` on request)

Every file is written atomically. Components are the metrics' 8-connected components.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from langir.data.atomic import save_image_atomic, write_text_atomic
from langir.errors import ConfigError

TARGET_FIELDS = ["image", "target", "x", "y", "area", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "peak_prob", "mean_prob", "status"]


_SYSTEM = ("proc", "sys", "dev")


def is_system_path(path: Path) -> bool:
    """Whether ``path`` (resolved) lies in /proc, /sys or /dev, where outputs never belong."""
    parts = Path(path).resolve().parts
    return len(parts) > 1 and parts[1] in _SYSTEM


def check_out_dir(path: Path, flag: str) -> Path:
    """Refuse an output folder that is a file, a special path, or cannot be written: one line naming it."""
    path = Path(path)
    resolved = path.resolve()
    if is_system_path(resolved):
        raise ConfigError(f"{flag} {path}: refusing to write into a system folder")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: exists and is not a folder")
    probe = resolved
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{flag} {path}: {probe} is not a folder")
    import os

    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: {probe} is not writable")
    return path


def check_out_file(path: Path, flag: str) -> Path:
    """Refuse an output file path that is a folder, a special file or in a system folder: one line naming it."""
    import os

    path = Path(path)
    resolved = path.resolve()
    if is_system_path(resolved):
        raise ConfigError(f"{flag} {path}: refusing to write into a system folder")
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a folder, not a file")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{flag} {path}: exists and is not a regular file")
    probe = resolved.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{flag} {path}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: {probe} is not writable")
    return path


def target_rows(sample_id: str, prob: np.ndarray, binary: np.ndarray, status: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per 8-connected component of ``binary``: centroid (x, y), area, box, peak and mean probability."""
    from langir.data.positions import components

    labels, areas, centroids = components(binary)
    if len(areas) == 0:
        return []
    index = np.arange(1, len(areas) + 1)
    peaks = ndimage.maximum(prob, labels, index)
    sums = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=len(areas) + 1)[1:]
    rows = []
    for k, sl in enumerate(ndimage.find_objects(labels)):
        rows.append({
            "image": sample_id, "target": k + 1,
            "x": round(float(centroids[k, 1]), 2), "y": round(float(centroids[k, 0]), 2), "area": int(areas[k]),
            "bbox_x": sl[1].start, "bbox_y": sl[0].start, "bbox_w": sl[1].stop - sl[1].start, "bbox_h": sl[0].stop - sl[0].start,
            "peak_prob": round(float(peaks[k]), 5), "mean_prob": round(float(sums[k] / areas[k]), 5),
            "status": status[k] if status else "",
        })
    return rows


class PredictionWriter:
    """Write probability maps, masks, overlays and the target table for each prediction.

    The files of several images are written at once by a few threads (PNG encoding and the overlay's
    drawing release the GIL), so a GPU is not left waiting on one core; at most ``2 × workers`` images
    are held. A failed write is raised by a later ``write`` or by ``finish``; queued ones are then dropped.
    """

    def __init__(self, out: Path, *, threshold: float = 0.5, prob_bits: int = 16, overlays: bool = True,
                 pd_distance: float = 3.0, pd_matching: str = "greedy", workers: int | None = None) -> None:
        if prob_bits not in (8, 16):
            raise ConfigError(f"probability PNGs are 8- or 16-bit, not {prob_bits}")
        self.out = Path(out)
        self.threshold = threshold
        self.prob_bits = prob_bits
        self.overlays = overlays
        self.pd_distance = pd_distance
        self.pd_matching = pd_matching
        self.workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        self.rows: list[dict[str, Any]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()

    def write(self, sample_id: str, image: np.ndarray, prob: np.ndarray, target: np.ndarray | None = None) -> None:
        """Queue one image's files; its target rows join ``rows`` once written (all of them after ``finish``)."""
        if self.workers <= 1:
            self.rows.extend(self.write_now(sample_id, image, prob, target))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="langir-write")
        while len(self._pending) >= 2 * self.workers:
            self._collect_oldest()
        self._pending.append(self._pool.submit(self.write_now, sample_id, image, prob, target))

    def _collect_oldest(self) -> None:
        try:
            self.rows.extend(self._pending.popleft().result())
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the writes not started yet and wait for those under way (each file is atomic)."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def write_now(self, sample_id: str, image: np.ndarray, prob: np.ndarray,
                  target: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Write one image's files in this thread; returns its target rows (not kept: ``write`` keeps them)."""
        from langir.evaluate.visualize import overlay

        binary = prob > self.threshold
        top = 65535 if self.prob_bits == 16 else 255
        dtype = np.uint16 if self.prob_bits == 16 else np.uint8
        save_image_atomic(self.out / "prob" / f"{sample_id}.png", (np.clip(prob, 0, 1) * top + 0.5).astype(dtype))
        save_image_atomic(self.out / "mask" / f"{sample_id}.png", binary.astype(np.uint8) * 255)
        if self.overlays:
            picture = overlay(image, target if target is not None and target.shape == binary.shape else None, binary,
                              pd_distance=self.pd_distance, pd_matching=self.pd_matching, prob=prob)
            save_image_atomic(self.out / "overlay" / f"{sample_id}.png", picture)
        return target_rows(sample_id, prob, binary, self._status(binary, target))

    def _status(self, binary: np.ndarray, target: np.ndarray | None) -> list[str] | None:
        if target is None or target.shape != binary.shape:
            return None
        from langir.data.positions import components
        from langir.evaluate.metrics import match_components

        _, _, p_cent = components(binary)
        _, _, g_cent = components(np.asarray(target, bool))
        hit = {j for _, j in match_components(g_cent, p_cent, self.pd_distance, self.pd_matching)}
        return ["hit" if j in hit else "false_alarm" for j in range(len(p_cent))]

    def finish(self, as_json: bool = False) -> dict[str, str]:
        """Wait for the queued images, write ``targets.csv`` (and ``targets.json``); returns the paths written."""
        while self._pending:
            self._collect_oldest()
        self.close()
        self.rows.sort(key=lambda r: (r["image"], r["target"]))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=TARGET_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        written = {"targets_csv": str(self.out / "targets.csv")}
        write_text_atomic(self.out / "targets.csv", buf.getvalue())
        if as_json:
            clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in self.rows]
            write_text_atomic(self.out / "targets.json", json.dumps(clean, indent=1) + "\n")
            written["targets_json"] = str(self.out / "targets.json")
        return written
