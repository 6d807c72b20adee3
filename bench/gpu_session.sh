#!/usr/bin/env bash
# Every GPU figure of BENCHMARKS.md in one call, for a machine lent for minutes (the `device` tool).
#
#   bash bench/gpu_session.sh OUT SIRST [REPRODUCE_MINUTES]
#
# Stages run in order of value, each under its own timeout, and a failed stage does not stop the
# next: environment, inference FPS, training throughput, a real `bench/reproduce.py --full` under a
# budget, the CLI on CUDA (eval, predict, profile), the `--finetune-text` cost, and last the
# torch.compile setting (its compilation alone can take minutes). Everything a stage prints lands in
# OUT/log.txt; the JSON lines and the reproduction table also get files of their own.
# No CLIP weights can be downloaded on such a machine: the reproduction uses an untrained ViT-B-16.
set -u
out=${1:?OUT folder}; sirst=${2:?SIRST folder}; minutes=${3:-3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}
log="$out/log.txt"
stage() {  # stage NAME SECONDS FILE CMD...: time-limited, stdout to FILE and the log, stderr to the log
    local name=$1 limit=$2 file=$3; shift 3
    local t0=$SECONDS
    echo "=== $name (limit ${limit}s): $*" | tee -a "$log"
    timeout "$limit" "$@" 2>>"$log" | tee -a "$file" >>"$log"
    echo "=== $name: exit ${PIPESTATUS[0]} after $((SECONDS - t0))s" | tee -a "$log"
}

stage environment 60 "$out/env.txt" bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; nproc; $py -c '
import sys, torch, torchvision, timm, open_clip, langir
print(sys.version.split()[0], \"torch\", torch.__version__, \"torchvision\", torchvision.__version__, \"timm\", timm.__version__,
      \"open_clip\", open_clip.__version__, \"langir\", langir.__version__, \"cuda\", torch.cuda.is_available())'"
stage inference 150 "$out/inference.jsonl" "$py" bench/inference.py --no-cpu --predict "$sirst/images" --predict-n 200 --batch 64 --predict-resize 512
stage train_lgnet 150 "$out/train.jsonl" "$py" bench/train_throughput.py --settings fp32,bf16,bf16+cl --gpu-steps 30
stage train_sgem 90 "$out/train.jsonl" "$py" bench/train_throughput.py --settings fp32,bf16,bf16+cl --gpu-steps 30 --model sgem_unet --size 256
stage reproduce $((minutes * 60 + 150)) "$out/reproduce.txt" "$py" bench/reproduce.py --full --dataset "$sirst" \
    --clip-pretrained none --budget-min "$minutes" --workers 8 --out runs/reproduce
cp runs/reproduce/reproduce.json "$out/" 2>/dev/null
ckpt=runs/reproduce/lgnet_train-only/best.pt
# the working copy links SIRST's images and masks in: --follow-symlinks reads them
stage cli_cuda 120 "$out/cli.txt" bash -c "$py -m langir --follow-symlinks eval --checkpoint $ckpt --dataset runs/reproduce/data --skip-bad \
    --split test --device cuda --json; echo eval exit \$?; time $py -m langir predict --checkpoint $ckpt $sirst/images --out runs/predict \
    --device cuda >/dev/null; echo predict exit \$?, \$(ls runs/predict/mask | wc -l) masks; \
    $py -m langir profile --model lgnet --size 512 --batch 16 --device cuda --bf16 --json; echo profile exit \$?"
stage finetune_text 150 "$out/train.jsonl" "$py" bench/train_finetune_text.py --device cuda --widths '' --size 512 --batch 8 \
    --count 40 --clip-model ViT-B-16 --repeats 1 --epochs 3
stage train_compile 150 "$out/train.jsonl" "$py" bench/train_throughput.py --settings compile --gpu-steps 30
echo "=== done after ${SECONDS}s" | tee -a "$log"
