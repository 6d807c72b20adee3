"""A 429's wait as servers write it, good or hostile, through the real OpenAI, Anthropic and Gemini SDKs: seconds,
milliseconds, an HTTP date (honoured); NaN, infinity, a negative number, a date in the past, words (never a crash,
a hang or a storm: the backoff applies, or no wait). The run ends with every answer."""

from __future__ import annotations

import email.utils
import time

import pytest

from langir.describe.providers.base import retry_after
from langir.describe.runner import RetryPolicy
from tests.describe.describe_helpers import describe_at, make_dataset, set_provider_keys
from tests.describe.fake_server import FakeServer

HOSTILE = ["nan", "inf", "-inf", "-5", "soon", "", "1e400", "Wed, 99 Foo 2026 99:99:99 GMT"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_wait_that_is_no_duration_is_ignored(value):
    assert retry_after({"retry-after": value}) is None or retry_after({"retry-after": value}) == 0.0


def test_waits_as_servers_write_them():
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    gone = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after({"retry-after": "7"}) == 7.0
    assert retry_after({"retry-after-ms": "1500"}) == 1.5
    assert 25 < retry_after({"retry-after": soon}) <= 30
    assert retry_after({"retry-after": gone}) == 0.0
    assert retry_after({"retry-after": "-5"}) == 0.0
    assert retry_after({"retry-after": "nan"}) is None and retry_after({"retry-after": "inf"}) is None


def _run(root, name, value):
    with FakeServer() as fake:
        fake.api.faults = ["429", "429"]
        fake.api.retry_after = value
        t0 = time.monotonic()
        summary = describe_at(fake, root, name, concurrency=1, retry=RetryPolicy(initial=0.01, max_wait=0.05))
        return summary, fake.api.model_requests, time.monotonic() - t0


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("value", ["nan", "-5", "inf", "soon", "1e400"])
def test_hostile_waits_end_the_run_with_every_answer(tmp_path, monkeypatch, name, value):
    set_provider_keys(monkeypatch)
    summary, requests, took = _run(make_dataset(tmp_path / "ds", 2), name, value)
    assert summary["answers"] == 2 and summary["failed"] == 0 and requests == 4
    assert took < 10


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_an_http_date_is_honoured(tmp_path, monkeypatch, name):
    set_provider_keys(monkeypatch)
    summary, requests, took = _run(make_dataset(tmp_path / "ds", 1), name,
                                   email.utils.formatdate(time.time() + 2, usegmt=True))
    assert summary["answers"] == 1 and requests == 3
    assert took >= 1.0  # two 429s, each asking to wait until a second or two from now
