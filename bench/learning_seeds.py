"""Measure the learning tests' test IoU over several training seeds (issue 22 item 1).

Usage: python bench/learning_seeds.py OUT.jsonl SEEDS CASES [THREADS]
  SEEDS: comma list (0,1,2,3,4); CASES: comma list of names below (or "all").
EPOCHS=N overrides the 12 epochs of the learning tests; case "plain-unet" is test_plain_cli_defaults_learn
(`langir synth --count 120 --seed 2`, then `train --model unet --size 64 --epochs 12`, every other setting default;
its figure is the best validation IoU over the epochs, as the test reads).
Each line of OUT: torch version, case, seed, threads, IoU (final epoch and best), seconds.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from langir.data.dataset import LangIRDataset
from langir.data.synth import synthesize
from langir.describe.template import template_description
from langir.train.config import TrainConfig
from langir.train.engine import train

SMALL = {"widths": [16, 16, 16, 16, 16]}
CASES = {
    "unet": ("unet", "auto", {}),
    "sgem_unet": ("sgem_unet", "auto", {"base": 24}),  # the learning test's size
    "sgem_unet-32": ("sgem_unet", "auto", {}),  # the default size (its test until the eighth session)
    "sgem_unet-16": ("sgem_unet", "auto", {"base": 16}),
    "sgem_unet-8": ("sgem_unet", "auto", {"base": 8}),
    "lgnet-never": ("lgnet", "never", SMALL),
    "lgnet-train-only": ("lgnet", "train-only", SMALL),
    "lgnet-train+test": ("lgnet", "train+test", SMALL),
    "dgspnet": ("dgspnet", "auto", {"base": 8}),
}


def main() -> None:
    out, seeds, cases = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else torch.get_num_threads()
    torch.set_num_threads(threads)
    names = list(CASES) if cases == "all" else cases.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synth"
        synthesize(root, count=40, size=(64, 64), seed=0)
        ds = LangIRDataset.open(root)
        for sid in ds.all_ids():
            ds.write_description(sid, template_description(ds.read_mask(sid)))
        plain = Path(tmp) / "plain"
        synthesize(plain, count=120, size=(64, 64), seed=2)
        epochs = int(os.environ.get("EPOCHS", "12"))
        for name in names:
            if name == "plain-unet":
                for seed in seeds:
                    t0 = time.time()
                    config = TrainConfig(dataset=str(plain), out=str(Path(tmp) / f"plain-{seed}"), model="unet", size=64,
                                         epochs=12, device="cpu", seed=seed)
                    s = train(config, quiet=True)
                    ious = [float(r["val_iou"]) for r in s["rows"] if r.get("val_iou") not in (None, "")]
                    row = {"torch": torch.__version__, "case": name, "seed": seed, "threads": threads, "epochs": 12,
                           "iou": max(ious), "seconds": round(time.time() - t0, 1)}
                    with open(out, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(row, flush=True)
                continue
            model, prior, kw = CASES[name]
            for seed in seeds:
                t0 = time.time()
                config = TrainConfig(dataset=str(root), out=str(Path(tmp) / f"run-{name}-{seed}"), model=model, epochs=epochs,
                                     batch_size=4, size=64, warmup_epochs=1, lr=float(os.environ.get("LR", "4e-3")), val_every=12,
                                     clip_model="langir-tiny", clip_pretrained="", device="cpu", tensorboard=False,
                                     language_prior=prior, model_kwargs=dict(kw), seed=seed)
                s = train(config, quiet=True)
                ious = [float(r["val_iou"]) for r in s["rows"] if r.get("val_iou") not in (None, "")]
                row = {"torch": torch.__version__, "case": name, "seed": seed, "threads": threads,
                       "epochs": epochs, "lr": config.lr, "iou": ious[-1], "seconds": round(time.time() - t0, 1)}
                with open(out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(row, flush=True)


if __name__ == "__main__":
    main()
