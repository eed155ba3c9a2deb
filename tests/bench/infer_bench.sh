#!/usr/bin/env bash
# Batch-1 eval-mode inference of bearnet-s, ours beside PyTorch's, in one run (issue 10).
#   tests/bench/infer_bench.sh [--sizes "64 128"] [--threads 1] [--rounds 9] [--runs 300] [--before PATH]
# (build/bin/bench-bearnet must exist, or BENCH_BEARNET names another; PyTorch is Debian's
# python3-torch under /usr/bin/python3). --before PATH adds another bench-bearnet (a copy of an
# earlier build) to every round, so that a change is measured against the code it replaces in the
# same run.
# `bears serve` answers each request on one thread with OpenBLAS single-threaded, so --threads 1 is
# the figure that matters; --threads 2 shows what a second core buys. The machines are shared and
# their speed drifts, so each round runs every (size, program) once, interleaved, each run times
# --runs forwards after 3 untimed ones, and the table gives the median of the rounds' per-forward ms.
# PyTorch runs in eval mode under no_grad, NCHW as installed and channels_last with glibc malloc
# tuned to keep freed memory (its fastest setting in run_bench.sh); the ratio is against the faster.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${BENCH_BEARNET:-$root/build/bin/bench-bearnet}"
sizes="64 128" threads=1 rounds=9 runs=300 before=
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --before) before="$2"; shift 2 ;;
    *) echo "infer_bench.sh: unknown argument $1 (accepted: --sizes --threads --rounds --runs --before)" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "infer_bench.sh: $bench not found; build first (cmake --build build)" >&2; exit 1; }
[ -z "$before" ] || [ -x "$before" ] || { echo "infer_bench.sh: --before $before is not an executable" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null ||
  { echo "infer_bench.sh: PyTorch does not import under /usr/bin/python3 (apt-get install python3-torch)" >&2; exit 1; }
tunables="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296"
torch_py="$root/tests/bench/bench_bearnet_torch.py"

declare -A ms
run() { # key, command...: one run's per-forward milliseconds appended to ms[key]
  local key="$1"; shift
  local out; out="$("$@" 2>&1)" || { echo "$out" >&2; echo "infer_bench.sh: $key failed" >&2; exit 1; }
  local v; v="$(sed -n 's/^infer_b1_ms=//p' <<<"$out" | tail -1)"
  [ -n "$v" ] || { echo "$out" >&2; echo "infer_bench.sh: $key printed no infer_b1_ms" >&2; exit 1; }
  ms[$key]+=" $v"
}
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for round in $(seq "$rounds"); do
  for size in $sizes; do
    # One training step of batch 2 first (both programs do it): the timed part is the inference.
    args=(--size "$size" --bs 2 --steps 1 --warmup 0 --threads "$threads" --infer-runs "$runs")
    run "ours $size" "$bench" "${args[@]}"
    [ -z "$before" ] || run "before $size" "$before" "${args[@]}"
    run "torch-cl $size" env GLIBC_TUNABLES="$tunables" /usr/bin/python3 "$torch_py" "${args[@]}" --channels-last
    run "torch $size" /usr/bin/python3 "$torch_py" "${args[@]}"
  done
  echo "round $round of $rounds done"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "bearnet-s batch-1 eval forward, $threads thread(s), ms per image: median of $rounds rounds ($runs forwards each)"
printf "%-6s %10s %10s %10s %12s  %s\n" "size" "ours" "torch-cl" "torch" "torch/ours" "per round: ours | torch-cl | torch"
for size in $sizes; do
  o="$(median "${ms[ours $size]}")" cl="$(median "${ms[torch-cl $size]}")" nchw="$(median "${ms[torch $size]}")"
  best="$(awk -v a="$cl" -v b="$nchw" 'BEGIN { print (a < b) ? a : b }')"
  printf "%-6s %10s %10s %10s %11.2fx  %s |%s |%s\n" "$size" "$o" "$cl" "$nchw" \
    "$(awk -v t="$best" -v o="$o" 'BEGIN { print t / o }')" "${ms[ours $size]# }" "${ms[torch-cl $size]}" "${ms[torch $size]}"
done
echo "torch/ours above 1: ours is faster than PyTorch's faster setting by that factor."
[ -n "$before" ] || exit 0
echo
printf "%-6s %10s %10s %12s  %s\n" "size" "before" "ours" "before/ours" "before per round"
for size in $sizes; do
  b="$(median "${ms[before $size]}")" o="$(median "${ms[ours $size]}")"
  printf "%-6s %10s %10s %11.2fx  %s\n" "$size" "$b" "$o" "$(awk -v b="$b" -v o="$o" 'BEGIN { print b / o }')" "${ms[before $size]# }"
done
echo "before: $before; before/ours above 1: this build is faster by that factor."
