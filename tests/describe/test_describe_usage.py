"""Replies without usable token counts (usage missing, negative, malformed), through the real SDKs.

Such an answer is kept (it was paid for); its tokens and cost are estimated from the request and the
price table, the run says so once, and it counts its worst case against --max-cost (what it really
cost is unknown).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from langir.data.dataset import LangIRDataset
from langir.describe.build import RequestBuilder
from langir.describe.ledger import Ledger
from langir.describe.pricing import cost
from langir.describe.prompts import load_prompt
from langir.describe.providers import choose_provider, make_provider
from langir.describe.runner import DescribeOptions, RetryPolicy, describe_dataset
from tests.describe.describe_helpers import make_dataset, set_provider_keys
from tests.describe.fake_server import KEEP_USAGE, FakeServer

FAST = ["--backoff", "0.01", "--timeout", "5", "--concurrency", "1", "--json"]
# per provider: the normal counts the fake sends, then the odd usage blocks of requests 0, 1, 2
CASES = {
    "openai": ((300, 20), [None, {"prompt_tokens": -5, "completion_tokens": 20},
                           {"prompt_tokens": "many", "completion_tokens": 20.5}]),
    "anthropic": ((400, 25), [None, {"input_tokens": 400, "output_tokens": -1},
                              {"input_tokens": [400], "output_tokens": 25}]),
    "gemini": ((270, 25), [None, {"promptTokenCount": -270, "candidatesTokenCount": 22}, {"candidatesTokenCount": 22}]),
}


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    set_provider_keys(monkeypatch)


def _rows(root):
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    try:
        return con.execute("SELECT model, input_tokens, output_tokens, cost_usd FROM requests WHERE status='done'").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("flavour", list(CASES))
def test_reply_without_usable_usage_is_estimated_and_said_once(tmp_path, cli, flavour):
    normal, odd = CASES[flavour]
    root = make_dataset(tmp_path / "ds", 5)
    with FakeServer() as fake:
        fake.api.usage_fn = lambda info: odd[info["n"]] if info["n"] < len(odd) else KEEP_USAGE
        url = fake.openai_url if flavour == "openai" else fake.url
        res = cli("describe", root, "--provider", flavour, "--base-url", url, *FAST)
        requests = fake.api.model_requests
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 5 and requests == 5  # kept, not asked again
    assert summary["usage_estimated"] == 3
    assert len(summary["notes"]) == 1 and "3 replies came without usable token counts" in summary["notes"][0]
    assert res.stderr.count("without usable token counts") == 1  # said once
    rows = _rows(root)
    assert sorted((tin, tout) for _, tin, tout, _ in rows).count(normal) == 2
    estimated = [(tin, tout) for _, tin, tout, _ in rows if (tin, tout) != normal]
    assert len(estimated) == 3 and len(set(estimated)) == 1  # same image size, same answer: one estimate
    tin, tout = estimated[0]
    assert tin > 0 and 0 < tout <= 300  # from the request and the answer, never negative
    prices = DescribeOptions().prices
    for model, tin, tout, usd in rows:
        assert usd == pytest.approx(cost(prices, model, tin, tout))  # priced from the table, also when estimated
    assert summary["cost_usd"] == pytest.approx(sum(r[3] for r in rows), abs=1e-6)
    assert summary["input_tokens"] == sum(r[1] for r in rows)


def test_cap_counts_the_worst_case_of_a_reply_without_usage(tmp_path):
    """Its real price is unknown: the cap holds even if the provider billed the whole worst case."""
    root = make_dataset(tmp_path / "ds", 6, size=(24, 24))
    ds = LangIRDataset.open(root)
    prompt = load_prompt("system")
    with FakeServer() as fake:
        fake.api.usage_fn = lambda info: None
        provider = make_provider(choose_provider("openai"), base_url=fake.openai_url, timeout=5)
        opts = DescribeOptions(retry=RetryPolicy(attempts=2, initial=0.01), concurrency=1, max_tokens=60)
        builder = RequestBuilder(ds, provider, prompt, opts)
        _, worst = builder.worst_case(builder.build(ds.all_ids()[0])[0])
        opts.max_cost = 2.5 * worst
        ledger = Ledger.for_dataset(root)
        try:
            summary = describe_dataset(ds, ds.all_ids(), provider, prompt, opts, ledger)
        finally:
            ledger.close()
    assert summary["described"] == 2 and summary["counts"]["unaffordable"] == 4
    assert summary["usage_estimated"] == 2 and summary["cost_usd"] < 2 * worst
