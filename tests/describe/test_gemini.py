"""The gemini provider: the real google-genai SDK against the local fake server's generateContent route."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from langir.describe.images import EncodedImage
from langir.describe.prompts import load_prompt
from langir.describe.providers import FatalError, GeminiProvider, Request, RetryableError
from tests.describe.describe_helpers import SECRET, all_bytes, make_dataset
from tests.describe.fake_server import FakeServer

FAST = ["--backoff", "0.01", "--timeout", "5"]


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def gemini_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL",
                 "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)


def _gemini(fake, *args):
    return ("describe", *args, "--provider", "gemini", "--base-url", fake.url, "--json", *FAST)


def _posts(fake):
    return sum(n for path, n in fake.api.paths.items() if path.endswith(":generateContent"))


def _describe_once(fake, fault: str | None, timeout: float = 5):
    """One request straight through the provider class (the SDK's exception, our classification)."""
    fake.api.faults = [fault] if fault else []
    provider = GeminiProvider(None, SECRET, fake.url, timeout=timeout)
    image = EncodedImage(b"\x89PNG\r\n\x1a\nnot-really", 8, 8)

    async def go():
        try:
            return await provider.describe(Request("x", image, load_prompt("system")))
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_gemini_describes_with_inline_image_usage_and_cost(tmp_path, fake, cli):
    root = make_dataset(tmp_path / "ds", 3)
    fake.api.reply = lambda sha: f"The small target lies in the upper left of image {sha}."
    res = cli(*_gemini(fake, root))
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["provider"] == "gemini" and summary["model"] == "gemini-2.5-flash"
    assert summary["described"] == 3 and _posts(fake) == 3
    assert sorted(fake.api.served.values()) == [1] * 3  # three distinct images, inline bytes, each once
    # usage read from usageMetadata: prompt tokens in, candidates + thinking tokens out
    assert summary["input_tokens"] == 3 * 270 and summary["output_tokens"] == 3 * (22 + 3)
    assert summary["cost_usd"] == pytest.approx(3 * (270 * 0.30 + 25 * 2.50) / 1e6, abs=1e-6)  # rounded to 6 places
    texts = sorted(p.read_text().strip() for p in (root / "descriptions").glob("*.txt"))
    assert texts == sorted(fake.api.reply(sha) for sha in fake.api.served)  # each image got its own answer
    assert fake.api.auth_headers == [SECRET] * 3  # x-goog-api-key
    assert {e["model"] for e in fake.api.log} == {"gemini-2.5-flash"} and {e["temperature"] for e in fake.api.log} == {0.0}
    for path, data in all_bytes(root):
        assert SECRET.encode() not in data, path
    assert SECRET not in res.stdout + res.stderr


def test_gemini_request_shape(fake):
    seen = []
    fake.api.reply_fn = lambda info: seen.append(info["body"]) or None
    reply = _describe_once(fake, None)
    body = seen[0]
    assert body["systemInstruction"]["parts"][0]["text"].startswith("You are an expert")
    parts = body["contents"][-1]["parts"]
    assert parts[0]["inlineData"]["mime_type"] == "image/png" and "Locate the small target" in parts[1]["text"]
    config = body["generationConfig"]
    assert config["maxOutputTokens"] == 300 and config["thinkingConfig"]["thinking_budget"] == 0  # thinking off
    assert reply.text == fake.api.reply("") and json.loads(reply.raw)["finish_reason"] == "STOP"


def test_gemini_transient_faults_are_retried_by_the_runner(tmp_path, fake, cli):
    root = make_dataset(tmp_path / "ds", 3)
    fake.api.faults = ["429", "500", "529", "malformed"]
    res = cli(*_gemini(fake, root, "--concurrency", "1"))
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 3 and summary["retries"] == 4 and summary["api_attempts"] == 7
    assert _posts(fake) == 7


def test_gemini_429_waits_the_servers_retry_delay(tmp_path, fake, cli):
    """RetryInfo.retryDelay (0.05 s) replaces the 30 s backoff this run would otherwise wait."""
    root = make_dataset(tmp_path / "ds", 1)
    fake.api.faults = ["429"]
    t0 = time.perf_counter()
    res = cli("describe", root, "--provider", "gemini", "--base-url", fake.url, "--json", "--backoff", "30")
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["retries"] == 1 and time.perf_counter() - t0 < 10


@pytest.mark.parametrize(("fault", "kind"), [("401", "auth"), ("badkey", "auth"), ("quota", "quota"),
                                             ("400", "bad_request")])
def test_gemini_fatal_errors_have_a_kind(fake, fault, kind):
    with pytest.raises(FatalError) as caught:
        _describe_once(fake, fault)
    assert caught.value.kind == kind
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("fault", ["401", "badkey", "quota"])
def test_gemini_fatal_error_stops_the_run(tmp_path, fake, cli, fault):
    root = make_dataset(tmp_path / "ds", 4)
    fake.api.faults = [fault]
    res = cli(*_gemini(fake, root, "--concurrency", "1"))
    assert res.code == 2 and _posts(fake) == 1  # no retry, no further image
    assert "Traceback" not in res.stderr and not (root / "descriptions").exists()


@pytest.mark.parametrize("fault", ["malformed", "429", "529", "500", "slow"])
def test_gemini_transient_errors_are_retryable(fake, fault):
    fake.api.slow_seconds = 1.0
    with pytest.raises(RetryableError) as caught:
        _describe_once(fake, fault, timeout=0.3)
    if fault == "429":
        assert caught.value.retry_after == pytest.approx(0.05)
    expected = {"slow": "timed out", "malformed": "malformed reply"}.get(fault, "HTTP 5" if fault != "429" else "HTTP 429")
    assert expected in str(caught.value)


def test_gemini_without_key_is_one_line_error(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    res = cli("describe", make_dataset(tmp_path / "ds", 1), "--provider", "gemini")
    assert res.code == 2 and "GEMINI_API_KEY" in res.stderr and "Traceback" not in res.stderr


def test_auto_walks_the_registry_in_order(monkeypatch):
    from langir.describe.providers import choose_provider

    assert choose_provider("auto").name == "gemini"  # only GEMINI_API_KEY is set
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    assert choose_provider("auto").name == "anthropic"  # anthropic comes before gemini
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    assert choose_provider("auto").name == "openai"
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)
    choice = choose_provider("auto")
    assert choice.name == "template" and "$GEMINI_API_KEY" in choice.notice
    assert choose_provider("gemini", require_key=False).name == "gemini"  # dry run: no key needed


def test_gemini_dry_run_uses_its_token_formula_and_prices(tmp_path, fake, cli):
    root = make_dataset(tmp_path / "ds", 2)
    res = cli("describe", root, "--provider", "gemini", "--dry-run", "--json")
    assert res.code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["price_per_million"] == [0.30, 2.50] and report["model"] == "gemini-2.5-flash"
    prompt_tokens = GeminiProvider(None, "k").estimate_input_tokens(48, 40, load_prompt("system"))
    assert report["estimated_input_tokens"] == 2 * prompt_tokens and prompt_tokens > 258  # one 258-token image + text
    assert _posts(fake) == 0


def test_gemini_batch_submit_poll_fetch_resubmit(tmp_path, fake, cli):
    root = make_dataset(tmp_path / "ds", 4)
    fake.api.batch_polls_until_done = 2
    fake.api.faults = ["refusal"]  # first result of the first batch is a refusal → re-submitted
    res = cli(*_gemini(fake, root, "--batch", "--poll", "0.01"))
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 4 and summary["batch"] is True and _posts(fake) == 0
    assert summary["cost_usd"] == pytest.approx(5 * (270 * 0.30 + 25 * 2.50) / 1e6 * 0.5, abs=1e-6)  # half price
    batches = json.loads(cli("describe", "--status", root, "--json").stdout)["batches"]
    assert len(batches) == 2 and {b["status"] for b in batches} == {"fetched"}
    assert sorted(fake.api.served.values()) == [1] * 4
    for path, data in all_bytes(root):
        assert SECRET.encode() not in data, path
