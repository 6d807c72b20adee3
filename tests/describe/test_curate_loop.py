"""`langir curate`: rounds of describe → validate → redo until all agree, within rounds and the cost cap."""

from __future__ import annotations

import json

import pytest

from tests.describe.describe_helpers import SECRET, make_dataset
from tests.describe.vlm_helpers import FakeVLM, VLMServer, assert_every_paid_answer_recorded_once, truth_cells

FAST = ["--backoff", "0.01", "--timeout", "5"]
PER_CALL = (300 * 2.5 + 20 * 10.0) / 1e6  # the fake's usage at gpt-4o prices


@pytest.fixture
def ccli(cli, monkeypatch):
    """The shared `cli` fixture with `curate` registered (until the lead adds it to COMMAND_MODULES)."""
    from langir.cli import app
    from langir.cli.curate import register

    if not any(c.name == "curate" for c in app.registered_commands):
        register(app)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return cli


def _setup(tmp_path, n=12, **kwargs):
    root = make_dataset(tmp_path / "ds", n, size=(48, 48), empty=kwargs.pop("empty", ()))
    return root, FakeVLM(truth_cells(root / "images", root / "masks"), **kwargs)


def test_curate_rounds_until_all_agree(tmp_path, ccli):
    root, vlm = _setup(tmp_path, 12, empty=(5,), p_wrong=0.5, seed=2)
    with VLMServer(vlm) as server:
        res = ccli("curate", root, "--provider", "openai", "--base-url", server.openai_url, "--json", *FAST)
        posts = server.api.paths["POST /v1/chat/completions"]
        temps = [r["temperature"] for r in server.requests]
        prompts = [r["prompt"] for r in server.requests]
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    rounds = data["rounds"]
    assert data["stopped"] == "all-agree" and data["agreement"] == 1.0 and data["failing_ids"] == []
    assert 2 <= len(rounds) <= 3
    assert rounds[0]["asked"] == 12 and rounds[0]["agreement"] < 1.0
    # each later round asks exactly the ids the previous validation flagged, once each
    for before, after in zip(rounds, rounds[1:], strict=False):
        assert after["asked"] == before["failing"] == before["to_redo"]
        assert after["answers"] == after["asked"]
    assert posts == sum(r["calls"] for r in rounds) == data["calls"]
    assert_every_paid_answer_recorded_once(root, server)
    assert data["cost_usd"] == pytest.approx(posts * PER_CALL)
    assert all(t >= 0.7 for t in temps[12 : 12 + rounds[1]["asked"]])  # 'same' is sampled, not repeated
    if len(rounds) == 3:
        assert rounds[2]["strategy"] == "grounded"
        assert all("part of the image" in p or "center of the image" in p for p in prompts[-rounds[2]["asked"]:])


def test_curate_stops_at_the_cost_cap(tmp_path, ccli):
    root, vlm = _setup(tmp_path, 12, p_wrong=1.0)  # wrong without a hint: rounds keep going
    cap = 0.02
    with VLMServer(vlm) as server:
        res = ccli("curate", root, "--provider", "openai", "--base-url", server.openai_url, "--max-cost", str(cap),
                   "--redo-styles", "same", "--rounds", "5", "--json", *FAST)
        posts = server.api.paths["POST /v1/chat/completions"]
    data = json.loads(res.stdout)
    assert res.code == 1
    assert data["stopped"] == "max-cost"
    assert posts * PER_CALL <= cap and data["cost_usd"] <= cap


def test_curate_table_and_bad_strategy(tmp_path, ccli):
    root, vlm = _setup(tmp_path, 4, p_wrong=0.0)
    with VLMServer(vlm) as server:
        res = ccli("curate", root, "--provider", "openai", "--base-url", server.openai_url, *FAST)
    assert res.code == 0, res.stderr
    assert "Curation rounds" in res.stdout and "100.0 %" in res.stdout and "all agree" not in res.stderr
    res = ccli("curate", root, "--provider", "template", "--redo-styles", "same,best")
    assert res.code == 2 and "--redo-styles" in res.stderr and len(res.stderr.strip().splitlines()) == 1
