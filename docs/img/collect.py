import sys
from pathlib import Path
from PIL import Image
src, dst = Path(sys.argv[1]), Path(sys.argv[2]); dst.mkdir(parents=True, exist_ok=True)
pairs = {"run_unet/loss_iou.png": "loss_iou.png", "rep_sirst/gallery.png": "gallery_sirst.png",
         "rep_demo/gallery.png": "gallery_demo.png",
         "rep_demo/target_heatmap.png": "target_heatmap_demo.png", "rep_sirst/target_heatmap.png": "target_heatmap_sirst.png",
         "rep_sirst/word_counts.png": "word_counts_sirst.png", "rep_demo/table1.png": "table1_demo.png",
         "rep_demo/region_confusion.png": "region_confusion_demo.png", "rep_sirst/failures.png": "failures_sirst.png",
         "overlays/predict_sirst_Misc_1.png": "predict_overlay_sirst.png", "overlays/eval_sirst_Misc_1.png": "eval_overlay_sirst.png",
         "overlays/predict_demo_ir_00003.png": "predict_overlay_demo.png", "overlays/eval_demo_ir_00003.png": "eval_overlay_demo.png"}
for s, d in pairs.items():
    p = src / s
    if not p.is_file():
        print("missing", p); continue
    im = Image.open(p).convert("RGB")
    if im.width > 1000 and "overlay" not in d:
        im = im.resize((1000, round(im.height * 1000 / im.width)), Image.LANCZOS)
    (im if "gallery" in d else im.quantize(colors=256, method=Image.Quantize.MEDIANCUT)).save(dst / d, optimize=True)
tot = sum(f.stat().st_size for f in dst.glob("*.png"))
print(f"{dst}: {tot/1e6:.2f} MB")
