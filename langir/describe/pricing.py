"""Token estimates (each provider's image-token formula) and a price table the user can override."""

from __future__ import annotations

import json
import math
from pathlib import Path

from langir.errors import ConfigError

# USD per million tokens (input, output), list prices; batch APIs bill half. Override with
# `--prices FILE` (JSON {"model": [input, output], ...}); unknown models cost 0 and get a warning.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-3-5-sonnet-latest": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "template": (0.0, 0.0),
}
BATCH_DISCOUNT = 0.5


def load_prices(path: str | Path | None) -> dict[str, tuple[float, float]]:
    """Default prices updated with the user's JSON file."""
    prices = dict(DEFAULT_PRICES)
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            prices.update({str(k): (float(v[0]), float(v[1])) for k, v in data.items()})
        except (OSError, ValueError, TypeError, IndexError, AttributeError) as error:
            raise ConfigError(f"{path}: not a price table (JSON {{\"model\": [input_usd_per_M, output_usd_per_M]}}): {error}") from error
    return prices


def price_for(prices: dict[str, tuple[float, float]], model: str) -> tuple[float, float] | None:
    """Exact model name, else the longest known prefix (dated snapshots share a price)."""
    if model in prices:
        return prices[model]
    best = max((k for k in prices if model.startswith(k)), key=len, default=None)
    return prices[best] if best else None


def cost(prices: dict[str, tuple[float, float]], model: str, input_tokens: int, output_tokens: int, batch: bool = False) -> float:
    p = price_for(prices, model) or (0.0, 0.0)
    usd = (input_tokens * p[0] + output_tokens * p[1]) / 1e6
    return usd * (BATCH_DISCOUNT if batch else 1.0)


def openai_image_tokens(width: int, height: int, detail: str = "auto") -> int:
    """OpenAI's documented formula for GPT-4o-class models: 85 base + 170 per 512-px tile.

    'low' is 85 flat; 'high' fits the image in 2048×2048, scales the short side to 768, then counts
    tiles; 'auto' is treated as 'high' (an upper bound for the estimate).
    """
    if detail == "low":
        return 85
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def anthropic_image_tokens(width: int, height: int) -> int:
    """Anthropic's documented estimate: width × height / 750 (after its own 1568-px resize)."""
    scale = min(1.0, 1568 / max(width, height))
    return math.ceil(width * scale * height * scale / 750)


def text_tokens(text: str) -> int:
    """Rough token count of English text (≈ 4 characters a token); only for estimates."""
    return max(1, math.ceil(len(text) / 4))
