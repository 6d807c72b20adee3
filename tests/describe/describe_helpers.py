"""Small made-up datasets for describe tests (generic layout: images/{id}.png, masks/{id}.png)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SECRET = "sk-test-SECRET-9f8e7d6c5b4a"


def make_dataset(root: Path, n: int = 6, size: tuple[int, int] = (40, 48), empty: tuple[int, ...] = ()) -> Path:
    """`n` distinct images (ir_00000 …), one bright target each (none for indices in `empty`)."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = rng.integers(0, 60, size, dtype=np.uint8)
        mask = np.zeros(size, np.uint8)
        if i not in empty:
            r, c = (3 + 7 * i) % (size[0] - 4), (5 + 11 * i) % (size[1] - 4)
            img[r : r + 2, c : c + 2] = 250
            mask[r : r + 2, c : c + 2] = 255
        Image.fromarray(img).save(root / "images" / f"ir_{i:05d}.png")
        Image.fromarray(mask).save(root / "masks" / f"ir_{i:05d}.png")
    return root


def all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    """Every file under `root` (descriptions, ledger, WAL…) with its bytes."""
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


def set_provider_keys(monkeypatch) -> None:
    """The three remote providers' keys set to SECRET, and the Google variables that would redirect Gemini unset."""
    for name in ("GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(name, SECRET)


def describe_at(fake, root: Path, provider: str = "openai", concurrency: int = 2, retry=None, on_event=None,
                timeout: float = 5) -> dict:
    """One describe run of every image of `root` with the real `provider` SDK against the running `fake`
    server (tests/describe/fake_server.py); the run's summary."""
    from langir.data.dataset import LangIRDataset
    from langir.describe.ledger import Ledger
    from langir.describe.prompts import load_prompt
    from langir.describe.providers import choose_provider, make_provider
    from langir.describe.runner import DescribeOptions, RetryPolicy, describe_dataset

    ds = LangIRDataset.open(root)
    client = make_provider(choose_provider(provider), base_url=fake.openai_url if provider == "openai" else fake.url,
                           timeout=timeout)
    ledger = Ledger.for_dataset(root)
    try:
        return describe_dataset(ds, ds.all_ids(), client, load_prompt("system"),
                                DescribeOptions(retry=retry or RetryPolicy(initial=0.01), concurrency=concurrency), ledger,
                                on_event=on_event)
    finally:
        ledger.close()
