"""A describe run quiets Python's cyclic GC while it runs (objects present frozen, a higher young threshold)
and leaves the collector exactly as it found it, a caller's own freeze included."""

from __future__ import annotations

import asyncio
import gc

import pytest

from langir.data.dataset import LangIRDataset
from langir.describe.execute import RUN_GC_THRESHOLD
from langir.describe.ledger import Ledger
from langir.describe.prompts import load_prompt
from langir.describe.providers import choose_provider, make_provider
from langir.describe.runner import DescribeOptions, describe_async
from tests.describe.describe_helpers import describe_at, make_dataset, set_provider_keys
from tests.describe.fake_server import FakeServer


def _run(root, seen, faults=()):
    with FakeServer() as fake:
        fake.api.faults = list(faults)

        def reply_fn(info):  # the fake server's threads share this process: the run's collector, seen live
            seen.append((gc.get_threshold(), gc.get_freeze_count()))
            return None

        fake.api.reply_fn = reply_fn
        return describe_at(fake, root, concurrency=3)


def test_the_collector_is_quiet_during_a_run_and_as_it_was_after(tmp_path, monkeypatch):
    set_provider_keys(monkeypatch)
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    gc.set_threshold(555, 9, 8)
    seen: list = []
    try:
        summary = _run(make_dataset(tmp_path / "ds", 6), seen)
        after = gc.get_threshold(), gc.get_freeze_count()
    finally:
        gc.set_threshold(*before)
    assert summary["answers"] == 6 and len(seen) == 6
    assert all(threshold == (RUN_GC_THRESHOLD, 9, 8) and frozen > 0 for threshold, frozen in seen)
    assert after == ((555, 9, 8), 0)


def test_a_callers_own_freeze_is_left_alone(tmp_path, monkeypatch):
    set_provider_keys(monkeypatch)
    gc.freeze()
    frozen = gc.get_freeze_count()
    seen: list = []
    try:
        _run(make_dataset(tmp_path / "ds", 3), seen)
        assert gc.get_freeze_count() > frozen // 2  # not unfrozen by the run (an unfreeze empties it)
        assert all(count > frozen // 2 for _, count in seen)
    finally:
        gc.unfreeze()


def test_a_run_stopped_or_cancelled_still_restores_the_collector(tmp_path, monkeypatch):
    """A quota error stops the run early; a caller cancelling the run's task ends it with CancelledError
    raised through the run. Either way the collector is as the caller left it."""
    set_provider_keys(monkeypatch)
    before = gc.get_threshold()
    gc.set_threshold(444, 7, 6)
    try:
        stopped = _run(make_dataset(tmp_path / "a", 4), [], faults=["quota"] * 8)
        after_stop = gc.get_threshold(), gc.get_freeze_count()
        during = asyncio.run(_cancelled_mid_run(make_dataset(tmp_path / "b", 6)))
        after_cancel = gc.get_threshold(), gc.get_freeze_count()
    finally:
        gc.set_threshold(*before)
    assert stopped["stopped_kind"] == "quota" and stopped["answers"] == 0
    assert during[0] == (RUN_GC_THRESHOLD, 7, 6) and during[1] > 0  # it was quiet when cancelled
    assert after_stop == after_cancel == ((444, 7, 6), 0)


async def _cancelled_mid_run(root):
    """Cancel a describe run once a request is at the (slow) server; the collector as seen then."""
    ds = LangIRDataset.open(root)
    with FakeServer(latency=5.0) as fake:
        provider = make_provider(choose_provider("openai"), base_url=fake.openai_url, timeout=30)
        ledger = Ledger.for_dataset(root)
        try:
            task = asyncio.create_task(describe_async(ds, ds.all_ids(), provider, load_prompt("system"),
                                                      DescribeOptions(concurrency=2), ledger))
            for _ in range(500):
                if fake.api.model_requests:
                    break
                await asyncio.sleep(0.01)
            during = gc.get_threshold(), gc.get_freeze_count()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return during
        finally:
            await provider.aclose()
            ledger.close()
