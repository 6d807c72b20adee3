"""Render predict-style and eval-style overlays for one SIRST frame and one demo frame (before/after)."""
import inspect, sys
from pathlib import Path
import numpy as np
from scipy import ndimage
from PIL import Image
from langir.evaluate.visualize import overlay
from langir.data.imageio import read_image, read_mask

out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
cases = [("sirst_Misc_1", "/tmp/pic/sirst/images/Misc_1.png", "/tmp/pic/sirst/masks/Misc_1_pixels0.png"),
         ("demo_ir_00003", "/tmp/pic/demo/images/ir_00003.png", "/tmp/pic/demo/masks/ir_00003.png")]
takes_prob = "prob" in inspect.signature(overlay).parameters
for name, ip, mp in cases:
    image = read_image(ip)
    gt = read_mask(mp, image.shape) if "shape" in str(inspect.signature(read_mask)) else read_mask(mp)
    gt = np.asarray(gt) > 0
    h, w = gt.shape
    labels, n = ndimage.label(gt, np.ones((3, 3)))
    pred = np.zeros_like(gt)
    if n:  # detect the first target only (dilated), miss the rest
        pred |= ndimage.binary_dilation(labels == 1)
    pred[h // 2 : h // 2 + 2, 0:2] = True      # a 2x2 false alarm on the left border
    pred[3:6, w // 2 : w // 2 + 3] = True      # and a 3x3 one near the top border
    prob = np.where(pred, 0.55, 0.02).astype(np.float32)
    prob[labels == 1] = 0.93
    kw = {"prob": prob} if takes_prob else {}
    Image.fromarray(overlay(image, None, pred, **kw)).save(out / f"predict_{name}.png")
    Image.fromarray(overlay(image, gt, pred, **kw)).save(out / f"eval_{name}.png")
print("ok", out)
