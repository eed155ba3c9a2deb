#!/usr/bin/env bash
# Build every libFuzzer target (tests/fuzz/fuzz_*.c) with clang under ASan + UBSan and run each for
# SECONDS (default 20) on its seed corpus. Fails on the first crash, leak, hang or sanitizer report; the
# input that did it is saved as tests/fuzz/crash-NAME-* so it can be committed as a regression seed.
#   tests/fuzz/run.sh [SECONDS] [NAME...]      e.g. tests/fuzz/run.sh 300 image
#   SGDLAB_FUZZ_BUILD=dir   build folder (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
shift || true
case $seconds in '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS] [NAME...]" >&2; exit 2 ;; esac
build=${SGDLAB_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$build" -DSGDLAB_FUZZ=ON -DSGDLAB_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzzers -j"$(nproc)" -- --no-print-directory >/dev/null

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do n=${src#tests/fuzz/fuzz_}; names+=("${n%.c}"); done
fi
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for name in "${names[@]}"; do
  bin=$build/fuzz/fuzz_$name
  [ -x "$bin" ] || { echo "fuzz: no target '$name' (tests/fuzz/fuzz_$name.c)" >&2; exit 2; }
  # Fresh inputs go to a scratch folder; the committed seeds stay as they are.
  work=$build/fuzz/corpus-$name
  mkdir -p "$work"
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] || seeds=
  log=$build/fuzz/$name.log
  if "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="tests/fuzz/crash-$name-" "$work" $seeds >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    echo "fuzz $name: ok, ${runs:-?} runs in ${seconds} s (${rate:-?}/s), $cov, corpus $(find "$work" -type f | wc -l) inputs"
  else
    echo "fuzz $name: FAILED (log: $log)"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -10
    failed=1
  fi
done
[ $failed -eq 0 ] || { echo "fuzz: crash inputs are saved as tests/fuzz/crash-*"; exit 1; }
