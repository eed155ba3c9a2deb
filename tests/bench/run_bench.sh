#!/usr/bin/env bash
# Run bench-bearnet and the same model in PyTorch, one after the other, and print the ratios.
#   tests/bench/run_bench.sh [--size 64] [--bs 64] [--steps 10] [--threads 2] [--rounds 3]
# (build/bin/bench-bearnet must exist). The machines are shared and their speed drifts, so every
# mode runs once per round, the modes interleaved, and the table gives each mode's median.
# PyTorch runs three ways: as installed; with glibc malloc tuned to keep freed memory instead of
# handing it back to the kernel (its big activation buffers are otherwise faulted in afresh each
# step); and tuned + channels_last (NHWC, oneDNN's fast convolutions). Ours reuses a step arena,
# so malloc settings do not reach it; it runs once as installed and once with the same tunables.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${BENCH_BEARNET:-$root/build/bin/bench-bearnet}"
size=64 bs=64 steps=10 threads=2 rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --bs) bs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "run_bench.sh: unknown argument $1 (accepted: --size --bs --steps --threads --rounds)" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "run_bench.sh: $bench not found; build first (cmake --build build)" >&2; exit 1; }
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
for round in $(seq "$rounds"); do
  run ours "$bench" "${args[@]}"
  run ours-tunables env GLIBC_TUNABLES="$tunables" "$bench" "${args[@]}"
  run torch /usr/bin/python3 "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}"
  run torch-tunables env GLIBC_TUNABLES="$tunables" /usr/bin/python3 "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}"
  run torch-tunables-cl env GLIBC_TUNABLES="$tunables" /usr/bin/python3 "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}" --channels-last
done
for mode in "${!train[@]}"; do
  echo "$mode img/s per round:${train[$mode]}; fastest step:${best[$mode]}"
  train[$mode]="$(median "${train[$mode]}")" best[$mode]="$(median "${best[$mode]}")"
  infer[$mode]="$(median "${infer[$mode]}")"
done

echo
echo "bearnet-s ${size}px, batch $bs, $threads threads, median of $rounds rounds: training images/s over"
echo "all timed steps and in the fastest step (less disturbed by other work), batch-1 inference ms"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
printf "%-20s %10s %10s %10s %10s %10s\n" "torch mode" "img/s" "ours/it" "best img/s" "ours/it" "infer ms"
for mode in torch torch-tunables torch-tunables-cl; do
  printf "%-20s %10s %10s %10s %10s %10s\n" "$mode" "${train[$mode]}" "$(ratio "${train[ours]}" "${train[$mode]}")" \
    "${best[$mode]}" "$(ratio "${best[ours]}" "${best[$mode]}")" "${infer[$mode]}"
done
printf "%-20s %10s %10s %10s %10s %10s\n" "ours" "${train[ours]}" "" "${best[ours]}" "" "${infer[ours]}"
printf "%-20s %10s %10s %10s %10s %10s\n" "ours (tunables)" "${train[ours-tunables]}" "" "${best[ours-tunables]}" "" \
  "${infer[ours-tunables]}"
