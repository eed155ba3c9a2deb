#!/usr/bin/env bash
# The transfer-learning flags' mistakes: each gets a message naming the flag or the file and the documented
# exit code (2 usage, 1 runtime), never a crash, and no model file is written.
source "$(dirname "$0")/../lib.sh"

data="$TMP/bears"
"$BIN/bears" synth "$data" --per-class 6 --size 48 >/dev/null
model="$TMP/never.safetensors"
expect_exit 2 "need --pretrained" "$BIN/bears" train "$data" --freeze-epochs 1 --model "$model"
expect_exit 2 "need --pretrained" "$BIN/bears" train "$data" --lr-body 1e-5 --model "$model"
expect_exit 2 "--arch" "$BIN/bears" train "$data" --arch resnet50 --model "$model"
expect_exit 2 "--size 24 is too small for resnet18 \(at least 32\)" \
  "$BIN/bears" train "$data" --arch resnet18 --size 24 --model "$model"
expect_exit 2 "--size 24 is too small for resnet34" "$BIN/bears" lr-find "$data" --arch resnet34 --size 24
expect_exit 1 "--pretrained $TMP/missing.safetensors: .*No such file" \
  "$BIN/bears" train "$data" --arch resnet18 --size 32 --pretrained "$TMP/missing.safetensors" --model "$model"
head -c 5000 /dev/urandom >"$TMP/noise.safetensors"
expect_exit 1 "--pretrained $TMP/noise.safetensors: " \
  "$BIN/bears" train "$data" --arch resnet18 --size 32 --pretrained "$TMP/noise.safetensors" --model "$model"
# A bears model of another arch as the pretrained file: named as such.
"$BIN/bears" train "$data" --epochs 1 --size 32 --model "$TMP/bearnet.safetensors" >/dev/null 2>&1
expect_exit 1 "holds a 'bearnet-s' model, not resnet18" \
  "$BIN/bears" train "$data" --arch resnet18 --size 32 --pretrained "$TMP/bearnet.safetensors" --model "$model"
# A fixed split whose valid/ is empty: every row of the table would read nan; refused before training.
mkdir -p "$TMP/tv/train" "$TMP/tv/valid" && cp -r "$data/black" "$data/teddy" "$TMP/tv/train/"
expect_exit 1 "tv/valid/ holds no readable pictures" "$BIN/bears" train "$TMP/tv" --size 32 --model "$model"
expect_exit 2 "--size must be a multiple of 8 .the sizes every arch takes" \
  "$BIN/bears" train "$data" --arch resnet18 --size 36 --model "$model"
check "no model written by any of them" test ! -e "$model"
expect_exit 2 "--tta" "$BIN/bears" predict "$TMP/bearnet.safetensors" --tta=yes "$data/black/0001.png"
finish
