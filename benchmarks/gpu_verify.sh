#!/usr/bin/env bash
# One command for a user with an NVIDIA GPU: honed's GPU claims, checked on your machine. NOT yet run by us.
#   bash benchmarks/gpu_verify.sh            (from the repository root, in the venv where honed is installed)
# 1. the memory planner against measured peaks (full / LoRA / QLoRA, random-initialised catalog models);
# 2. a QLoRA smoke run of the support-ticket demo (20 steps, then evaluation of the fine-tuned model only);
# 3. training throughput side by side: plain transformers + PEFT vs TRL defaults vs honed's GPU path.
# Everything lands in gpu-verify-out/; please paste gpu-verify-out/summary.txt into an issue.
set -euo pipefail
OUT=${OUT:-gpu-verify-out}
PY=${PYTHON:-python}
mkdir -p "$OUT"
command -v nvidia-smi >/dev/null || { echo "nvidia-smi not found: this script needs an NVIDIA GPU" >&2; exit 2; }
{
  echo "# honed GPU verification, $(date -u +%Y-%m-%dT%H:%MZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import torch, transformers, peft, trl; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'transformers', transformers.__version__, 'peft', peft.__version__, 'trl', trl.__version__)"
} | tee "$OUT/summary.txt"
$PY -c "import bitsandbytes" 2>/dev/null || $PY -m pip install -q bitsandbytes

echo "## 1. planner vs measured peak" | tee -a "$OUT/summary.txt"
$PY benchmarks/gpu_verify.py planner --models "${MODELS:-smollm2-135m,smollm2-360m,smollm2-1.7b}" \
  | tee "$OUT/planner.txt" | tail -n 8 | tee -a "$OUT/summary.txt"

echo "## 2. QLoRA smoke run" | tee -a "$OUT/summary.txt"
$PY -m honed train examples/support-tickets/honed.yaml --output "$OUT/qlora" \
  method.kind=qlora train.max_steps=20 train.precision=auto 2>&1 | tail -n 5 | tee -a "$OUT/summary.txt"
$PY -m honed eval examples/support-tickets/honed.yaml --run "$OUT/qlora" --output "$OUT/qlora-eval" \
  method.kind=qlora evaluation.baselines=[] 2>&1 | tail -n 5 | tee -a "$OUT/summary.txt" || true

echo "## 3. throughput vs plain HF + PEFT and TRL" | tee -a "$OUT/summary.txt"
$PY benchmarks/cpu_train_throughput.py --device cuda --steps 16 --json "$OUT/throughput.json" \
  | tail -n 6 | tee -a "$OUT/summary.txt"
echo "$OUT/summary.txt"
