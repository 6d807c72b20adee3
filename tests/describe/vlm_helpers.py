"""A scripted fake VLM on top of tests/describe/fake_server.py: answers from the mask truth.

`VLMServer` is the shared fake HTTP server whose model reply can read the whole request body
(prompt text, temperature), so tests and the curate benchmark can play a VLM that names the
wrong 3×3 cell some of the time, insists on a target in an empty frame, or follows a
grounded prompt's hint. Real SDK clients talk to it over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from langir.data.imageio import read_mask
from langir.data.positions import cell_phrase, find_targets, grid_cell
from langir.describe.images import encode_file
from langir.describe.providers import provider_class
from tests.describe.fake_server import FakeServer


def _texts(node: Any, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") == "text" and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            _texts(value, found)
    elif isinstance(node, list):
        for value in node:
            _texts(value, found)
    elif isinstance(node, str):
        found.append(node)
    return found


def _prompt_text(body: dict[str, Any]) -> str:
    """All prompt text of a request body, whichever provider's shape (messages / system / contents)."""
    system = body.get("system")
    parts = _texts(body.get("messages", []), []) + _texts(body.get("contents", []), [])
    parts += _texts(body.get("systemInstruction", {}), []) + ([system] if isinstance(system, str) else [])
    return "\n".join(parts)


class VLMServer(FakeServer):
    """FakeServer whose replies come from `vlm(image_sha, prompt_text, temperature)` (via the `reply_fn` hook,
    so direct and batch requests of every provider are answered alike)."""

    def __init__(self, vlm: Callable[[str, str, float], str], latency: float = 0.0):
        super().__init__(latency)
        self.requests: list[dict[str, Any]] = []  # (sha, temperature, prompt) of every model request
        lock = threading.Lock()

        def reply(info: dict[str, Any]) -> str:
            prompt = _prompt_text(info["body"])
            temperature = float(info.get("temperature") or 0.0)
            text = vlm(info["sha"], prompt, temperature)
            with lock:
                self.requests.append({"sha": info["sha"], "temperature": temperature, "prompt": prompt, "text": text})
            return text

        self.api.reply_fn = reply


def image_sha(path: Path, max_side: int | None = 1024) -> str:
    """The hash the fake server computes for an image as `describe` sends it."""
    png = encode_file(path, max_side, provider_class("openai")).png
    return hashlib.sha256(png).hexdigest()[:16]


def truth_cells(images: Path, masks: Path, pattern: str = "{id}", mask_pattern: str = "{id}") -> dict[str, list[tuple[int, int]]]:
    """sha of each image as sent → 3×3 cells of its mask's targets (generic layout: same stem)."""
    truth: dict[str, list[tuple[int, int]]] = {}
    for image in sorted(images.glob("*.png")):
        mask_path = masks / (mask_pattern.replace("{id}", image.stem) + ".png")
        try:
            mask = read_mask(mask_path)
        except Exception:  # a broken mask: the VLM still sees the image
            truth[image_sha(image)] = []
            continue
        h, w = mask.shape
        truth[image_sha(image)] = [grid_cell(t.centroid[0], t.centroid[1], h, w) for t in find_targets(mask)]
    return truth


def sentence(cell: tuple[int, int]) -> str:
    phrase = cell_phrase(cell)
    where = "center of the image" if phrase == "center" else f"{phrase} of the image"
    return f"A faint small target lies in the {where}, a bright point against the cloudy sky."


def _wrong(cell: tuple[int, int], rng: random.Random | None) -> tuple[int, int]:
    if rng is None:  # deterministic: the mirrored cell (never the same one)
        return (2 - cell[0], 2 - cell[1]) if cell != (1, 1) else (0, 0)
    return rng.choice([(r, c) for r in range(3) for c in range(3) if (r, c) != cell])


class FakeVLM:
    """A VLM that names a wrong 3×3 cell with probability `p_wrong` and follows grounded hints.

    At temperature 0 the answer is a fixed function of image and prompt (asking again buys the
    same answer); above 0 each answer is a fresh draw. `insist` makes it claim a target in empty
    frames; `random_wrong` picks any other cell (else the mirrored one, which validate always sees).
    """

    def __init__(self, truth: dict[str, list[tuple[int, int]]], p_wrong: float = 0.3, seed: int = 0,
                 insist: bool = False, random_wrong: bool = False, hint_wrong: float = 0.0):
        self.truth, self.p_wrong, self.seed, self.insist = truth, p_wrong, seed, insist
        self.random_wrong, self.hint_wrong = random_wrong, hint_wrong
        self.calls: Counter = Counter()
        self.lock = threading.Lock()

    def __call__(self, sha: str, prompt: str, temperature: float) -> str:
        with self.lock:
            self.calls[sha] += 1
            n = self.calls[sha]
        cells = self.truth.get(sha, [])
        # at temperature 0 the answer is fixed by image and prompt: another prompt style is another draw
        fixed = int(hashlib.sha256(f"{self.seed}:{sha}:{prompt}".encode()).hexdigest()[:8], 16) / 2**32
        rng = random.Random(f"{self.seed}:{sha}:{n}") if temperature > 0 else None
        draw = rng.random() if rng else fixed
        if not cells:
            return sentence((0, 0)) if self.insist else "No small target is visible in this infrared image."
        hinted = "part of the image" in prompt or "center of the image." in prompt
        p = self.hint_wrong if hinted else self.p_wrong
        chosen = cells[0]
        if draw < p:
            chosen = _wrong(chosen, rng if self.random_wrong else None)
        return sentence(chosen)


def counts_by_sha(server: VLMServer) -> Counter:
    return Counter(r["sha"] for r in server.requests)


def empty_mask_ids(masks: Path) -> list[str]:
    return [p.stem for p in sorted(masks.glob("*.png")) if not np.asarray(read_mask(p)).any()]


def assert_every_paid_answer_recorded_once(root: Path, server: VLMServer) -> None:
    """Each request the server answered is exactly one ledger row (done or invalid): none lost, none bought twice."""
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    keys = [k for (k,) in con.execute("SELECT key FROM requests WHERE provider='openai' AND status IN ('done','invalid')")]
    con.close()
    assert len(keys) == len(server.requests) and len(set(keys)) == len(keys)
