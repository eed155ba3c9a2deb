#!/usr/bin/env bash
# What a new user of issue 14 tries first, and what went wrong when one did (the try-out of issues 14
# and 15): the LR finder's advice, a .pth given where a safetensors file belongs (and ImageNet weights
# where a trained model does), a train/ folder without valid/, the import's slice and folder, split flags
# on and cleaning of a folder with its own split, a one-epoch run's verdict, and more epochs than the
# epoch table holds. Each gets a message that says what to do, never a crash.
source "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
D="$TMP/bears"
"$B" synth "$D" --per-class 24 --size 64 >/dev/null || fail "synth"
model="$TMP/never.safetensors"

# lr-find's advice is a command to paste: it must train what the curve was measured on, not the defaults.
# (Its suggestion skipping the first minibatches' noise: test_lr_suggest.)
out=$("$B" lr-find "$D" --size 32 --bs 16 --wd 0.1 --valid-pct 0.3 --seed 7 --iters 60 --plot none 2>&1)
advice=$(grep -o "train with: .*" <<<"$out")
check "lr-find advises a command ($out)" test -n "$advice"
for flag in "--size 32" "--bs 16" "--wd 0.1" "--valid-pct 0.3" "--seed 7"; do
  check "lr-find's advice keeps $flag ($advice)" grep -qF -- "$flag" <<<"$advice"
done
refute "lr-find's advice has no lr-find flag ($advice)" grep -qF -- "--iters" <<<"$advice"

# A PyTorch .pth (a zip archive) where a safetensors file belongs: say how to convert it.
printf 'PK\003\004' >"$TMP/resnet18-f37072fd.pth" && head -c 4000 /dev/urandom >>"$TMP/resnet18-f37072fd.pth"
expect_exit 1 "PyTorch file .*scripts/torchvision_to_safetensors.py" \
  "$B" train "$D" --arch resnet18 --size 32 --pretrained "$TMP/resnet18-f37072fd.pth" --model "$model"
expect_exit 1 "this is a PyTorch file" "$B" predict "$TMP/resnet18-f37072fd.pth" "$(ls "$D"/black/* | head -1)"

