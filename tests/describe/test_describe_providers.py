"""Real openai/anthropic SDK clients against the local fake server: faults, retries, ledger, keys."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest

from tests.describe.describe_helpers import SECRET, all_bytes, make_dataset
from tests.describe.fake_server import FakeServer

FAST = ["--backoff", "0.01", "--timeout", "2"]


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)


def _descriptions(root):
    return sorted((root / "descriptions").glob("*.txt"))


def _model_posts(fake, flavour="openai"):
    path = "POST /v1/chat/completions" if flavour == "openai" else "POST /v1/messages"
    return fake.api.paths[path]


def test_openai_describes_each_once_then_cache(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 6)
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--json", *FAST)
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 6 and summary["failed"] == 0
    assert len(_descriptions(root)) == 6
    assert sorted(fake.api.served.values()) == [1] * 6  # six distinct images, each once
    assert all(h == f"Bearer {SECRET}" for h in fake.api.auth_headers)
    # second run: files kept → no call; with --overwrite: served from the ledger → still no call
    before = _model_posts(fake)
    assert cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, *FAST).code == 0
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--overwrite", "--json", *FAST)
    assert json.loads(res.stdout)["from_ledger"] == 6
    assert _model_posts(fake) == before
    # the key is nowhere on disk and not in any output
    for path, data in all_bytes(root):
        assert SECRET.encode() not in data, path
    assert SECRET not in res.stdout + res.stderr


def test_transient_faults_are_retried(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 4)
    fake.api.faults = ["429", "500", "529", "malformed"]
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--concurrency", "1", "--json", *FAST)
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 4 and summary["retries"] == 4
    assert summary["api_attempts"] == 8


def test_slow_reply_times_out_and_is_retried(tmp_path, keys, cli):
    root = make_dataset(tmp_path / "ds", 1)
    with FakeServer(slow_seconds=1.0) as fake:
        fake.api.faults = ["slow"]
        res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--json",
                  "--timeout", "0.3", "--backoff", "0.01")
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["retries"] == 1


def test_refusal_and_long_reply_are_asked_again(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 1)
    fake.api.faults = ["refusal", "long"]
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--json", *FAST)
    assert res.code == 0, res.stderr
    assert _model_posts(fake) == 3
    text = _descriptions(root)[0].read_text()
    assert "sorry" not in text.lower() and len(text.split()) <= 50


def test_invalid_is_not_cached_and_revalidate_uses_stored_reply(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 1)
    fake.api.faults = ["long"]
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--invalid-retries", "0", "--json", *FAST)
    assert res.code == 1
    assert json.loads(res.stdout)["failures"][0]["reason"].startswith("too long")
    assert not _descriptions(root)
    # new rules (longer limit) accept the stored reply, without any API call
    posts = _model_posts(fake)
    res = cli("describe", root, "--revalidate", "--max-words", "200", "--json")
    assert res.code == 0 and json.loads(res.stdout)["now_valid"] == 1
    assert _model_posts(fake) == posts and len(_descriptions(root)) == 1


def test_invalid_reply_is_retried_on_next_run(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 1)
    fake.api.faults = ["refusal"]
    assert cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--invalid-retries", "0", *FAST).code == 1
    assert cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, *FAST).code == 0
    assert _model_posts(fake) == 2 and len(_descriptions(root)) == 1


@pytest.mark.parametrize("fault", ["401", "quota", "400"])
def test_non_retryable_errors_stop_fast(tmp_path, fake, keys, cli, fault):
    root = make_dataset(tmp_path / "ds", 6)
    fake.api.faults = [fault]
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--concurrency", "1", *FAST)
    assert res.code == 2
    assert _model_posts(fake) == 1  # no retry, no further image
    assert "Traceback" not in res.stderr and "stopped" in res.stderr
    assert not _descriptions(root)
    failed = sqlite3.connect(root / ".langir" / "describe.sqlite").execute(
        "SELECT COUNT(*) FROM requests WHERE status='done'").fetchone()[0]
    assert failed == 0


@pytest.mark.parametrize("fault", ["quota", "billing"])
def test_anthropic_quota_and_billing_errors_stop_with_one_line(tmp_path, fake, keys, cli, fault):
    """An insufficient-quota 429 is not a rate limit: no retry, exit 2, one line, the paid answer kept."""
    root = make_dataset(tmp_path / "ds", 4)
    fake.api.faults = ["ok", fault]
    res = cli("describe", root, "--provider", "anthropic", "--base-url", fake.url, "--concurrency", "1", *FAST)
    assert res.code == 2, res.stderr
    assert fake.api.paths["POST /v1/messages"] == 2  # not retried as a rate limit, nothing after it
    stop = [line for line in res.stderr.splitlines() if line.startswith("stopped")]
    assert len(stop) == 1 and "quota exhausted" in stop[0] and "Traceback" not in res.stderr
    assert len(_descriptions(root)) == 1  # what was paid is kept


def test_anthropic_messages_with_529_and_malformed(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 3)
    fake.api.faults = ["529", "malformed"]
    res = cli("describe", root, "--provider", "anthropic", "--base-url", fake.url, "--concurrency", "1", "--json", *FAST)
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 3 and summary["retries"] == 2
    assert summary["input_tokens"] == 3 * 400  # the three good replies; the 529 had no usage
    assert fake.api.auth_headers and all(SECRET in h for h in fake.api.auth_headers)  # x-api-key or Bearer
    for path, data in all_bytes(root):
        assert SECRET.encode() not in data, path


def test_remote_provider_without_key_is_one_line_error(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    root = make_dataset(tmp_path / "ds", 1)
    res = cli("describe", root, "--provider", "openai")
    assert res.code == 2 and "OPENAI_API_KEY" in res.stderr and "Traceback" not in res.stderr


def test_auto_picks_template_offline(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    root = make_dataset(tmp_path / "ds", 3, empty=(1,))
    res = cli("describe", root, "--json")
    assert res.code == 0 and "template" in res.stderr
    texts = [p.read_text() for p in _descriptions(root)]
    assert sum("No small target" in t for t in texts) == 1


def test_dry_run_estimates_without_calls(tmp_path, fake, cli):
    root = make_dataset(tmp_path / "ds", 5)
    res = cli("describe", root, "--provider", "openai", "--dry-run", "--json")
    assert res.code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["requests"] == 5 and report["estimated_input_tokens"] >= 5 * 255
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o": [1000.0, 0.0]}))
    res = cli("describe", root, "--provider", "openai", "--dry-run", "--json", "--prices", prices)
    assert json.loads(res.stdout)["estimated_cost_usd"] == pytest.approx(report["estimated_input_tokens"] * 1000 / 1e6, rel=1e-3)
    assert not (root / "descriptions").exists() and _model_posts(fake) == 0


def test_max_cost_stops_cleanly(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 6)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o": [10.0, 10.0]}))  # ≈ $0.003 a request
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--prices", prices,
              "--max-cost", "0.008", "--concurrency", "1", "--json", *FAST)
    summary = json.loads(res.stdout)
    assert res.code == 1
    assert 1 <= summary["described"] < 6 and summary["cost_usd"] <= 0.008
    assert {f["status"] for f in summary["failures"]} == {"unaffordable"}
    assert len(_descriptions(root)) == summary["described"]


def test_status_summarises_ledger(tmp_path, fake, keys, cli):
    root = make_dataset(tmp_path / "ds", 2)
    cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, *FAST)
    res = cli("describe", "--status", root, "--json")
    status = json.loads(res.stdout)
    assert status["by_status"] == {"done": 2}
    assert status["groups"][0]["input_tokens"] == 600


@pytest.mark.parametrize("flavour", ["openai", "anthropic"])
def test_batch_submit_poll_fetch_resubmit(tmp_path, fake, keys, cli, flavour):
    root = make_dataset(tmp_path / "ds", 4)
    fake.api.batch_polls_until_done = 2
    fake.api.faults = ["refusal"]  # first result of the first batch is a refusal → re-submitted
    url = fake.openai_url if flavour == "openai" else fake.url
    res = cli("describe", root, "--provider", flavour, "--base-url", url, "--batch", "--poll", "0.01", "--json", *FAST)
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 4 and summary["batch"] is True
    assert len(_descriptions(root)) == 4
    assert _model_posts(fake, flavour) == 0  # everything went through the batch endpoints
    batches = json.loads(cli("describe", "--status", root, "--json").stdout)["batches"]
    assert len(batches) == 2 and {b["status"] for b in batches} == {"fetched"}
    assert sorted(fake.api.served.values()) == [1] * 4
    for path, data in all_bytes(root):
        assert SECRET.encode() not in data, path


def test_batch_resumes_open_batch_after_interrupt(tmp_path, fake, keys, cli, monkeypatch):
    import langir.describe.batch as batch_mod

    root = make_dataset(tmp_path / "ds", 3)
    fake.api.batch_polls_until_done = 3

    def interrupted(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_mod.time, "sleep", interrupted)
    import click

    code = 130
    with contextlib.suppress(KeyboardInterrupt, click.exceptions.Abort):  # Ctrl-C while waiting: exit 130
        code = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--batch", *FAST).code
    assert code == 130
    assert fake.api.paths["POST /v1/batches"] == 1 and not (root / "descriptions").exists()
    monkeypatch.setattr(batch_mod.time, "sleep", lambda s: None)
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--batch", "--json", *FAST)
    assert res.code == 0, res.stderr
    assert "resuming batch" in res.stderr
    assert fake.api.paths["POST /v1/batches"] == 1  # not submitted again
    assert json.loads(res.stdout)["described"] == 3


@pytest.mark.parametrize(("flavour", "fault", "kind"), [
    ("openai", "401", "auth"), ("openai", "quota", "quota"), ("openai", "400", "bad_request"),
    ("anthropic", "401", "auth"), ("anthropic", "400", "bad_request"), ("anthropic", "badkey", "auth"),
])
def test_fatal_errors_carry_a_kind(fake, flavour, fault, kind):
    """The real SDK's exception for each fault, classified by that provider's own rules."""
    import asyncio

    from langir.describe.images import EncodedImage
    from langir.describe.prompts import load_prompt
    from langir.describe.providers import FatalError, Request, choose_provider, make_provider

    fake.api.faults = [fault]
    url = fake.openai_url if flavour == "openai" else fake.url
    provider = make_provider(choose_provider(flavour, require_key=False), base_url=url, timeout=5)

    async def go():
        try:
            await provider.describe(Request("x", EncodedImage(b"png", 4, 4), load_prompt("system")))
        finally:
            await provider.aclose()

    with pytest.raises(FatalError) as caught:
        asyncio.run(go())
    assert caught.value.kind == kind


def test_a_registered_provider_is_used_everywhere(tmp_path, monkeypatch, cli):
    """Adding a class to REGISTRY is all it takes: CLI choice, auto, key check, image limits, prices."""
    import numpy as np

    from langir.describe.images import encode_array
    from langir.describe.pricing import cost, load_prices
    from langir.describe.providers import (
        REGISTRY,
        Provider,
        Reply,
        choose_provider,
        make_provider,
        provider_names,
    )
    from langir.errors import ConfigError

    class EchoProvider(Provider):
        name = "echo"
        key_env = "ECHO_API_KEY"
        default_model = "echo-1"
        max_side = 16
        prices = {"echo-1": (1.0, 2.0)}  # class data, as on the real providers

        def __init__(self, model, api_key, base_url=None, timeout=60.0):
            super().__init__(model)

        async def describe(self, request):
            side = max(request.image.width, request.image.height)
            return Reply(f"The small target lies in the upper left; sent at {side} px.", 100, 10)

    monkeypatch.setitem(REGISTRY, "echo", EchoProvider)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "ECHO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert "echo" in provider_names()
    with pytest.raises(ConfigError, match="ECHO_API_KEY"):
        choose_provider("echo")
    monkeypatch.setenv("ECHO_API_KEY", "k")
    assert choose_provider("auto").name == "echo"
    provider = make_provider(choose_provider("echo"))
    assert isinstance(provider, EchoProvider) and provider.model == "echo-1"
    assert encode_array(np.zeros((40, 48), np.float32), provider=EchoProvider).width == 16
    assert cost(load_prices(None), "echo-1", 1_000_000, 1_000_000) == 3.0
    root = make_dataset(tmp_path / "ds", 2)
    res = cli("describe", root, "--provider", "echo", "--json")
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["cost_usd"] == pytest.approx(2 * (100 * 1.0 + 10 * 2.0) / 1e6)  # its own prices
    assert {p.read_text().strip() for p in _descriptions(root)} == {"The small target lies in the upper left; sent at 16 px."}
    res = cli("describe", root, "--provider", "echo", "--batch", "--overwrite", "--json")
    assert res.code == 2 and "--batch is not available for provider echo" in res.stderr


def test_registry_import_is_light():
    """The CLI lists provider_names() in --help: the registry must not pull in numpy, scipy or an SDK."""
    import subprocess
    import sys

    code = ("import sys, langir.describe.providers as p; print(p.provider_names()); "
            "print(sorted(m for m in ('numpy', 'scipy', 'openai', 'anthropic', 'google.genai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["('auto', 'openai', 'anthropic', 'gemini', 'template')", "[]"]
