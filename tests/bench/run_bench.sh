#!/usr/bin/env bash
# Run bench-bearnet and the same model in PyTorch, one after the other, and print the ratios.
#   tests/bench/run_bench.sh [--arch bearnet-s] [--size 64] [--bs 64] [--steps 10] [--frozen-steps 0]
#                            [--warmup 3] [--infer-runs 50] [--threads 2] [--rounds 3] [--device cpu|cuda]
#                            [--skip-compile]
# With --device cuda (a build with CUDA, a GPU, a PyTorch that sees it): ours eager and with --cuda-graph,
# against PyTorch fp32 NCHW, channels_last, bf16 autocast + channels_last, and torch.compile (a minute of
# compiling per size: --skip-compile leaves it out); TF32 on both.
# (build/bin/bench-bearnet must exist; tests/bench/resnet_bench.sh runs it for the ResNets).
# BENCH_BEARNET=path runs another build as ours; BENCH_BEARNET_BEFORE=path adds that build (an older
# one, say) as one more mode of each round, for before/after figures from one run. The machines are shared and their speed drifts, so every
# mode runs once per round, the modes interleaved, and the table gives each mode's median.
# PyTorch runs three ways: as installed; with glibc malloc tuned to keep freed memory instead of
# handing it back to the kernel (its big activation buffers are otherwise faulted in afresh each
# step); and tuned + channels_last (NHWC, oneDNN's fast convolutions). Ours reuses a step arena,
# so malloc settings do not reach it; it runs once as installed and once with the same tunables.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${BENCH_BEARNET:-$root/build/bin/bench-bearnet}"
arch=bearnet-s size=64 bs=64 steps=10 frozen=0 warmup=3 infer_runs=50 threads=2 rounds=3 device=cpu compile=1
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="$2"; shift 2 ;;
    --frozen-steps) frozen="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --infer-runs) infer_runs="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --bs) bs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --skip-compile) compile=0; shift ;;
    *) echo "run_bench.sh: unknown argument $1 (accepted: --arch --size --bs --steps --frozen-steps --warmup" \
         "--infer-runs --threads --rounds --device --skip-compile)" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "run_bench.sh: $bench not found; build first (cmake --build build)" >&2; exit 1; }
case "$device" in cpu|cuda) ;; *) echo "run_bench.sh: --device is cpu or cuda, not $device" >&2; exit 2 ;; esac
torch_py="${TORCH_PYTHON:-/usr/bin/python3}" # Debian's on these machines; the GPU machine's own python3 there
tunables="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296"
args=(--arch "$arch" --size "$size" --bs "$bs" --steps "$steps" --frozen-steps "$frozen" --warmup "$warmup"
  --infer-runs "$infer_runs" --threads "$threads")

value() { sed -n "s/^$1=//p" | tail -1; }
run() { # label, command...: prints the output, appends the train and infer figures
  local label="$1"; shift
  echo "== $label (round $round)"
  local out; out="$("$@" 2>&1)" || { echo "$out"; echo "run_bench.sh: $label failed" >&2; exit 1; }
  echo "$out"
  train[$label]+=" $(value train_img_s <<<"$out")"
  best[$label]+=" $(value train_best_img_s <<<"$out")"
  frozen[$label]+=" $(value frozen_best_img_s <<<"$out")"
  infer[$label]+=" $(value infer_b1_ms <<<"$out")"
}
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A train best frozen infer
torch_bench=("$torch_py" "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}")
if [ "$device" = cuda ]; then
  torch_modes="torch torch-cl torch-amp-cl"
  [ "$compile" = 1 ] && torch_modes+=" torch-compile"
else
  torch_modes="torch torch-tunables torch-tunables-cl"
fi
for round in $(seq "$rounds"); do
  if [ "$device" = cuda ]; then
    run ours "$bench" "${args[@]}" --device cuda
    run ours-graph "$bench" "${args[@]}" --device cuda --cuda-graph
    [ -n "${BENCH_BEARNET_BEFORE:-}" ] && run before "$BENCH_BEARNET_BEFORE" "${args[@]}" --device cuda
    run torch "${torch_bench[@]}" --device cuda
    run torch-cl "${torch_bench[@]}" --device cuda --channels-last
    run torch-amp-cl "${torch_bench[@]}" --device cuda --channels-last --amp
    [ "$compile" = 1 ] && run torch-compile "${torch_bench[@]}" --device cuda --compile
  else
    run ours "$bench" "${args[@]}"
    run ours-tunables env GLIBC_TUNABLES="$tunables" "$bench" "${args[@]}"
    [ -n "${BENCH_BEARNET_BEFORE:-}" ] && run before "$BENCH_BEARNET_BEFORE" "${args[@]}"
    run torch "${torch_bench[@]}"
    run torch-tunables env GLIBC_TUNABLES="$tunables" "${torch_bench[@]}"
    run torch-tunables-cl env GLIBC_TUNABLES="$tunables" "${torch_bench[@]}" --channels-last
  fi
done
for mode in "${!train[@]}"; do
  echo "$mode img/s per round:${train[$mode]}; fastest step:${best[$mode]}"
  train[$mode]="$(median "${train[$mode]}")" best[$mode]="$(median "${best[$mode]}")"
  infer[$mode]="$(median "${infer[$mode]}")" frozen[$mode]="$(median "${frozen[$mode]}")"
done

echo
echo "$arch ${size}px, batch $bs, on $device ($threads CPU threads), median of $rounds rounds: training images/s over"
echo "all timed steps and in the fastest step (less disturbed by other work), batch-1 inference ms (fastest run)"
[ "$frozen" -gt 0 ] && echo "(frozen: images/s of the fastest step with the body frozen, forward without gradients)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.2fx", a / b }'; }
row() { # mode, ratio against ours or "" for our own rows
  local f=""
  [ "$frozen" -gt 0 ] && f="$(printf " %10s %8s" "${frozen[$1]}" "${2:+$(ratio "${frozen[ours]}" "${frozen[$1]}")}")"
  printf "%-20s %10s %8s %10s %8s%s %10s\n" "$3" "${train[$1]}" "${2:+$(ratio "${train[ours]}" "${train[$1]}")}" \
    "${best[$1]}" "${2:+$(ratio "${best[ours]}" "${best[$1]}")}" "$f" "${infer[$1]}"
}
header="$(printf "%-20s %10s %8s %10s %8s" "mode" "img/s" "ours/it" "best img/s" "ours/it")"
[ "$frozen" -gt 0 ] && header+="$(printf " %10s %8s" "frozen" "ours/it")"
echo "$header $(printf "%10s" "infer ms")"
modes="$torch_modes"
[ -n "${BENCH_BEARNET_BEFORE:-}" ] && modes+=" before"
for mode in $modes; do row "$mode" yes "$mode"; done
row ours "" ours
if [ "$device" = cuda ]; then
  row ours-graph "" "ours (CUDA graph)"
  echo "ours (CUDA graph) against each PyTorch mode (training img/s):"
  for mode in $torch_modes; do printf "  %-18s %s\n" "$mode" "$(ratio "${train[ours-graph]}" "${train[$mode]}")"; done
else
  row ours-tunables "" "ours (tunables)"
fi
