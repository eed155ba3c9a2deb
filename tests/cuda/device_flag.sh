#!/usr/bin/env bash
# --device: cpu trains as before; cuda without a usable GPU (no driver, no device, or a build without CUDA)
# is one clear line and exit 1, never a crash; cuda with an arch the GPU backend lacks is a usage error.
# Where a GPU is present, the cuda runs must work instead (a short bench-bearnet step and a train epoch).
source "$(dirname "$0")/../lib.sh"
B="$BIN/bears" D="$TMP/bears"
"$B" synth "$D" --per-class 12 --size 32 --seed 5 >/dev/null || fail "synth"
no_gpu="no usable CUDA GPU here|this build has no CUDA backend"

expect_exit 0 "saved" "$B" train "$D" --device cpu --epochs 1 --size 16 --plot none --model "$TMP/cpu.safetensors"
expect_exit 2 "trains bearnet-s only" "$B" train "$D" --device cuda --arch resnet18 --plot none
expect_exit 2 "accepts one of cpu\|cuda" "$B" train "$D" --device gpu

if "$BIN/bench-bearnet" --device cuda --size 16 --bs 2 --steps 1 --warmup 1 --infer-runs 1 >"$TMP/bench.out" 2>&1; then
  echo "a CUDA GPU is present: the cuda runs must work"
  check "bench-bearnet reports the GPU" grep -q "^on .*TF32" "$TMP/bench.out"
  expect_exit 0 "training on the GPU" "$B" train "$D" --device cuda --epochs 1 --size 16 --plot none \
    --model "$TMP/gpu.safetensors"
  expect_exit 0 "" "$B" predict "$TMP/gpu.safetensors" "$(find "$D" -name '*.png' | head -1)"
else
  check "bench-bearnet says why there is no GPU" grep -qE "$no_gpu" "$TMP/bench.out"
  expect_exit 1 "^bears train: --device cuda: ($no_gpu)" "$B" train "$D" --device cuda --plot none \
    --model "$TMP/none.safetensors"
  expect_exit 1 "^bears lr-find: --device cuda: ($no_gpu)" "$B" lr-find "$D" --device cuda --plot none
  refute "no model file is written without a GPU" test -e "$TMP/none.safetensors"
fi
finish