# ImageNet weights (no classes: a body, as the converter or timm write it) given to predict: say what
# they are for. A one-tensor file of that form is enough to be recognised.
python3 -c '
import json, struct, sys
h = json.dumps({"conv1.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"\0\0\0\0")' "$TMP/body.safetensors"
expect_exit 1 "ImageNet weights are a body to fine-tune: bears train DIR --arch resnet18\|resnet34 --pretrained" \
  "$B" predict "$TMP/body.safetensors" "$(ls "$D"/teddy/*.png | head -1)"

# --pretrained without a ResNet --arch: a usage error, before the pictures are decoded.
expect_exit 2 "--pretrained loads ImageNet weights into a ResNet: add --arch resnet18" \
  "$B" train "$D" --pretrained "$TMP/body.safetensors" --model "$model"
expect_exit 2 "--pretrained loads ImageNet weights into a ResNet" \
  "$B" lr-find "$D" --pretrained "$TMP/body.safetensors"

# --freeze-epochs adds to --epochs in the one table, which holds at most 1000 epochs.
expect_exit 2 "--freeze-epochs 500 and --epochs 501 make 1001 epochs; at most 1000" \
  "$B" train "$D" --arch resnet18 --size 32 --pretrained "$TMP/missing.safetensors" --freeze-epochs 500 \
  --epochs 501 --model "$model"

# DIR/train without DIR/valid: the fixed split needs both folders.
mkdir -p "$TMP/split/train" && cp -r "$D/black" "$D/teddy" "$TMP/split/train/"
expect_exit 1 "only one class folder \('train'\).*both $TMP/split/train/ and $TMP/split/valid/" \
  "$B" train "$TMP/split" --model "$model"

# A folder with its own train/ and valid/ (the Fashion-MNIST import): --valid-pct and --seed choose
# nothing there, and interpret said "with another split some pictures were trained on" all the same.
F="$TMP/fashion"
"$B" import fashion-mnist "$F" --limit 60 >/dev/null || fail "import"
# The import's mistakes: a slice too small to hold every class (an empty class folder stopped every
# command after it), and a folder that already holds a data set (its classes would be hidden behind
# the new train/ and valid/).
expect_exit 2 "--limit 5 leaves a class without pictures in the train split .*give --limit [0-9]+ or more" \
  "$B" import fashion-mnist "$TMP/tiny" --limit 5
check "nothing written for a refused --limit" test ! -e "$TMP/tiny"
expect_exit 1 "'$D' already holds files" "$B" import fashion-mnist "$D" --limit 60
check "the bears folder is left as it was" test ! -e "$D/train"
out=$("$B" train "$F" --size 32 --epochs 1 --valid-pct 0.5 --plot none --model "$TMP/fashion.safetensors" 2>&1)
check "train says --valid-pct is not used on a fixed split ($out)" \
  grep -q "the folders' own split: $F/train, $F/valid; --valid-pct is not used" <<<"$out"
expect_exit 0 "^note: $F has its own train/ and valid/ folders: --valid-pct and --seed are not used" \
  "$B" interpret "$TMP/fashion.safetensors" "$F" --valid-pct 0.3 --plot none
out=$("$B" interpret "$TMP/fashion.safetensors" "$F" --seed 3 --plot none 2>&1)
refute "interpret warns of no other split on a fixed split ($out)" grep -q "with another split" <<<"$out"
refute "interpret without --tta says nothing of TTA ($out)" grep -q "TTA" <<<"$out"
expect_exit 0 "^valid split: 60 pictures, [0-9]+ wrong, error_rate [0-9.]+ \(with TTA" \
  "$B" interpret "$TMP/fashion.safetensors" "$F" --tta --plot none

# Cleaning that folder: a relabel stays in the picture's split (it went to a new top-level class folder,
# out of both splits), through the edited list and in the window; a bad list path is still refused.
"$B" clean "$TMP/fashion.safetensors" "$F" --split valid --export "$TMP/fix.csv" --top 2 >/dev/null 2>&1
first=$(awk -F, 'NR == 2 { print $2 }' "$TMP/fix.csv")
cls=$(cut -d/ -f2 <<<"$first") other=bag
[ "$cls" = bag ] && other=coat
sed -i "2s/,keep\$/,relabel:$other/" "$TMP/fix.csv"
expect_exit 0 "relabeled $first -> valid/$other/" "$B" clean "$F" --apply "$TMP/fix.csv"
check "the relabeled picture is in valid/$other/" test -e "$F/valid/$other/$(basename "$first")"
check "no class folder outside train/ and valid/" test "$(ls "$F")" = "$(printf 'train\nvalid')"
expect_exit 0 "moved back: valid/$other/" "$B" clean --undo-all "$F"
check "undone: $first is back" test -e "$F/$first"
out=$(SDL_VIDEODRIVER=offscreen "$B" clean "$TMP/fashion.safetensors" "$F" --split valid --keys "r:$other,enter,q" 2>&1)
check "the window's relabel stays in valid/ ($out)" grep -q "^relabeled $first -> valid/$other/" <<<"$out"
expect_exit 0 "moved back" "$B" clean --undo-all "$F"
printf 'path,action\nvalid/socks/1.png,keep\n' >"$TMP/bad.csv"
expect_exit 1 "line 2: 'valid/socks/1.png': the path's first part is not one of the class folders" \
  "$B" clean "$F" --apply "$TMP/bad.csv"

# One epoch: there is no "from" and "to" to compare.
out=$("$B" train "$D" --size 32 --epochs 1 --lr 1e-5 --plot none --model "$TMP/one.safetensors" 2>&1)
check "a one-epoch run gets a verdict ($out)" grep -q "^lr too low: " <<<"$out"
refute "a one-epoch run's verdict compares no epoch with itself ($out)" grep -q "went from" <<<"$out"
check "a one-epoch run's verdict gives its error rate ($out)" \
  grep -qE "the error rate after its one epoch is [0-9.]+%" <<<"$out"

check "no model written by the refused runs" test ! -e "$model"
finish
