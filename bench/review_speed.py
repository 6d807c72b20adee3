"""How fast `langir review` opens a 10,000-image set: server start, first paint, the failing filter.

Run: ``python bench/review_speed.py [--count 10000] [--size 64] [--out /tmp/review-bench]``; needs the
extra `review`, playwright (the Python package) and Debian's Chromium (/usr/bin/chromium). Makes a
synthetic set (`langir synth`), describes it with the offline template, plants a contradicting text
in every 20th sample, then measures in a real headless Chromium:

- start: from launching `langir review` to its URL line (every sample judged: cold, then cached);
- first paint: from navigation to the first page of cards with their thumbnails drawn;
- failing filter: from choosing "failing" in the menu to its cards drawn.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's langir, not an installed copy
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def make_set(root: Path, count: int, size: int) -> int:
    from langir.data.synth import synthesize

    if (root / "descriptions").is_dir():
        return sum(1 for _ in (root / "descriptions").iterdir())
    synthesize(root, count=count, size=(size, size), seed=0, empty_fraction=0.0, max_targets=1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "langir", "describe", str(root), "--provider", "template"],
                   check=True, env=env, capture_output=True)
    planted = 0
    for i, path in enumerate(sorted((root / "descriptions").glob("*.txt"))):
        if i % 20 == 0:  # a claim the template would not make for a single target: "lower right and upper left"
            path.write_text("One small target lies in the lower right corner and another in the upper left.\n")
            planted += 1
    return planted


def start(root: Path, cache: Path) -> tuple[subprocess.Popen, str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "langir", "review", str(root), "--port", "0", "--no-open"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        raise SystemExit(f"review did not start: {proc.stderr.read()}")
    return proc, url, time.perf_counter() - t0


def measure(browser, url: str) -> tuple[float, float, int]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function("document.querySelectorAll('.card').length > 0 && "
                           "[...document.querySelectorAll('.card img')].slice(0, 8).every(i => i.complete)")
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    page.select_option('select[name="filter"]', "failing")
    page.wait_for_function("[...document.querySelectorAll('.card')].length > 0 && "
                           "[...document.querySelectorAll('.card')].every(c => c.dataset.failing === '1') && "
                           "[...document.querySelectorAll('.card img')].slice(0, 8).every(i => i.complete)")
    failing = time.perf_counter() - t1
    total = int(page.inner_text("#count").split(" of ")[-1])
    context.close()
    return first, failing, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("/tmp/langir-review-bench"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root, cache = args.out / "set", args.out / "cache"
    t0 = time.perf_counter()
    planted = make_set(root, args.count, args.size)
    made = time.perf_counter() - t0
    shutil.rmtree(cache, ignore_errors=True)
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        for label in ("cold cache", "warm cache"):
            proc, url, started = start(root, cache)
            try:
                first, failing, total = measure(browser, url)
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
            rows.append((label, started, first, failing, total))
        browser.close()
    cpu = platform.processor() or platform.machine()
    print(f"{args.count} images of {args.size}×{args.size} ({planted} planted failures; set made in {made:.0f} s), "
          f"{os.cpu_count()} CPU(s) {cpu}, Python {platform.python_version()}\n")
    print("| run | start → URL (s) | first paint (s) | failing filter (s) | failing shown |")
    print("|---|---:|---:|---:|---:|")
    for label, started, first, failing, total in rows:
        print(f"| {label} | {started:.2f} | {first:.2f} | {failing:.2f} | {total} |")


if __name__ == "__main__":
    main()
