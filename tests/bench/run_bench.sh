#!/usr/bin/env bash
# Run bench-bearnet and the same model in PyTorch, one after the other, and print the ratios.
#   tests/bench/run_bench.sh [--size 64] [--bs 64] [--steps 10] [--threads 2]   (build/bin/bench-bearnet must exist)
# PyTorch runs three ways: as installed; with glibc malloc tuned to keep freed memory instead of
# handing it back to the kernel (its big activation buffers are otherwise faulted in afresh each
# step); and tuned + channels_last (NHWC, oneDNN's fast convolutions). Ours reuses a step arena,
# so malloc settings do not reach it; it runs once as installed and once with the same tunables.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${BENCH_BEARNET:-$root/build/bin/bench-bearnet}"
size=64 bs=64 steps=10 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --bs) bs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "run_bench.sh: unknown argument $1 (accepted: --size --bs --steps --threads)" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "run_bench.sh: $bench not found; build first (cmake --build build)" >&2; exit 1; }
tunables="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296"
args=(--size "$size" --bs "$bs" --steps "$steps" --threads "$threads")

value() { sed -n "s/^$1=//p" | tail -1; }
run() { # label, command...: prints the output, records train and infer figures
  local label="$1"; shift
  echo "== $label"
  local out; out="$("$@" 2>&1)" || { echo "$out"; echo "run_bench.sh: $label failed" >&2; exit 1; }
  echo "$out"
  train[$label]="$(value train_img_s <<<"$out")"
  infer[$label]="$(value infer_b1_ms <<<"$out")"
}
declare -A train infer
run ours "$bench" "${args[@]}"
run ours-tunables env GLIBC_TUNABLES="$tunables" "$bench" "${args[@]}"
run torch /usr/bin/python3 "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}"
run torch-tunables env GLIBC_TUNABLES="$tunables" /usr/bin/python3 "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}"
run torch-tunables-cl env GLIBC_TUNABLES="$tunables" /usr/bin/python3 "$root/tests/bench/bench_bearnet_torch.py" "${args[@]}" --channels-last

echo
echo "bearnet-s ${size}px, batch $bs, $threads threads: training images/s (ours / torch), batch-1 inference ms"
printf "%-20s %10s %10s %12s\n" "torch mode" "torch img/s" "ours/torch" "infer ms"
for mode in torch torch-tunables torch-tunables-cl; do
  printf "%-20s %10s %10s %12s\n" "$mode" "${train[$mode]}" \
    "$(awk -v a="${train[ours]}" -v b="${train[$mode]}" 'BEGIN { printf "%.2fx", a / b }')" "${infer[$mode]}"
done
printf "%-20s %10s %10s %12s\n" "ours" "${train[ours]}" "" "${infer[ours]}"
printf "%-20s %10s %10s %12s\n" "ours (tunables)" "${train[ours-tunables]}" "" "${infer[ours-tunables]}"
