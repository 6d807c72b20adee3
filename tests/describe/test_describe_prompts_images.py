"""Prompt files (checkout and wheel), image encoding, token formulas, rate limiter, template on SIRST."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langir.describe.images import encode_array, encode_file
from langir.describe.prompts import STYLES, find_prompt_file, load_prompt
from langir.describe.providers import AnthropicProvider, GeminiProvider, OpenAIProvider, provider_class
from langir.describe.runner import RateLimiter

REPO = Path(__file__).resolve().parents[2]


def test_prompt_styles_are_the_papers():
    system = load_prompt("system", max_words=50)
    assert system.role == "You are an expert who can locate the small target in the infrared image."
    assert system.task == ("Locate the small target within the infrared image and respond succinctly within 50 words, "
                           "detailing the region where the target is situated.")
    assert load_prompt("zero-shot").task == "Detect the small target in the infrared image."
    assert "within 30 words" in load_prompt("system", max_words=30).task
    for style in STYLES:
        text = find_prompt_file(style).read_text()
        assert "targets" not in text.lower()  # §5.6.6: 'target', never 'targets'


def test_user_prompt_file_and_few_shot_needs_examples(tmp_path):
    from langir.errors import ConfigError

    own = tmp_path / "mine.txt"
    own.write_text("Where is the hot spot? Answer in {max_words} words.\n")
    prompt = load_prompt("system", own, max_words=12)
    assert prompt.role == "" and prompt.task == "Where is the hot spot? Answer in 12 words."
    with pytest.raises(ConfigError):
        load_prompt("few-shot")
    (tmp_path / "empty.txt").write_text("# role\nonly a role\n")
    with pytest.raises(ConfigError):
        load_prompt("system", tmp_path / "empty.txt")


def test_wheel_contains_prompt_files(tmp_path):
    pytest.importorskip("hatchling")  # offline build needs the backend installed (no isolation)
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for style in STYLES:
        assert f"langir/prompts/{style}.txt" in names
    # and the package finds them there: prompt_dirs() looks in langir/prompts first
    from langir.describe.prompts import prompt_dirs

    assert prompt_dirs()[0].parts[-2:] == ("langir", "prompts")


@pytest.mark.parametrize("mode", ["L", "I;16", "RGB", "RGBA", "P"])
def test_any_mode_becomes_8bit_png(tmp_path, mode):
    arr = (np.arange(30 * 40).reshape(30, 40) % 251).astype(np.uint8)
    img = Image.fromarray(arr).convert(mode) if mode != "I;16" else Image.fromarray(arr.astype(np.uint16) * 257)
    path = tmp_path / f"x_{mode.replace(';', '')}.png"
    img.save(path)
    enc = encode_file(path)
    back = Image.open(io.BytesIO(base64.b64decode(enc.b64)))
    assert back.format == "PNG" and back.mode in ("L", "RGB") and back.size == (40, 30)
    assert enc.data_url.startswith("data:image/png;base64,")


def test_max_side_downscales_large_keeps_small():
    big = np.random.default_rng(0).random((1080, 1920), dtype=np.float32)
    enc = encode_array(big, max_side=1024)
    assert (enc.width, enc.height) == (1024, 576)
    small = encode_array(big[:256, :256], max_side=1024)
    assert (small.width, small.height) == (256, 256)
    wide = np.tile(np.linspace(0, 1, 3000, dtype=np.float32), (300, 1))
    assert encode_array(wide, max_side=None, provider=provider_class("openai")).width == 2048  # provider limit without --max-side
    assert encode_array(wide, max_side=None, provider=provider_class("anthropic")).width == 3000


def test_image_token_formulas():
    openai_tokens = OpenAIProvider.image_tokens
    assert openai_tokens(256, 256, "low") == 85
    assert openai_tokens(256, 256, "high") == 85 + 170  # one tile
    assert openai_tokens(1024, 1024, "high") == 85 + 170 * 4  # 768×768 → 2×2 tiles
    assert openai_tokens(256, 256, "high", "gpt-4o-mini-2024-07-18") == 2833 + 5667  # the mini models' own rate
    assert AnthropicProvider.image_tokens(750, 100) == 100
    assert AnthropicProvider.image_tokens(3136, 3136) == 1568 * 1568 // 750 + 1  # resized to 1568 first
    assert GeminiProvider.image_tokens(384, 200) == 258  # both sides ≤ 384: one flat charge
    assert GeminiProvider.image_tokens(1000, 500) == 258 * 2  # 768-px tiles: 2 × 1


def test_image_limits_come_from_the_provider_classes():
    noisy = np.random.default_rng(1).random((600, 600), dtype=np.float32)  # PNG cannot compress noise
    big = encode_array(noisy, max_side=None, provider=provider_class("openai"))
    assert big.width == 600

    class Tiny(OpenAIProvider):  # a provider with a 100 kB per-image limit (counted on the base64)
        max_image_bytes = 100_000

    small = encode_array(noisy, max_side=None, provider=Tiny)
    assert len(small.b64) <= 100_000 < len(big.b64) and small.width < 600
    assert encode_array(noisy, max_side=None, provider=provider_class("gemini")).width == 600


def test_rate_limiter_spaces_requests():
    async def go():
        limiter = RateLimiter(rpm=3, tpm=None, window=0.3)
        t0 = time.perf_counter()
        for _ in range(6):
            await limiter.acquire(1)
        return time.perf_counter() - t0

    assert 0.28 <= asyncio.run(go()) < 1.5


def test_template_describes_real_sirst(sirst_root, tmp_path, cli):
    """All 427 SIRST images: 426 described, Misc_111 (mask 592×400 vs image 325×220) skipped with --skip-bad."""
    import shutil

    root = tmp_path / "sirst"
    shutil.copytree(sirst_root / "images", root / "images")
    shutil.copytree(sirst_root / "masks", root / "masks")
    shutil.copytree(sirst_root / "idx_427", root / "idx_427")
    res = cli("describe", root, "--layout", "sirst", "--provider", "template", "--json")
    assert res.code == 1  # one image cannot be described from its mask
    summary = json.loads(res.stdout)
    assert summary["described"] == 426 and [f["id"] for f in summary["failures"]] == ["Misc_111"]
    res = cli("describe", root, "--layout", "sirst", "--provider", "template", "--skip-bad", "--json")
    assert res.code == 0 and "Misc_111" in res.stderr
    from langir.data.dataset import LangIRDataset
    from langir.describe.template import template_description

    ds = LangIRDataset.open(root, "sirst")
    for image_id in ds.ids(None)[:427:7]:
        if image_id != "Misc_111":
            assert ds.read_description(image_id) == template_description(ds.read_mask(image_id))


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P", "I;16", "1"])
def test_request_image_is_the_same_without_the_float_detour(tmp_path, mode):
    """The 8-bit read used for requests sends exactly the PNG the float path would (every grey level)."""
    from langir.data.imageio import read_image, read_image_u8

    rng = np.random.default_rng(1)
    grey = np.arange(256, dtype=np.uint8).repeat(3).reshape(24, 32)  # every level, some twice
    if mode == "I;16":
        img = Image.fromarray((grey.astype(np.uint16) * 257 + rng.integers(0, 200, grey.shape)).astype(np.uint16))
    elif mode in ("RGB", "RGBA"):
        img = Image.fromarray(np.stack([grey, grey[::-1], rng.integers(0, 256, grey.shape, dtype=np.uint8)], -1)).convert(mode)
    else:
        img = Image.fromarray(grey).convert(mode)
    path = tmp_path / "x.png"
    img.save(path)
    fast = read_image_u8(path)
    assert fast.dtype == np.uint8
    assert encode_array(fast).png == encode_array(read_image(path)).png


def test_request_png_is_fast_lossless_and_never_costs_pixels(sirst_root):
    """Each request's PNG is written at zlib level 1 (SIRST: ×4 faster than level 6 for ≈ 20 % more bytes):
    the same pixels; and where a provider's byte limit would shrink it, level 9 is tried first."""
    import time

    from langir.data.imageio import read_image_u8
    from langir.describe.images import REQUEST_COMPRESS_LEVEL, request_image

    frames = [read_image_u8(p) for p in sorted((sirst_root / "images").glob("*.png"))[:40]]
    assert REQUEST_COMPRESS_LEVEL < 6
    for frame in frames[:5]:
        sent = request_image(frame)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(sent.png))), frame)
    timed = {}
    for level in (6, REQUEST_COMPRESS_LEVEL, 6, REQUEST_COMPRESS_LEVEL):  # interleaved: load hits both alike
        t0 = time.process_time()
        for frame in frames:
            encode_array(frame, compress_level=level)
        timed[level] = min(timed.get(level, 1e9), time.process_time() - t0)
    assert timed[REQUEST_COMPRESS_LEVEL] < 0.6 * timed[6], timed

    frame = frames[0]
    tight, fast = encode_array(frame, compress_level=9), request_image(frame)
    assert len(tight.b64) < len(fast.b64)

    class Limited(OpenAIProvider):  # the level-1 PNG is over the limit, the level-9 one is not
        max_image_bytes = len(tight.b64)

    kept = request_image(frame, provider=Limited)
    assert (kept.width, kept.height) == (frame.shape[1], frame.shape[0]) and len(kept.b64) <= Limited.max_image_bytes
