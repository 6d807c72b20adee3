"""Cost of `langir train --finetune-text` on CPU: epoch time and peak memory, frozen vs fine-tuned text encoder.

    python bench/train_finetune_text.py                        # narrow LGNet, 32², tiny untrained CLIP
    python bench/train_finetune_text.py --clip-model ViT-B-16  # the paper's CLIP size (untrained: no download)
    python bench/train_finetune_text.py --widths '' --size 512 --clip-model ViT-B-16  # the paper's setting (GPU-sized)

Each setting runs in its own process (peak RSS = resource.getrusage ru_maxrss of that process) on the
same synthetic dataset, seed and config; the epoch time is the fastest training epoch after the first
(metrics.csv `seconds`: the training pass only, validation and CLIP embedding excluded), and the
settings alternate over ``--repeats`` rounds keeping each one's fastest, so load from other processes
on a shared machine inflates both alike. Prints one JSON line per run and the ratios; figures go to
BENCHMARKS.md with the machine named.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import torch

    from langir.train.config import TrainConfig
    from langir.train.engine import train

    torch.set_num_threads(args.threads)
    config = TrainConfig(dataset=args.data, out=args.out, model=args.model, epochs=args.epochs, batch_size=args.batch,
                         size=args.size, warmup_epochs=0, clip_model=args.clip_model, clip_pretrained="", device=args.device,
                         tensorboard=False, language_prior="train+test", finetune_text=args.setting == "finetune",
                         cache_dir=args.cache, val_every=args.epochs,
                         model_kwargs={"widths": [int(w) for w in args.widths.split(",")]} if args.widths else {})
    before = resource.getrusage(resource.RUSAGE_SELF)
    summary = train(config, quiet=True)
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime + used.ru_stime - before.ru_utime - before.ru_stime  # steadier than wall time on a busy machine
    seconds = [float(r["seconds"]) for r in summary["rows"]][1:] or [float(summary["rows"][0]["seconds"])]
    gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() and args.device != "cpu" else None
    print(json.dumps({"setting": args.setting, "epoch_s": min(seconds), "run_cpu_s": round(cpu, 2), "peak_gpu_mb": gpu_mb,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "train_images": summary["train_images"]}))


def describe(root: Path) -> None:
    """A position sentence per image from its mask (what `langir describe` would say, without a VLM)."""
    import numpy as np
    from PIL import Image

    (root / "descriptions").mkdir(exist_ok=True)
    for mask_path in sorted((root / "masks").glob("*.png")):
        mask = np.asarray(Image.open(mask_path)) > 0
        if mask.any():
            ys, xs = np.nonzero(mask)
            v = "upper" if ys.mean() < mask.shape[0] / 2 else "lower"
            h = "left" if xs.mean() < mask.shape[1] / 2 else "right"
            text = f"A small bright target is in the {v} {h} region of the sky."
        else:
            text = "There is no small target in this infrared image."
        (root / "descriptions" / f"{mask_path.stem}.description.txt").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lgnet")
    parser.add_argument("--clip-model", default="langir-tiny")
    parser.add_argument("--widths", default="16,16,16,16,16", help="LGNet encoder widths ('' = the paper-sized default)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--count", type=int, default=5, help="synthetic images (80 %% train)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--device", default="cpu", help="cpu | cuda (bf16 autocast on a GPU, as training does)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: no OpenMP spinning on a shared CPU)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds (fastest epoch kept)")
    parser.add_argument("--setting", choices=("frozen", "finetune"))
    parser.add_argument("--data")
    parser.add_argument("--out")
    parser.add_argument("--cache")
    args = parser.parse_args()
    if args.setting:
        child(args)
        return
    sys.path.insert(0, str(REPO))
    from langir.data.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "ds"
        synthesize(data, count=args.count, size=(args.size, args.size), seed=0)
        describe(data)
        results: dict[str, dict] = {}
        for k, setting in enumerate(("frozen", "finetune") * args.repeats):
            cmd = [sys.executable, __file__, "--setting", setting, "--data", str(data), "--out", str(Path(tmp) / f"{setting}{k}"),
                   "--cache", str(Path(tmp) / "cache"), "--model", args.model, "--clip-model", args.clip_model,
                   "--size", str(args.size), "--batch", str(args.batch), "--epochs", str(args.epochs),
                   "--threads", str(args.threads), "--device", args.device, "--widths", args.widths]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            if done.returncode:
                sys.exit(f"{setting} run failed: {done.stderr.strip().splitlines()[-1]}")
            got = json.loads(done.stdout.strip().splitlines()[-1])
            if setting not in results or got["epoch_s"] < results[setting]["epoch_s"]:
                results[setting] = got
            print(json.dumps({**got, "model": args.model, "clip": args.clip_model, "widths": args.widths, "size": args.size,
                              "batch": args.batch, "threads": args.threads, "device": args.device, "cpu": platform.processor() or platform.machine()}))
        print(json.dumps({"epoch_time_ratio": round(results["finetune"]["epoch_s"] / results["frozen"]["epoch_s"], 3),
                          "run_cpu_ratio": round(results["finetune"]["run_cpu_s"] / results["frozen"]["run_cpu_s"], 3),
                          "peak_rss_ratio": round(results["finetune"]["peak_rss_mb"] / results["frozen"]["peak_rss_mb"], 3)}))


if __name__ == "__main__":
    main()
