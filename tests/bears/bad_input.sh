#!/usr/bin/env bash
# bears refuses bad input with a clear message and a non-zero exit, and never crashes.
. "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
D=$TMP/data
"$B" synth "$D" --per-class 8 --size 32 >/dev/null || fail "synth"

# folders
expect_exit 1 "cannot open folder '$TMP/missing'" "$B" train "$TMP/missing" --model "$TMP/m.safetensors"
mkdir -p "$TMP/empty"
expect_exit 1 "has no class folders" "$B" train "$TMP/empty" --model "$TMP/m.safetensors"
mkdir -p "$TMP/one/teddy" && cp "$D"/teddy/* "$TMP/one/teddy/"
expect_exit 1 "only one class folder \('teddy'\)" "$B" train "$TMP/one" --model "$TMP/m.safetensors"
mkdir -p "$TMP/junk/a" "$TMP/junk/b" && echo "not a picture" >"$TMP/junk/a/x.jpg" && printf '\x89PNG\r\n\x1a\n' >"$TMP/junk/b/y.png"
expect_exit 1 "no readable pictures" "$B" train "$TMP/junk" --model "$TMP/m.safetensors"
touch "$TMP/afile"
expect_exit 1 "cannot write the model to $TMP/afile/m.safetensors" "$B" train "$D" --model "$TMP/afile/m.safetensors"
expect_exit 2 "needs the data folder" "$B" train
expect_exit 2 "--lr got '-3'" "$B" train "$D" --lr -3
expect_exit 2 "--size must be a multiple of 8" "$B" train "$D" --size 30
expect_exit 2 "--end .* must be larger than --start" "$B" lr-find "$D" --start 1 --end 0.1

# a real model to break in various ways (2 epochs at 16 px: fast)
"$B" train "$D" --size 16 --epochs 1 --bs 8 --model "$TMP/m.safetensors" >/dev/null 2>&1 || fail "training a tiny model"
pic=$(ls "$D"/teddy/*.png | head -1)
expect_exit 0 "teddy|black|grizzly" "$B" predict "$TMP/m.safetensors" "$pic"

expect_exit 1 "cannot load the model: .*missing.safetensors" "$B" predict "$TMP/missing.safetensors" "$pic"
head -c 3000 "$TMP/m.safetensors" >"$TMP/truncated.safetensors"
expect_exit 1 "cannot load the model" "$B" predict "$TMP/truncated.safetensors" "$pic"
echo '{"hello": 1}' >"$TMP/text.safetensors"
expect_exit 1 "cannot load the model" "$B" predict "$TMP/text.safetensors" "$pic"
cp "$TMP/m.safetensors" "$TMP/m-copy.safetensors"

# pictures: missing, corrupt, not an image; the good one still gets an answer, the exit says 1
echo "hello" >"$TMP/note.jpg"
head -c 200 "$pic" >"$TMP/cut.png"
out=$("$B" predict "$TMP/m.safetensors" "$TMP/none.png" "$TMP/note.jpg" "$TMP/cut.png" "$pic" 2>&1); code=$?
check "bad pictures: exit 1" [ "$code" -eq 1 ]
check "missing picture named" grep -q "none.png" <<<"$out"
check "text file named" grep -q "note.jpg" <<<"$out"
check "truncated picture named" grep -q "cut.png" <<<"$out"
check "the good picture still classified" grep -qE "$(basename "$pic"): (black|grizzly|teddy) \(" <<<"$out"
check "count of failures" grep -q "3 of 4 pictures could not be classified" <<<"$out"

# a model trained on other classes is refused by interpret
mkdir -p "$TMP/other/cats" "$TMP/other/dogs"
cp "$D"/black/*.png "$TMP/other/cats/" 2>/dev/null; cp "$D"/grizzly/*.png "$TMP/other/dogs/" 2>/dev/null
expect_exit 1 "trained on classes \(black, grizzly, teddy\) but .*other has class folders \(cats, dogs\)" "$B" interpret "$TMP/m.safetensors" "$TMP/other"
# the model file was never modified by any of this
check "model untouched" cmp -s "$TMP/m.safetensors" "$TMP/m-copy.safetensors"
expect_exit 2 "unknown command 'trian'" "$B" trian "$D"
finish
