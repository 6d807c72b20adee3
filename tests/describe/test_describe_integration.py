"""How the provider registry, the describe loop and the data layer's guards fit together in the CLI."""

from __future__ import annotations

import json
import os

import pytest

from langir.describe.providers import REGISTRY, provider_names
from tests.describe.describe_helpers import SECRET, make_dataset
from tests.describe.fake_server import FakeServer
from tests.describe.vlm_helpers import FakeVLM, VLMServer, truth_cells

FAST = ["--backoff", "0.01", "--timeout", "5"]


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


def _descriptions(root):
    return sorted((root / "descriptions").glob("*.txt"))


@pytest.mark.parametrize("name", [n for n, cls in REGISTRY.items() if cls.remote])
def test_dry_run_needs_no_key_for_any_remote_provider(tmp_path, cli, monkeypatch, name):
    """Nothing is sent, so no key is asked for, whichever provider is named (was: openai/anthropic only)."""
    for cls in REGISTRY.values():
        if cls.key_env:
            monkeypatch.delenv(cls.key_env, raising=False)
    root = make_dataset(tmp_path / "ds", 3)
    res = cli("describe", root, "--provider", name, "--dry-run", "--json")
    assert res.code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["provider"] == name and report["requests"] == 3 and report["estimated_input_tokens"] > 0
    assert not (root / "descriptions").exists() and not (root / ".langir").exists()
    # a real run still needs the key: one line naming the variable
    res = cli("describe", root, "--provider", name)
    assert res.code == 2 and REGISTRY[name].key_env in res.stderr and "Traceback" not in res.stderr


def test_help_lists_the_registry(cli):
    res = cli("describe", "--help")
    assert res.code == 0
    text = " ".join(res.stdout.split())
    assert "|".join(provider_names()) in text.replace(" ", "") or all(n in text for n in provider_names())
    for name, cls in REGISTRY.items():
        if cls.remote:
            assert cls.default_model in text and cls.key_env in text, name
    assert "--batch-max-requests" in text and "Examples" in text


def test_unknown_provider_is_one_line(tmp_path, cli):
    res = cli("describe", make_dataset(tmp_path / "ds", 1), "--provider", "nope")
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert all(n in res.stderr for n in provider_names())


def test_batch_max_requests_splits_the_batch(tmp_path, fake, cli, monkeypatch):
    """--batch-max-requests reaches the provider: 5 images in batches of 2 → 3 batches, each answer once."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = make_dataset(tmp_path / "ds", 5)
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--batch", "--poll", "0.01",
              "--batch-max-requests", "2", "--json", *FAST)
    assert res.code == 0, res.stderr
    assert fake.api.paths["POST /v1/batches"] == 3
    assert sorted(fake.api.served.values()) == [1] * 5 and len(_descriptions(root)) == 5
    res = cli("describe", root, "--provider", "openai", "--batch", "--batch-max-requests", "0")
    assert res.code == 2 and "--batch-max-requests" in res.stderr


@pytest.mark.parametrize(("fault", "label", "advice"), [("401", "key refused", "$OPENAI_API_KEY"),
                                                        ("quota", "quota exhausted", "add credit"),
                                                        ("400", "request refused", "--model")])
def test_fatal_kind_gives_one_line_with_advice(tmp_path, fake, cli, monkeypatch, fault, label, advice):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = make_dataset(tmp_path / "ds", 4)
    fake.api.faults = [fault]
    res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url, "--concurrency", "1", *FAST)
    assert res.code == 2
    stopped = [line for line in res.stderr.splitlines() if line.startswith("stopped")]
    assert len(stopped) == 1 and f"stopped ({label})" in stopped[0] and advice in stopped[0], res.stderr
    assert "3 image(s) not sent" in stopped[0] and SECRET not in res.stderr


def test_curate_stop_line_uses_the_kind(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = make_dataset(tmp_path / "ds", 4, size=(48, 48))
    vlm = FakeVLM(truth_cells(root / "images", root / "masks"), p_wrong=0.0)
    with VLMServer(vlm) as server:
        server.api.faults = ["quota"] * 10
        res = cli("curate", root, "--provider", "openai", "--base-url", server.openai_url, "--concurrency", "1", *FAST)
        posts = server.api.paths["POST /v1/chat/completions"]
    assert res.code == 2 and posts == 1
    stopped = [line for line in res.stderr.splitlines() if "quota" in line]
    assert len(stopped) == 1 and "stopped (quota exhausted)" in stopped[0] and "add credit" in stopped[0], res.stderr


def test_fifo_image_is_that_ids_failure_not_a_hang(tmp_path, cli):
    """The ledger hashes files through the data layer's guard: a FIFO is one listed failure (exit 1)."""
    root = make_dataset(tmp_path / "ds", 3)
    image = sorted((root / "images").glob("*.png"))[1]
    image.unlink()
    os.mkfifo(image)
    res = cli("describe", root, "--provider", "template", "--json")
    assert res.code == 1, res.stderr
    summary = json.loads(res.stdout)
    assert summary["described"] == 2 and [f["id"] for f in summary["failures"]] == [image.stem]
    assert "FIFO" in summary["failures"][0]["reason"] and str(image) in summary["failures"][0]["reason"]
    assert len(_descriptions(root)) == 2


def test_ids_file_errors_name_the_file(tmp_path, cli):
    root = make_dataset(tmp_path / "ds", 2)
    ids = tmp_path / "ids.txt"
    ids.write_text("ir_00000\n../../etc/passwd\n")
    res = cli("describe", root, "--provider", "template", "--ids", ids)
    assert res.code == 2 and str(ids) in res.stderr and "line 2" in res.stderr and "root:x:0" not in res.stderr
    assert not (root / "descriptions").exists()
    os.unlink(ids)
    os.mkfifo(ids)
    res = cli("describe", root, "--provider", "template", "--ids", ids)
    assert res.code == 2 and str(ids) in res.stderr and "Traceback" not in res.stderr


def test_readonly_ledger_folder_is_one_line(tmp_path, cli, monkeypatch):
    """A dataset that cannot hold the ledger: one line naming the folder, exit 2, nothing written."""
    root = make_dataset(tmp_path / "ds", 2)
    monkeypatch.setenv("LANGIR_FAULT_INJECT", "EROFS")  # the atomic writer's test hook (no root needed)
    res = cli("describe", root, "--provider", "template")
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert str(root / ".langir") in res.stderr and "read-only" in res.stderr
    assert not (root / ".langir").exists() and not (root / "descriptions").exists()
