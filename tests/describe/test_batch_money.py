"""A `--batch` run follows the direct run's rules and books every paid answer.

Target-free frames, invalid replies, re-asks: the fake's items bought == the ledger's paid rows,
the reported cost == the sum of the rows == what the fake billed, re-asks sample exactly as a
direct run's do, and empty frames end with the no-target sentence. Real SDKs, fake server.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3

import pytest

from langir.data.dataset import LangIRDataset
from langir.data.text_rules import NO_TARGET_SENTENCE
from langir.describe.batch import run_batch
from langir.describe.images import encode_file
from langir.describe.ledger import Ledger
from langir.describe.pricing import cost
from langir.describe.prompts import load_prompt
from langir.describe.providers import choose_provider, make_provider
from langir.describe.runner import DescribeOptions, RetryPolicy, describe_dataset
from tests.describe.describe_helpers import make_dataset, set_provider_keys
from tests.describe.fake_server import VALID_TEXT, FakeServer

N = 6
EMPTY = (1, 3)
FLAKY = 4  # its first answer is too long, the re-ask is fine
TOKENS = {"openai": (300, 20), "anthropic": (400, 25), "gemini": (270, 25)}


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    set_provider_keys(monkeypatch)


def _shas(ds, provider, opts) -> dict[str, str]:
    found = {}
    for image_id in ds.all_ids():
        enc = encode_file(ds.image_path(image_id), opts.max_side, provider)
        found[hashlib.sha256(base64.b64decode(enc.b64)).hexdigest()[:16]] = image_id
    return found


def _script(fake: FakeServer, shas: dict[str, str]) -> None:
    """Empty frames: every answer claims a target (invalid); FLAKY: too long once, then fine."""
    asked: dict[str, int] = {}

    def reply(info):
        image_id = shas.get(info["sha"], "")
        asked[image_id] = asked.get(image_id, 0) + 1
        if image_id in (f"ir_{i:05d}" for i in EMPTY):
            return VALID_TEXT
        if image_id == f"ir_{FLAKY:05d}" and asked[image_id] == 1:
            return "The small target lies in the upper left. " + "It is a faint warm point among clouds. " * 12
        return None

    fake.api.reply_fn = reply


def _run(tmp_path, flavour: str, batch: bool):
    root = make_dataset(tmp_path / ("batch" if batch else "direct"), N, empty=EMPTY)
    ds = LangIRDataset.open(root)
    with FakeServer() as fake:
        url = fake.openai_url if flavour == "openai" else fake.url
        provider = make_provider(choose_provider(flavour), base_url=url, timeout=5)
        opts = DescribeOptions(retry=RetryPolicy(attempts=2, initial=0.01), concurrency=1)
        _script(fake, _shas(ds, provider, opts))
        ledger = Ledger.for_dataset(root)
        try:
            if batch:
                summary = run_batch(ds, ds.all_ids(), provider, load_prompt("system"), opts, ledger, poll_interval=0,
                                    log=lambda m: None)
            else:
                summary = describe_dataset(ds, ds.all_ids(), provider, load_prompt("system"), opts, ledger)
        finally:
            ledger.close()
        sampled = sorted((e["sha"], e["temperature"]) for e in fake.api.log)
        bought = sum(fake.api.bought.values()) if batch else len(fake.api.billed)
    con = sqlite3.connect(root / ".langir" / "describe.sqlite")
    rows = con.execute("SELECT image_id, attempt, cost_usd FROM requests WHERE status IN ('done','invalid') "
                       "AND provider=?", (flavour,)).fetchall()
    con.close()
    return root, ds, provider, opts, summary, sampled, bought, rows


@pytest.mark.parametrize("flavour", ["openai", "anthropic", "gemini"])
def test_batch_books_every_paid_answer_like_a_direct_run(tmp_path, flavour):
    root, ds, provider, opts, summary, sampled, bought, rows = _run(tmp_path, flavour, batch=True)
    *_, d_summary, d_sampled, _, d_rows = _run(tmp_path, flavour, batch=False)
    asks = opts.invalid_retries + 1
    assert bought == len(rows) == N + len(EMPTY) * (asks - 1) + 1  # every item bought has its own row
    assert len({(i, a) for i, a, _ in rows}) == len(rows)  # attempts never overwrite each other
    tin, tout = TOKENS[flavour]
    billed = bought * cost(opts.prices, provider.model, tin, tout, batch=True)
    assert summary["cost_usd"] == pytest.approx(sum(c for *_, c in rows), abs=1e-6)  # the summary rounds to 1e-6
    assert sum(c for *_, c in rows) == pytest.approx(billed)
    assert summary["answers"] == bought and summary["failed"] == 0
    assert summary["no_target_fallback"] == len(EMPTY) and summary["described"] == N - len(EMPTY)
    for i in EMPTY:
        assert ds.read_description(f"ir_{i:05d}") == NO_TARGET_SENTENCE
    # the same requests at the same temperatures as a direct run (re-asks sample)
    assert sampled == d_sampled and len(d_rows) == len(rows)
    assert d_summary["no_target_fallback"] == summary["no_target_fallback"]
    if flavour == "openai":
        assert {t for _, t in sampled} == {0.0, opts.retry_temperature}


FAULT_MIXES = {
    "malformed": ["malformed", "ok"],  # a 200 whose body is cut off: billed, unreadable
    "slow": ["slow", "ok"],  # answered after the client's timeout: billed, never read
    "500": ["500", "ok"],
    "429": ["429", "ok"],
    "mix": ["malformed", "slow", "500", "ok", "429", "malformed", "ok", "slow"],
}


@pytest.mark.parametrize("kind", list(FAULT_MIXES))
def test_cap_holds_under_every_fault_kind(tmp_path, kind):
    """What the provider bills (every 200, read or not) never passes --max-cost."""
    root = make_dataset(tmp_path / "ds", 12, size=(24, 24))
    ds = LangIRDataset.open(root)
    cap = 0.008
    with FakeServer(slow_seconds=0.6) as fake:
        fake.api.faults = FAULT_MIXES[kind] * 30
        provider = make_provider(choose_provider("openai"), base_url=fake.openai_url, timeout=0.25)
        opts = DescribeOptions(retry=RetryPolicy(attempts=3, initial=0.01), concurrency=4, max_cost=cap, max_tokens=60)
        ledger = Ledger.for_dataset(root)
        try:
            summary = describe_dataset(ds, ds.all_ids(), provider, load_prompt("system"), opts, ledger)
        finally:
            ledger.close()
        import time

        time.sleep(0.8)  # let late ("slow") replies finish: they are billed too
        billed = sum(cost(opts.prices, provider.model, tin, tout) for _, tin, tout in fake.api.billed)
    assert summary["answers"] > 0  # the run did buy answers
    assert billed <= cap, (kind, billed, summary["counts"])
    assert summary["cost_usd"] + summary["maybe_billed_usd"] <= cap
    assert summary["counts"].get("unaffordable", 0) > 0  # it stopped at the cap, not for want of work


def test_batch_cap_reserves_before_submitting(tmp_path):
    """--batch under --max-cost: each request's worst case is reserved before it is submitted."""
    root = make_dataset(tmp_path / "ds", 7)
    ds = LangIRDataset.open(root)
    with FakeServer() as fake:
        provider = make_provider(choose_provider("openai"), base_url=fake.openai_url, timeout=5)
        opts = DescribeOptions(retry=RetryPolicy(attempts=2, initial=0.01), max_cost=0.004)
        ledger = Ledger.for_dataset(root)
        try:
            summary = run_batch(ds, ds.all_ids(), provider, load_prompt("system"), opts, ledger, poll_interval=0,
                                log=lambda m: None)
        finally:
            ledger.close()
        bought = sum(fake.api.bought.values())
    tin, tout = TOKENS["openai"]
    assert 0 < bought < 7 and summary["counts"]["unaffordable"] == 7 - bought
    assert bought * cost(opts.prices, provider.model, tin, tout, batch=True) <= opts.max_cost


def test_batch_summary_line_says_answers_were_bought(tmp_path, cli):
    """A paid batch is not reported as free answers."""
    root = make_dataset(tmp_path / "ds", 3)
    with FakeServer() as fake:
        res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--batch", "--poll", "0.01",
                  "--backoff", "0.01")
    assert res.code == 0, res.stderr
    assert "3 described" in res.stdout and "3 answers bought" in res.stdout and "free" not in res.stdout
