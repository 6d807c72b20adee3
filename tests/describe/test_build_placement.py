"""Where a request is built (on the event loop for small frames, on the worker thread for large ones) never
changes what is sent, what is kept or how a bad file is reported."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from langir.describe.build import CHEAP_BUILD_BYTES
from tests.describe.describe_helpers import SECRET, make_dataset
from tests.describe.fake_server import FakeServer, image_bytes


def _mixed_dataset(root):
    """Four small frames, two large noise frames (PNG over CHEAP_BUILD_BYTES), one corrupt of each size."""
    make_dataset(root, 4, size=(32, 32))
    rng = np.random.default_rng(1)
    for i in (4, 5):
        frame = rng.integers(0, 256, (200, 200), dtype=np.uint8)
        frame[40:42, 50:52] = 255
        mask = np.zeros((200, 200), np.uint8)
        mask[40:42, 50:52] = 255
        Image.fromarray(frame).save(root / "images" / f"ir_{i:05d}.png")
        Image.fromarray(mask).save(root / "masks" / f"ir_{i:05d}.png")
    good_large = (root / "images" / "ir_00004.png").read_bytes()
    (root / "images" / "ir_00006.png").write_bytes(good_large[: 3 * len(good_large) // 4])  # large, cut short
    (root / "images" / "ir_00007.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # small, broken
    for i in (6, 7):
        Image.fromarray(np.zeros((200, 200), np.uint8)).save(root / "masks" / f"ir_{i:05d}.png")
    sizes = {p.stem: p.stat().st_size for p in (root / "images").glob("*.png")}
    assert sizes["ir_00004"] > CHEAP_BUILD_BYTES and sizes["ir_00006"] > CHEAP_BUILD_BYTES
    assert sizes["ir_00000"] <= CHEAP_BUILD_BYTES and sizes["ir_00007"] <= CHEAP_BUILD_BYTES
    return root


def test_small_and_large_frames_are_sent_exactly_and_bad_ones_named(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    root = _mixed_dataset(tmp_path / "ds")
    sent = {}

    def reply_fn(info):
        png = Image.open(io.BytesIO(image_bytes(info)))
        sent.setdefault(png.size, []).append(np.asarray(png.convert("L")))  # server threads: one atomic append
        return None

    with FakeServer() as fake:
        fake.api.reply_fn = reply_fn
        res = cli("describe", root, "--provider", "openai", "--base-url", fake.openai_url,
                  "--concurrency", "4", "--backoff", "0.01")
    out = " ".join((res.stdout + res.stderr).split())  # the table may fold long lines
    assert res.code == 1 and "6 described" in out and "2 failed" in out, out
    assert "ir_00006.png: corrupt image: image file is truncated" in out  # built on the thread
    assert "ir_00007.png: not a readable image" in out  # built on the loop
    # every frame went out pixel for pixel, built on the loop (32×32) or on the thread (200×200)
    files = {i: np.asarray(Image.open(root / "images" / f"ir_{i:05d}.png").convert("L")) for i in range(6)}
    assert sorted(a.tobytes() for v in sent.values() for a in v) == sorted(f.tobytes() for f in files.values())
    assert len(sent[(32, 32)]) == 4 and len(sent[(200, 200)]) == 2
    assert len(list((root / "descriptions").glob("*.txt"))) == 6


def test_the_placement_follows_the_planned_file_size(tmp_path):
    from langir.data.dataset import LangIRDataset
    from langir.describe.build import RequestBuilder
    from langir.describe.options import DescribeOptions
    from langir.describe.prompts import load_prompt
    from langir.describe.providers import OpenAIProvider

    ds = LangIRDataset.open(_mixed_dataset(tmp_path / "ds"))
    builder = RequestBuilder(ds, OpenAIProvider("gpt-4o", "k", "http://127.0.0.1:9/v1"), load_prompt("system"),
                             DescribeOptions())
    assert builder.cheap("ir_00000") and not builder.cheap("ir_00004")  # looked up when not planned
    assert builder.cheap("ir_00004", size=100) and not builder.cheap("ir_00000", size=CHEAP_BUILD_BYTES + 1)
    assert builder.cheap("missing")  # the build itself reports a missing file
