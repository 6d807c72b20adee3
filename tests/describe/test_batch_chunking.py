"""--batch splits work into batches within each provider's limits (request count and bytes).

The fake server enforces small limits with the provider's own error (OpenAI: 400 file_too_large
on upload, a "failed" batch for too many lines; Anthropic: 413 request_too_large / 400), so a run
that ignored the limits fails against it, and the chunked run passes with the real SDKs.
"""

from __future__ import annotations

import json

import pytest

from langir.data.dataset import LangIRDataset
from langir.describe.batch import chunked, run_batch
from langir.describe.images import encode_file
from langir.describe.ledger import Ledger
from langir.describe.prompts import load_prompt
from langir.describe.providers import Request, choose_provider, make_provider
from langir.describe.runner import DescribeError, DescribeOptions, RetryPolicy
from tests.describe.describe_helpers import make_dataset, set_provider_keys
from tests.describe.fake_server import FakeServer

N = 7


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    set_provider_keys(monkeypatch)


def test_chunked_respects_both_limits_in_order():
    items = [(f"k{i}", f"e{i}", size) for i, size in enumerate([40, 40, 40, 90, 10, 10, 10, 10, 200])]
    refused = []
    chunks = list(chunked(iter(items), max_requests=3, max_bytes=100, overhead=5, too_large=lambda k, s: refused.append(k)))
    assert [[k for k, _ in c] for c in chunks] == [["k0", "k1"], ["k2"], ["k3"], ["k4", "k5", "k6"], ["k7"]]
    assert refused == ["k8"]  # 5 + 200 > 100 on its own: never sent
    sizes = {k: s for k, _, s in items}
    assert all(5 + sum(sizes[k] for k, _ in c) <= 100 and len(c) <= 3 for c in chunks)


def _setup(tmp_path, flavour, fake, **limits):
    root = make_dataset(tmp_path / "ds", N)
    ds = LangIRDataset.open(root)
    url = fake.openai_url if flavour == "openai" else fake.url
    provider = make_provider(choose_provider(flavour), base_url=url, timeout=5, **limits)
    opts = DescribeOptions(retry=RetryPolicy(attempts=2, initial=0.01))
    return root, ds, provider, opts


def _entry_sizes(ds, provider, prompt) -> list[int]:
    api = provider.batch_api()
    sizes = []
    for image_id in ds.all_ids():
        request = Request(image_id, encode_file(ds.image_path(image_id), 1024, provider), prompt)
        sizes.append(api.entry_bytes(api.entry("x" * 32, request)))
    return sizes


def _run(ds, provider, opts, root):
    ledger = Ledger.for_dataset(root)
    try:
        return run_batch(ds, ds.all_ids(), provider, load_prompt("system"), opts, ledger, poll_interval=0, log=lambda m: None)
    finally:
        ledger.close()


def _batches(root) -> list[dict]:
    ledger = Ledger.for_dataset(root)
    try:
        rows = ledger.db.execute("SELECT batch_id, status, keys FROM batches ORDER BY created").fetchall()
    finally:
        ledger.close()
    return [{"id": b, "status": s, "keys": json.loads(k)} for b, s, k in rows]


@pytest.mark.parametrize("flavour", ["openai", "anthropic", "gemini"])
def test_defaults_break_a_small_server_limit(tmp_path, fake, flavour):
    """Control: with the documented (large) limits, the fake's small limits refuse the one big batch."""
    fake.api.batch_limits[flavour] = (3, 10**9) if flavour == "openai" else (100, 8_000)
    root, ds, provider, opts = _setup(tmp_path, flavour, fake)
    assert provider.batch_max_requests >= 50_000 and provider.batch_max_bytes >= 20 * 1024 * 1024
    with pytest.raises(DescribeError, match="too_many_requests|limit is 3|request_too_large|payload size exceeds"):
        _run(ds, provider, opts, root)
    assert not (root / "descriptions").exists()
    assert all(b["status"] == "failed" for b in _batches(root))  # a refused batch is not resumed forever


@pytest.mark.parametrize("flavour", ["openai", "anthropic", "gemini"])
def test_batches_are_chunked_within_limits(tmp_path, fake, flavour):
    prompt = load_prompt("system")
    root, ds, provider, opts = _setup(tmp_path, flavour, fake)
    sizes = _entry_sizes(ds, provider, prompt)
    overhead = provider.batch_api().overhead_bytes
    max_bytes = overhead + max(sizes) * 2 + 10  # two requests fit, never three
    fake.api.batch_limits[flavour] = (3, max_bytes + 400)  # the server's limit; ours leaves a margin
    root, ds, provider, opts = _setup(tmp_path / "run", flavour, fake, batch_max_requests=3, batch_max_bytes=max_bytes)
    summary = _run(ds, provider, opts, root)
    assert summary["described"] == N and summary["failed"] == 0
    assert sorted(fake.api.served.values()) == [1] * N  # each image bought once
    batches = _batches(root)
    keys = [k for b in batches for k in b["keys"]]
    assert len(batches) == 4 and len(keys) == len(set(keys)) == N  # ceil(7 / 2): each chunk its own ledger batch
    assert {b["status"] for b in batches} == {"fetched"}
    if flavour == "openai":  # what the server really received: JSONL files within the byte limit
        uploads = [f for f in fake.api.files.values() if b'"custom_id"' in f and b'"method"' in f]
        assert len(uploads) == 4 and all(len(f) <= max_bytes for f in uploads)


def test_request_count_limit_alone_chunks(tmp_path, fake):
    fake.api.batch_limits["openai"] = (3, 10**9)
    root, ds, provider, opts = _setup(tmp_path, "openai", fake, batch_max_requests=3)
    summary = _run(ds, provider, opts, root)
    assert summary["described"] == N
    assert [len(b["keys"]) for b in _batches(root)] == [3, 3, 1]


def test_request_larger_than_a_batch_fails_alone(tmp_path, fake):
    root, ds, provider, opts = _setup(tmp_path, "anthropic", fake, batch_max_bytes=600)  # smaller than any request
    summary = _run(ds, provider, opts, root)
    assert summary["described"] == 0 and summary["failed"] == N and fake.api.paths["POST /v1/messages/batches"] == 0
    assert "exceeds the batch limit" in summary["failures"][0]["reason"]


@pytest.mark.parametrize("flavour", ["openai", "anthropic", "gemini"])
def test_ambiguous_submit_is_found_not_repeated(tmp_path, fake, flavour):
    """A batch creation that times out may have been accepted: it is looked up by its tag, never sent twice."""
    fake.api.batch_create_delay = 1.0
    root = make_dataset(tmp_path / "ds", 3)
    ds = LangIRDataset.open(root)
    url = fake.openai_url if flavour == "openai" else fake.url
    provider = make_provider(choose_provider(flavour), base_url=url, timeout=0.4)
    opts = DescribeOptions(retry=RetryPolicy(attempts=4, initial=0.01))
    summary = _run(ds, provider, opts, root)
    assert summary["described"] == 3
    assert len(fake.api.batches) == 1  # created once (the server did), found by its tag, never re-sent
    assert sorted(fake.api.bought.values()) == [1, 1, 1]
