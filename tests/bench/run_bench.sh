#!/usr/bin/env bash
# Run bench-bearnet and the same model in PyTorch, one after the other, and print the ratios.
#   tests/bench/run_bench.sh [--size 64] [--bs 64] [--steps 10] [--threads 2] [--rounds 3] [--device cpu|cuda]
#                            [--skip-compile]
# With --device cuda (a build with CUDA, a GPU, a PyTorch that sees it): ours eager and with --cuda-graph,
# against PyTorch fp32 NCHW, channels_last, bf16 autocast + channels_last, and torch.compile (a minute of
# compiling per size: --skip-compile leaves it out); TF32 on both.
# (build/bin/bench-bearnet must exist). The machines are shared and their speed drifts, so every
# mode runs once per round, the modes interleaved, and the table gives each mode's median.
# PyTorch runs three ways: as installed; with glibc malloc tuned to keep freed memory instead of
# handing it back to the kernel (its big activation buffers are otherwise faulted in afresh each
# step); and tuned + channels_last (NHWC, oneDNN's fast convolutions). Ours reuses a step arena,
# so malloc settings do not reach it; it runs once as installed and once with the same tunables.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${BENCH_BEARNET:-$root/build/bin/bench-bearnet}"
size=64 bs=64 steps=10 threads=2 rounds=3 device=cpu compile=1
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --bs) bs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --skip-compile) compile=0; shift ;;
    *) echo "run_bench.sh: unknown argument $1 (accepted: --size --bs --steps --threads --rounds --device --skip-compile)" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "run_bench.sh: $bench not found; build first (cmake --build build)" >&2; exit 1; }
case "$device" in cpu|cuda) ;; *) echo "run_bench.sh: --device is cpu or cuda, not $device" >&2; exit 2 ;; esac
torch_py="${TORCH_PYTHON:-/usr/bin/python3}" # Debian's on these machines; the GPU machine's own python3 there
tunables="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296"
args=(--size "$size" --bs "$bs" --steps "$steps" --threads "$threads")

value() { sed -n "s/^$1=//p" | tail -1; }
run() { # label, command...: prints the output, appends the train and infer figures
  local label="$1"; shift
  echo "== $label (round $round)"
  local out; out="$("$@" 2>&1)" || { echo "$out"; echo "run_bench.sh: $label failed" >&2; exit 1; }
  echo "$out"
  train[$label]+=" $(value train_img_s <<<"$out")"
  best[$label]+=" $(value train_best_img_s <<<"$out")"
  infer[$label]+=" $(value infer_b1_ms <<<"$out")"
}
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A train best infer
torch_bench=("$torch_py" "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}")
if [ "$device" = cuda ]; then
  ours_modes=(ours ours-graph) torch_modes=(torch torch-cl torch-amp-cl)
  [ "$compile" = 1 ] && torch_modes+=(torch-compile)
else
  ours_modes=(ours ours-tunables) torch_modes=(torch torch-tunables torch-tunables-cl)
fi
for round in $(seq "$rounds"); do
  if [ "$device" = cuda ]; then
    run ours "$bench" "${args[@]}" --device cuda
    run ours-graph "$bench" "${args[@]}" --device cuda --cuda-graph
    run torch "${torch_bench[@]}" --device cuda
    run torch-cl "${torch_bench[@]}" --device cuda --channels-last
    run torch-amp-cl "${torch_bench[@]}" --device cuda --channels-last --amp
    [ "$compile" = 1 ] && run torch-compile "${torch_bench[@]}" --device cuda --compile
  else
    run ours "$bench" "${args[@]}"
    run ours-tunables env GLIBC_TUNABLES="$tunables" "$bench" "${args[@]}"
    run torch "${torch_bench[@]}"
    run torch-tunables env GLIBC_TUNABLES="$tunables" "${torch_bench[@]}"
    run torch-tunables-cl env GLIBC_TUNABLES="$tunables" "${torch_bench[@]}" --channels-last
  fi
done
for mode in "${!train[@]}"; do
  echo "$mode img/s per round:${train[$mode]}; fastest step:${best[$mode]}"
  train[$mode]="$(median "${train[$mode]}")" best[$mode]="$(median "${best[$mode]}")"
  infer[$mode]="$(median "${infer[$mode]}")"
done

echo
echo "bearnet-s ${size}px, batch $bs, on $device ($threads CPU threads), median of $rounds rounds: training"
echo "images/s over all timed steps and in the fastest step (less disturbed by other work), batch-1 inference ms;"
echo "ours/it: the first of our modes (${ours_modes[0]}) over that PyTorch mode"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
printf "%-20s %10s %10s %10s %10s %10s\n" "torch mode" "img/s" "ours/it" "best img/s" "ours/it" "infer ms"
for mode in "${torch_modes[@]}"; do
  printf "%-20s %10s %10s %10s %10s %10s\n" "$mode" "${train[$mode]}" "$(ratio "${train[ours]}" "${train[$mode]}")" \
    "${best[$mode]}" "$(ratio "${best[ours]}" "${best[$mode]}")" "${infer[$mode]}"
done
for mode in "${ours_modes[@]}"; do
  printf "%-20s %10s %10s %10s %10s %10s\n" "$mode" "${train[$mode]}" "" "${best[$mode]}" "" "${infer[$mode]}"
done
if [ "$device" = cuda ]; then
  echo "ours-graph against each PyTorch mode (training img/s):"
  for mode in "${torch_modes[@]}"; do printf "  %-18s %s\n" "$mode" "$(ratio "${train[ours-graph]}" "${train[$mode]}")"; done
fi
