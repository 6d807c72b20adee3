"""Which scale each VLM family writes coordinates on: data the provider registry refers to.

Conventions (x first unless said otherwise):

- ``pixels``   pixels of the image as it was sent (GPT-4o, Claude: estimates of the sent image);
- ``qwen2.5``  absolute pixels of the image after Qwen2.5-VL's ``smart_resize`` (multiples of 28);
- ``grid1000`` integers on 0–1000 (or 0–999) of the width and height (Qwen2-VL, Qwen3-VL, InternVL,
  CogVLM);
- ``gemini``   0–1000 like ``grid1000``, but Gemini's ``box_2d`` / ``point`` put y first;
- ``percent``  0–100 of the width and height (Molmo's ``<point x= y=>``).

`FAMILIES` maps model-name prefixes (lower case, organisation stripped: "Qwen/Qwen2.5-VL-7B" →
"qwen2.5-vl-7b") to a convention; each provider class carries a ``coordinates`` table of the same
form whose ``""`` entry is its default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

CONVENTIONS = ("pixels", "qwen2.5", "grid1000", "gemini", "percent", "unit")

FAMILIES: dict[str, str] = {
    "qwen2.5-vl": "qwen2.5", "qwen2_5-vl": "qwen2.5", "qwen2.5vl": "qwen2.5",
    "qwen2-vl": "grid1000", "qwen3-vl": "grid1000", "qwen-vl": "grid1000", "qvq": "grid1000",
    "internvl": "grid1000", "cogvlm": "grid1000", "cogagent": "grid1000", "glm-4v": "grid1000",
    "molmo": "percent", "florence": "grid1000", "paligemma": "grid1000", "kosmos": "grid1000",
    "gemini": "gemini",
    "gpt": "pixels", "chatgpt": "pixels", "o1": "pixels", "o3": "pixels", "o4": "pixels", "claude": "pixels",
}


def family_key(model: str) -> str:
    """'Qwen/Qwen2.5-VL-7B-Instruct' → 'qwen2.5-vl-7b-instruct' (organisation dropped, lower case)."""
    return model.strip().lower().rsplit("/", 1)[-1]


def convention_for(model: str | None, table: Mapping[str, str] | None = None) -> str | None:
    """The convention of `model` by the longest matching prefix of `table` (default `FAMILIES`);
    the table's ``""`` entry when no prefix matches; None when unknown."""
    table = FAMILIES if table is None else table
    key = family_key(model or "")
    best = max((k for k in table if k and key.startswith(k)), key=len, default=None)
    if best is not None:
        return table[best]
    return table.get("")


def qwen25_size(width: int, height: int, factor: int = 28, min_pixels: int = 4 * 28 * 28,
                max_pixels: int = 16384 * 28 * 28) -> tuple[int, int]:
    """(W, H) Qwen2.5-VL's ``smart_resize`` gives an image (its absolute coordinates are in these pixels)."""
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return w, h
