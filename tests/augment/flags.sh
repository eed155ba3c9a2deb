#!/usr/bin/env bash
# bears train's augmentation and loss flags: bad values are refused naming the flag (exit 2) before any
# work; every transform, label smoothing, mixup and --tta together still train and save; the same seed
# gives the same numbers, run after run, and another seed other ones.
source "$(dirname "$0")/../lib.sh"

data="$TMP/bears"
"$BIN/bears" synth "$data" --per-class 8 --size 48 >/dev/null
model="$TMP/never.safetensors"
expect_exit 2 "--crop-scale" "$BIN/bears" train "$data" --crop-scale 0 --model "$model"
expect_exit 2 "--crop-scale" "$BIN/bears" train "$data" --crop-scale 1.5 --model "$model"
expect_exit 2 "--rotate" "$BIN/bears" train "$data" --rotate 90 --model "$model"
expect_exit 2 "--zoom" "$BIN/bears" train "$data" --zoom 0.5 --model "$model"
expect_exit 2 "--warp" "$BIN/bears" train "$data" --warp 0.5 --model "$model"
expect_exit 2 "--lighting" "$BIN/bears" train "$data" --lighting 1 --model "$model"
expect_exit 2 "--lighting" "$BIN/bears" train "$data" --lighting nan --model "$model"
expect_exit 2 "--label-smoothing" "$BIN/bears" train "$data" --label-smoothing 0.6 --model "$model"
expect_exit 2 "--mixup" "$BIN/bears" train "$data" --mixup -1 --model "$model"
expect_exit 2 "cannot go with --no-augment" "$BIN/bears" train "$data" --no-augment --rotate 5 --model "$model"
expect_exit 2 "cannot go with --no-augment" "$BIN/bears" train "$data" --no-augment --no-flip --model "$model"
expect_exit 2 "train on the CPU only" "$BIN/bears" train "$data" --device cuda --mixup 0.4 --model "$model"
check "no model written by any of them" test ! -e "$model"

run() { # seed, csv: two epochs with every augmentation on
  "$BIN/bears" train "$data" --size 32 --epochs 2 --seed "$1" --crop-scale 0.3 --rotate 20 --zoom 1.3 \
    --warp 0.3 --lighting 0.4 --label-smoothing 0.1 --mixup 0.4 --tta --plot none --log "$2" \
    --model "$TMP/m.safetensors" 2>&1
}
out=$(run 7 "$TMP/a.csv")
check "train with everything on saves: $out" grep -q "^saved " <<<"$out"
check "it says what augmentation it used: $out" \
  grep -q "augmentation: flip, crop-scale 0.3, rotate 20, zoom 1.3, warp 0.3, lighting 0.4$" <<<"$out"
check "and what targets: $out" grep -q "soft targets: label smoothing 0.1, mixup 0.4" <<<"$out"
run 7 "$TMP/b.csv" >/dev/null
run 8 "$TMP/c.csv" >/dev/null
losses() { cut -d, -f1-4 "$1"; } # everything but the seconds
check "the same seed gives the same losses: $(losses "$TMP/a.csv") vs $(losses "$TMP/b.csv")" \
  test "$(losses "$TMP/a.csv")" = "$(losses "$TMP/b.csv")"
check "another seed gives other losses" test "$(losses "$TMP/a.csv")" != "$(losses "$TMP/c.csv")"
finish
