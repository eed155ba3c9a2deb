#!/usr/bin/env bash
# scripts/torchvision_to_safetensors.py as README.md has a user run it, on a seeded torchvision ResNet-18
# saved the way torchvision saves its ImageNet weights (named after its sha256): the converted file
# fine-tunes with bears train --pretrained; a renamed or damaged .pth, another arch, a tensor of another
# shape and an output folder that does not exist each get one line naming the problem and exit 1, never a
# traceback. Needs Debian's python3-torchvision (scripts/deps.sh --with-torch; CI installs it); skipped without it.
source "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
"$PY" -c "import torchvision" 2>/dev/null || { echo "python3-torchvision not installed: skipped"; exit 77; }
convert() { "$PY" "$SRC/scripts/torchvision_to_safetensors.py" "$@"; }

"$PY" - "$TMP" <<'PY' || fail "writing the seeded .pth files"
import hashlib, os, sys, torch, torchvision
tmp = sys.argv[1]
torch.manual_seed(0)
state = torchvision.models.resnet18().state_dict()
torch.save(state, f"{tmp}/r18.pth")
sha = hashlib.sha256(open(f"{tmp}/r18.pth", "rb").read()).hexdigest()
os.rename(f"{tmp}/r18.pth", f"{tmp}/resnet18-{sha[:8]}.pth")
state["layer3.1.conv2.weight"] = torch.zeros(256, 256, 3, 1)
torch.save(state, f"{tmp}/shape.pth")
PY
pth=$(ls "$TMP"/resnet18-*.pth)
expect_exit 0 "wrote $TMP/r18.safetensors: resnet18, 102 tensors" convert "$pth" "$TMP/r18.safetensors"

check "the converted file gets the umask's mode, not mkstemp's 0600 ($(stat -c %a "$TMP/r18.safetensors"))" \
  test "$(stat -c %a "$TMP/r18.safetensors")" = "$(printf '%o' $((0666 & ~$(umask))))"
expect_exit 1 "r18.safetensors is not a PyTorch .pth file.*safetensors already" \
  convert "$TMP/r18.safetensors" "$TMP/x.safetensors"
printf 'P6\n1 1\n255\n\0\0\0' >"$TMP/picture.pth"
expect_exit 1 "picture.pth is not a PyTorch .pth file" convert "$TMP/picture.pth" "$TMP/x.safetensors"

D="$TMP/bears"
"$BIN/bears" synth "$D" --per-class 12 --size 48 >/dev/null
out=$("$BIN/bears" train "$D" --arch resnet18 --size 32 --pretrained "$TMP/r18.safetensors" --freeze-epochs 1 \
  --epochs 1 --plot none --model "$TMP/fine.safetensors" 2>&1)
check "bears train loads the converted body ($out)" grep -q "^pretrained body from $TMP/r18.safetensors" <<<"$out"
refute "a pretrained run does not announce the folder's own normalisation" grep -q "normalise with mean .* from the training split" <<<"$out"
check "and fine-tunes it ($out)" grep -q "^saved $TMP/fine.safetensors (resnet18" <<<"$out"

# lr-find on the pretrained body: frozen, as fastai's learner starts, its advice is the head's --lr; with
# --unfrozen it is the whole network's curve, advised as --lr-body.
out=$("$BIN/bears" lr-find "$D" --arch resnet18 --size 32 --pretrained "$TMP/r18.safetensors" --iters 24 --bs 16 \
  --plot none 2>&1)
check "lr-find freezes the body ($out)" grep -q "body is frozen, so this is the new head's curve" <<<"$out"
check "and advises the head's lr ($out)" grep -q "train with: .* --pretrained .* --lr [0-9]" <<<"$out"
out=$("$BIN/bears" lr-find "$D" --arch resnet18 --size 32 --pretrained "$TMP/r18.safetensors" --iters 24 --bs 16 \
  --unfrozen --plot none 2>&1)
refute "--unfrozen trains the body ($out)" grep -q "body is frozen" <<<"$out"
check "and advises --lr-body ($out)" grep -q "train with: .* --lr-body [0-9]" <<<"$out"
expect_exit 2 "--unfrozen needs --pretrained" "$BIN/bears" lr-find "$D" --unfrozen

no_traceback() { refute "$1: no traceback" grep -q Traceback "$TMP/err"; }
cp "$pth" "$TMP/resnet18-00000000.pth"
expect_exit 1 "sha256 of .*resnet18-00000000.pth is .*says it starts with 00000000" \
  convert "$TMP/resnet18-00000000.pth" "$TMP/x.safetensors"
head -c 100000 "$pth" >"$TMP/cut.pth"
expect_exit 1 "cannot read $TMP/cut.pth as PyTorch weights" convert "$TMP/cut.pth" "$TMP/x.safetensors"
expect_exit 1 "is not a torchvision resnet34: the file lacks 'layer1.2.conv1.weight'" \
  convert "$pth" "$TMP/x.safetensors" --arch resnet34
expect_exit 1 "is not a torchvision resnet18 .*: size mismatch for layer3.1.conv2.weight" convert "$TMP/shape.pth" "$TMP/x.safetensors"
convert "$pth" "$TMP/no/such/folder/x.safetensors" 2>"$TMP/err"
check "an output folder that does not exist: exit 1 and a message ($(cat "$TMP/err"))" \
  grep -q "^error: cannot write $TMP/no/such/folder/x.safetensors: No such file or directory" "$TMP/err"
no_traceback "an output folder that does not exist"
check "nothing written by the refused conversions" test ! -e "$TMP/x.safetensors"
finish
