#!/usr/bin/env bash
# The same --seed paints the same pictures whichever compiler built bears: this build's bears (GCC in CI)
# against one built by the other compiler (clang), byte for byte, for a small default set and a small
# --hard one. What breaks it: two random draws in one call's arguments or one initializer, whose order C
# leaves to the compiler (bears/synth_paint.c's top comment), or floating-point contraction (a * b + c
# fused into one FMA; CMakeLists.txt turns it off). The sizes are chosen so every painting branch runs.
source "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
# Which compiler built this build's bears: clang leaves its name in the ELF .comment section.
if readelf -p .comment "$BIN/bears" 2>/dev/null | grep -q "clang version"; then other=gcc; else other=clang; fi
if ! command -v "$other" >/dev/null; then
  fail "$other is not installed (scripts/deps.sh installs it)"
  finish
  exit
fi
# Kept beside this build (not in $TMP, which starts empty), so a second run only rebuilds what changed.
other_build="$BIN/../synth-$other"
log="$other_build.log"
if ! { CC=$other cmake -S "$root" -B "$other_build" -DCMAKE_BUILD_TYPE=Release -DSGDLAB_CUDA=OFF \
         -DSGDLAB_WERROR=ON && cmake --build "$other_build" --target bears -j"$(nproc)"; } >"$log" 2>&1; then
  tail -20 "$log"
  fail "building bears with $other (log: $log)"
  finish
  exit
fi

for set in "plain --per-class 30 --size 48 --seed 1" "hard --hard --per-class 40 --size 48 --seed 2"; do
  read -r name flags <<<"$set"
  # shellcheck disable=SC2086
  expect_exit 0 "synth:" "$BIN/bears" synth "$TMP/this/$name" $flags
  # shellcheck disable=SC2086
  expect_exit 0 "synth:" "$other_build/bin/bears" synth "$TMP/$other/$name" $flags
  n=$(find "$TMP/this/$name" -type f | wc -l)
  check "$name: the set has its pictures (found $n files)" [ "$n" -gt 90 ]
  if ! diff -rq "$TMP/this/$name" "$TMP/$other/$name" >"$TMP/$name.diff"; then
    fail "$name: $(wc -l <"$TMP/$name.diff") of $n files differ between this build and $other's, e.g. $(head -3 "$TMP/$name.diff")"
  else
    pass
  fi
done
finish
