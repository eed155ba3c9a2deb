#!/usr/bin/env bash
# ResNet-18/34 at 224 px beside torchvision's, batch 64 and batch 1: the training step, the step with the
# body frozen (fastai's first fine-tuning phase: the body forward without gradients) and batch-1
# inference, each mode of run_bench.sh interleaved round by round, ratios printed at the end.
#   tests/bench/resnet_bench.sh [--rounds 2] [--threads 2] [--steps 2] [--arch resnet18|resnet34|both]
# A batch-64 step of ResNet-34 takes seconds on 2 cores, so batch 64 runs few steps (--steps, after one
# warm-up step); batch 1 runs 5 times as many. Needs build/bin/bench-bearnet and Debian's python3-torch
# and python3-torchvision. BENCH_BEARNET_BEFORE=path (run_bench.sh) adds an older build to every round:
# before/after and PyTorch from one interleaved run. The load (uptime) is printed before and after.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rounds=2 threads=2 steps=2 archs="resnet18 resnet34"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --arch) case "$2" in resnet18|resnet34) archs="$2" ;; both) ;; *)
      echo "resnet_bench.sh: --arch takes resnet18, resnet34 or both" >&2; exit 2 ;; esac; shift 2 ;;
    *) echo "resnet_bench.sh: unknown argument $1 (accepted: --rounds --threads --steps --arch)" >&2; exit 2 ;;
  esac
done
summary="load before: $(uptime)"
for arch in $archs; do
  for bs in 64 1; do
    n=$((bs == 1 ? 5 * steps : steps))
    out="$("$here/run_bench.sh" --arch "$arch" --size 224 --bs "$bs" --steps "$n" --frozen-steps "$n" --warmup 1 \
      --infer-runs 5 --threads "$threads" --rounds "$rounds")"
    echo "$out"
    summary+=$'\n'"$(sed -n '/^'"$arch"' 224px/,$p' <<<"$out")"$'\n'
  done
done
summary+=$'\n'"load after: $(uptime)"
echo
echo "=== summary ($steps timed steps at batch 64, $((5 * steps)) at batch 1, after one warm-up step)"
echo "$summary"
