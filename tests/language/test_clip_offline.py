"""Training without reachable CLIP weights (issue 22 §2): one line within seconds naming the offline choices.

The hub is made unreachable without touching the network: HF_HUB_OFFLINE=1, or HF_ENDPOINT on a
closed port of 127.0.0.1. HF_HOME points at an empty folder, so no weights are cached.
"""

from __future__ import annotations

import resource
import socket
import time

import pytest

from tests.conftest import run_langir

pytest.importorskip("open_clip")

FLAGS = ("--clip-model langir-tiny --clip-pretrained none", "--clip-pretrained FILE", "--language-prior never")


def _closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def described_demo(demo_copy, cli):
    assert cli("describe", demo_copy, "--provider", "template").code == 0
    return demo_copy


@pytest.mark.parametrize("hub", ["offline-variable", "closed-port"])
def test_offline_train_fails_in_one_line_naming_the_flags(described_demo, tmp_path, hub):
    env = {"HF_HOME": str(tmp_path / "hf-empty"), "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": ""}
    if hub == "offline-variable":
        env["HF_HUB_OFFLINE"] = "1"
    else:
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{_closed_port()}"
    run = tmp_path / "run"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = run_langir("train", described_demo, "--model", "lgnet", "--epochs", "2", "--size", "64", "--out", run, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert res.code == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr  # no retry warnings, no "Failed to download" log lines, no traceback
    assert lines[0].startswith("error: CLIP ViT-B-16 weights 'openai'") and all(flag in lines[0] for flag in FLAGS), lines[0]
    assert ("HF_HUB_OFFLINE=1" if hub == "offline-variable" else "cannot be reached") in lines[0]
    assert not run.exists()
    # Before: ~40 retry warnings over ~58 s (sleeping, so little CPU). CPU time is what a loaded 2-core
    # machine cannot stretch: importing torch + open_clip is ~4 s of it; the wall time is reported.
    assert cpu < 10, (cpu, wall)
    print(f"offline train ({hub}): {wall:.1f} s wall, {cpu:.1f} s CPU")


def test_load_clip_fails_at_once_when_offline(monkeypatch, tmp_path):
    """In-process, after the imports: the check costs no network wait at all."""
    from langir.errors import ConfigError
    from langir.language.clip import load_clip

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache, whatever this machine holds
    start = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_clip("ViT-B-16", "openai")
    assert time.perf_counter() - start < 5
    message = str(caught.value)
    assert "\n" not in message and "HF_HUB_OFFLINE=1" in message and all(flag in message for flag in FLAGS)


def test_untrained_tiny_clip_loads_quietly(capfd):
    """The offline choice itself works and prints nothing (open_clip's "No pretrained weights" warning is silenced)."""
    import logging

    from langir.language.clip import TINY_NAME, load_clip

    handlers = list(logging.getLogger().handlers)
    model, _, tokenizer = load_clip(TINY_NAME, None)
    assert tokenizer(["a target"]).shape[0] == 1 and sum(p.numel() for p in model.parameters()) > 0
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert logging.getLogger().handlers == handlers  # the root logger is left as it was


def test_hub_that_answers_but_has_no_weights_is_one_line(described_demo, tmp_path):
    """The endpoint answers (every request 404, a local server), so the download is tried and fails: still one line."""
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def _reply(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _reply

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        env = {"HF_HOME": str(tmp_path / "hf-empty"), "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": "",
               "HF_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}"}
        res = run_langir("train", described_demo, "--model", "lgnet", "--epochs", "1", "--size", "64", "--out", tmp_path / "run",
                         env=env, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.code == 2 and len(lines) == 1, res.stderr
    assert lines[0].startswith("error: cannot download CLIP ViT-B-16 weights 'openai'") and all(f in lines[0] for f in FLAGS), lines[0]
    assert not (tmp_path / "run").exists()
