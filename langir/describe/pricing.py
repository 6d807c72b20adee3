"""Price table (assembled from the provider registry, overridable with `--prices FILE`) and costs.

Each provider class carries its list prices (USD per million input / output tokens) and its batch
discount; DEFAULT_PRICES merges them. A `--prices` JSON file adds or replaces entries:
`{"model": [input_usd_per_M, output_usd_per_M], ...}`. `price_for` returns None for a model it
does not know, so callers can refuse to run under `--max-cost` instead of counting it as free.
"""

from __future__ import annotations

import math
from pathlib import Path

from langir.data import guarded
from langir.describe.providers import REGISTRY
from langir.describe.providers.base import longest_prefix, text_tokens
from langir.errors import ConfigError, DataError

Prices = dict[str, tuple[float, float]]

BATCH_DISCOUNT = 0.5  # for models no provider lists


def default_prices() -> Prices:
    """Every registered provider's list prices, read from the registry now."""
    return {model: price for cls in REGISTRY.values() for model, price in cls.prices.items()}


DEFAULT_PRICES: Prices = default_prices()  # the table at import time (DescribeOptions' default)

__all__ = ["BATCH_DISCOUNT", "DEFAULT_PRICES", "Prices", "batch_discount", "cost", "default_prices", "load_prices",
           "price_for", "text_tokens"]


def load_prices(path: str | Path | None) -> Prices:
    """Default prices (from the registry) updated with the user's JSON file."""
    prices = default_prices()
    if path:
        shape = "JSON {\"model\": [input_usd_per_M, output_usd_per_M]}"
        try:  # the guarded reader: a FIFO or a huge file is one line, not a hang
            data = guarded.read_json(path, "price table")
        except DataError as error:
            raise ConfigError(f"{error} (a price table is {shape})") from None
        try:
            table = {str(k): (float(v[0]), float(v[1])) for k, v in data.items()}
        except (ValueError, TypeError, IndexError, AttributeError, KeyError) as error:
            raise ConfigError(f"{path}: not a price table ({shape}): {error}") from None
        bad = next((k for k, (i, o) in table.items() if not (math.isfinite(i) and math.isfinite(o) and i >= 0 and o >= 0)), None)
        if bad is not None:  # a negative or NaN price would let spending run past --max-cost
            raise ConfigError(f"{path}: price of {bad!r} must be two finite numbers ≥ 0, got {data[bad]!r}")
        prices.update(table)
    return prices


def price_for(prices: Prices, model: str) -> tuple[float, float] | None:
    """Exact model name, else the longest known prefix (dated snapshots share a price); None if unknown."""
    best = longest_prefix(prices, model)
    return prices[best] if best is not None else None


def batch_discount(model: str) -> float:
    """Fraction of the list price a batch job bills for `model` (its provider's discount)."""
    discounts = {m: cls.batch_discount for cls in REGISTRY.values() for m in cls.prices}
    best = longest_prefix(discounts, model)
    return discounts[best] if best is not None else BATCH_DISCOUNT


def cost(prices: Prices, model: str, input_tokens: int, output_tokens: int, batch: bool = False) -> float:
    """USD for this usage; an unknown model counts 0 here (the runner refuses it under --max-cost)."""
    p = price_for(prices, model) or (0.0, 0.0)
    usd = (input_tokens * p[0] + output_tokens * p[1]) / 1e6
    return usd * (batch_discount(model) if batch else 1.0)
