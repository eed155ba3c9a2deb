#!/usr/bin/env bash
# bears import fashion-mnist on a slice of Debian's files (--limit): ten class folders under train/ and
# valid/, the requested number of 28x28 PNGs in each split, read with the folders' own split; bearnet-s
# learns from them (far below the 90% error of guessing among 10 classes, which shuffled labels would
# give); the usual mistakes give a message and the documented exit code: an existing folder is never
# written into, a valid class that train lacks is refused, a missing source names the file.
source "$(dirname "$0")/../lib.sh"

data="$TMP/fashion"
expect_exit 0 "imported fashion-mnist into .*: 300 train and 300 valid" \
  "$BIN/bears" import fashion-mnist "$data" --limit 300
check "ten class folders in train/" test "$(ls "$data/train" | wc -l)" -eq 10
check "the same ten in valid/" test "$(ls "$data/train")" = "$(ls "$data/valid")"
check "300 train pictures" test "$(find "$data/train" -name '*.png' | wc -l)" -eq 300
check "300 valid pictures (--limit cuts the test split too)" test "$(find "$data/valid" -name '*.png' | wc -l)" -eq 300
first=$(find "$data/train" -name '*.png' | sort | head -1)
check "a picture is a 28x28 PNG ($first)" test "$(od -An -tu1 -j16 -N8 "$first" | tr -s ' ')" = " 0 0 0 28 0 0 0 28"
expect_exit 0 "300 train, 300 valid \(the folders' own split" "$BIN/bears" data "$data" --size 32

out=$("$BIN/bears" train "$data" --size 32 --epochs 2 --model "$TMP/fashion.safetensors" 2>&1)
check "bears train on the import: $out" grep -q "^saved " <<<"$out"
error=$(awk '$1 == 1 && NF == 5 { print $4 }' <<<"$out")
fcheck "after 2 epochs on 300 photos the error rate ($error) is far below guessing's 0.9" "a < 0.7" "${error:-1}"

# Mistakes
expect_exit 1 "already exists; give a new folder" "$BIN/bears" import fashion-mnist "$data" --limit 5
expect_exit 2 "'mnist' is not a data set it knows" "$BIN/bears" import mnist "$TMP/other"
mkdir -p "$TMP/empty"
expect_exit 1 "cannot open $TMP/empty/train-images-idx3-ubyte.gz" \
  "$BIN/bears" import fashion-mnist "$TMP/new" --source "$TMP/empty"
mkdir -p "$TMP/cut" && cp /usr/share/datasets/fashion-mnist/*.gz "$TMP/cut/" # a download cut short
head -c 20000 "$TMP/cut/train-images-idx3-ubyte.gz" >"$TMP/cut/t" && mv "$TMP/cut/t" "$TMP/cut/train-images-idx3-ubyte.gz"
expect_exit 1 "train-images-idx3-ubyte.gz: unexpected end of file: the file is truncated or damaged" \
  "$BIN/bears" import fashion-mnist "$TMP/new" --source "$TMP/cut"
check "nothing written for a failed import" test ! -e "$TMP/new/train"
expect_exit 2 "--limit" "$BIN/bears" import fashion-mnist "$TMP/new" --limit 0
mkdir -p "$data/valid/socks"
cp "$first" "$data/valid/socks/"
expect_exit 1 "valid/socks' has no matching '.*train/socks' folder" "$BIN/bears" data "$data"
finish
