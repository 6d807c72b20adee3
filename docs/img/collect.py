"""Copy the pictures of one rendering (before or after) into docs/img/, small: 256 colours, 1000 px wide at most.

Usage: python docs/img/collect.py SRC DEST
"""

import sys
from pathlib import Path

from PIL import Image

PAIRS = {
    "run_unet/loss_iou.png": "loss_iou.png",
    "rep_sirst/gallery.png": "gallery_sirst.png",
    "rep_demo/gallery.png": "gallery_demo.png",
    "rep_demo/target_heatmap.png": "target_heatmap_demo.png",
    "rep_sirst/target_heatmap.png": "target_heatmap_sirst.png",
    "rep_sirst/word_counts.png": "word_counts_sirst.png",
    "rep_demo/table1.png": "table1_demo.png",
    "rep_demo/region_confusion.png": "region_confusion_demo.png",
    "rep_sirst/failures.png": "failures_sirst.png",
    "overlays/predict_sirst_Misc_1.png": "predict_overlay_sirst.png",
    "overlays/eval_sirst_Misc_1.png": "eval_overlay_sirst.png",
    "overlays/predict_demo_ir_00003.png": "predict_overlay_demo.png",
    "overlays/eval_demo_ir_00003.png": "eval_overlay_demo.png",
}


def main(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name, target in PAIRS.items():
        path = src / name
        if not path.is_file():
            print("missing", path)
            continue
        im = Image.open(path).convert("RGB")
        if im.width > 1000 and "overlay" not in target:
            im = im.resize((1000, round(im.height * 1000 / im.width)), Image.LANCZOS)
        # galleries keep full colour: 256 colours band the smooth sky of IR frames
        small = im if "gallery" in target else im.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(dst / target, optimize=True)
    total = sum(f.stat().st_size for f in dst.glob("*.png"))
    print(f"{dst}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
