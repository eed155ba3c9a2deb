#!/usr/bin/env bash
# The fixture of the serve tests: default-style data and a model trained well enough that most
# teddies come out as teddy (the page test needs one), saved where serve_http and serve_page look.
. "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
"$B" synth "$TMP/data" --per-class 150 --size 48 --seed 3 >/dev/null || fail "synth"
"$B" train "$TMP/data" --size 32 --epochs 6 --bs 32 --lr 5e-3 --model "$TMP/m.safetensors" >"$TMP/train.txt" 2>&1 ||
  fail "train: $(tail -3 "$TMP/train.txt")"
check "model saved" [ -s "$TMP/m.safetensors" ]
finish
