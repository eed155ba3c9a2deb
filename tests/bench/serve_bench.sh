#!/usr/bin/env bash
# bears serve under load (not a test): wrk on 127.0.0.1 against POST /predict with a real picture,
# at 1, 16 and 64 connections; requests/s (and per core), p50 / p99 latency, errors, and the server's
# RSS after warm-up and after each run; beside it the batch-1 inference time alone (bench-bearnet on
# one thread), so the server's own overhead shows.
#   tests/bench/serve_bench.sh [--seconds 30] [--size 64] [--threads CORES] [--connections "1 16 64"]
# Needs build/bin/bears and build/bin/bench-bearnet, and wrk (scripts/deps.sh installs it).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SGDLAB_BIN:-$root/build/bin}"
seconds=30 size=64 threads=$(nproc) connections="1 16 64"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    *) echo "serve_bench.sh: unknown argument $1 (accepted: --seconds --size --threads --connections)" >&2; exit 2 ;;
  esac
done
for need in "$bin/bears" "$bin/bench-bearnet"; do
  [ -x "$need" ] || { echo "serve_bench.sh: $need not found; build first (cmake --build build)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "serve_bench.sh: wrk not found (scripts/deps.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" || true; rm -rf "$work"; }
trap cleanup EXIT

# A model of the right size (its accuracy does not matter for speed) and a 128 px picture to send.
"$bin/bears" synth "$work/data" --per-class 20 --size 128 --seed 1 >/dev/null
"$bin/bears" train "$work/data" --size "$size" --epochs 1 --bs 16 --model "$work/m.safetensors" >/dev/null 2>&1
picture=$(ls "$work"/data/teddy/*.png | head -1)
cat >"$work/post.lua" <<LUA
local f = assert(io.open("$picture", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/png"
LUA

"$bin/bears" serve "$work/m.safetensors" --port 0 --threads "$threads" --quiet >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.out" 2>/dev/null) && break
  sleep 0.1
done
[ -n "$url" ] || { echo "serve_bench.sh: the server did not start: $(cat "$work/serve.err")" >&2; exit 1; }
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
cores=$(nproc)
echo "bears serve at $size px, --threads $threads, $cores cores; picture $(stat -c %s "$picture") bytes; wrk $seconds s per run"
echo "RSS after start: $(rss) MB"
wrk -t 1 -c 16 -d 3 -s "$work/post.lua" "$url/predict" >/dev/null
echo "RSS after a 3 s warm-up at 16 connections: $(rss) MB"

printf '\n%-12s %10s %12s %9s %9s %8s %15s\n' connections req/s req/s/core p50 p99 errors "RSS MB (end)"
for c in $connections; do
  out=$(wrk -t 1 -c "$c" -d "$seconds" --latency --timeout 10s -s "$work/post.lua" "$url/predict")
  rate=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  socket=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
  printf '%-12s %10s %12.1f %9s %9s %8d %15s\n' "$c" "$rate" "$(awk -v r="$rate" -v n="$cores" 'BEGIN { print r / n }')" \
    "$p50" "$p99" $((${non2xx:-0} + ${socket:-0})) "$(rss)"
done

# The model alone: batch-1 inference on one thread, as each server thread runs it.
b1=$("$bin/bench-bearnet" --size "$size" --threads 1 --bs 2 --steps 1 --warmup 0 --infer-runs 200 | sed -n 's/^infer_b1_ms=//p')
echo
echo "batch-1 inference alone, one thread: $b1 ms, so at most $(awk -v m="$b1" -v n="$cores" 'BEGIN { printf "%.0f", 1000 / m * n }') req/s on $cores cores for the model alone"
