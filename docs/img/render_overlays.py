"""Predict- and eval-style overlays of one SIRST and one demo frame, on a made-up prediction.

The first target is detected (peak p 0.93), the others missed, and two false alarms of p 0.55 sit on
the left and top borders. Usage: python docs/img/render_overlays.py OUT (inputs in /tmp/pic, see README.md).
"""

import inspect
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from langir.data.imageio import read_image, read_mask
from langir.evaluate.visualize import overlay

CASES = [("sirst_Misc_1", "/tmp/pic/sirst/images/Misc_1.png", "/tmp/pic/sirst/masks/Misc_1_pixels0.png"),
         ("demo_ir_00003", "/tmp/pic/demo/images/ir_00003.png", "/tmp/pic/demo/masks/ir_00003.png")]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    takes_prob = "prob" in inspect.signature(overlay).parameters  # main's overlay has no scores
    for name, image_path, mask_path in CASES:
        image = read_image(image_path)
        gt = np.asarray(read_mask(mask_path)) > 0
        h, w = gt.shape
        labels, n = ndimage.label(gt, np.ones((3, 3)))
        pred = np.zeros_like(gt)
        if n:
            pred |= ndimage.binary_dilation(labels == 1)
        pred[h // 2 : h // 2 + 2, 0:2] = True  # a 2×2 false alarm on the left border
        pred[3:6, w // 2 : w // 2 + 3] = True  # a 3×3 one near the top border
        prob = np.where(pred, 0.55, 0.02).astype(np.float32)
        prob[labels == 1] = 0.93
        extra = {"prob": prob} if takes_prob else {}
        Image.fromarray(overlay(image, None, pred, **extra)).save(out / f"predict_{name}.png")
        Image.fromarray(overlay(image, gt, pred, **extra)).save(out / f"eval_{name}.png")
    print("wrote", out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
