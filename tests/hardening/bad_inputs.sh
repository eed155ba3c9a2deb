#!/usr/bin/env bash
# The bad-input table: every case a tester's probe broke (issue 13), and the ones it found fine, as rows of
# input -> expected exit code -> expected words. A row that crashes, hangs, exits 0 on bad input or loses
# a user's bytes fails. Run under ASan + UBSan in CI like every test.
. "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
# row CODE 'pattern' cmd...: one line of the table (the same check as expect_exit, with a bound in time)
row() {
  local want=$1 pattern=$2; shift 2
  expect_exit "$want" "$pattern" timeout 120 "$@"
}
unchanged() { # unchanged FILE COPY: the user's file still holds exactly what it held
  check "$1 unchanged" cmp -s "$1" "$2"
}

D=$TMP/d
"$B" synth "$D" --per-class 8 --size 32 >/dev/null || fail "synth"
good=$(ls "$D"/teddy/*.png | head -1)
"$B" train "$D" --size 16 --epochs 1 --bs 8 --model "$TMP/m.safetensors" >/dev/null 2>&1 || fail "a tiny model"
cp "$TMP/m.safetensors" "$TMP/m.orig"

# 1. a 1-byte file: verify, verify --delete, show and predict say what it is (ASan: no overflow)
mkdir -p "$TMP/one/a" "$TMP/one/b"
printf '\xff' >"$TMP/one/a/x.jpg"
printf '\x00' >"$TMP/one/a/y.jpg"
cp "$good" "$TMP/one/b/"
row 1 'x.jpg +BAD: .*the whole file: ff' "$B" verify "$TMP/one"
row 1 'y.jpg: .*the whole file: 00' "$B" predict "$TMP/m.safetensors" "$TMP/one/a/y.jpg"
row 0 'show.png' "$B" show "$TMP/one" --out "$TMP/out"
row 0 'moved 2 bad files' "$B" verify "$TMP/one" --delete
check "1-byte files in the trash" test -f "$TMP/one/.trash/a/x.jpg" -a -f "$TMP/one/.trash/a/y.jpg"

# 2. a crafted model with 300,000 empty tensors: refused at once, not after minutes
python3 - "$TMP/many.safetensors" <<'PY'
import json, struct, sys
h = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(300000)}
j = json.dumps(h).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(j)) + j)
PY
row 1 'at most 65536 tensors' "$B" predict "$TMP/many.safetensors" "$good"

# 3. --log is never opened before the run can start, and never the model
echo "epoch,old" >"$TMP/keep.csv" && cp "$TMP/keep.csv" "$TMP/keep.orig"
row 2 '--log and --model both name' "$B" train /nope --model "$TMP/m.safetensors" --log "$TMP/m.safetensors"
unchanged "$TMP/m.safetensors" "$TMP/m.orig"
row 1 "cannot open folder '/nope'" "$B" lr-find /nope --log "$TMP/keep.csv"
unchanged "$TMP/keep.csv" "$TMP/keep.orig"
row 1 "cannot open folder '/nope'" "$B" train /nope --model "$TMP/m2.safetensors" --log "$TMP/keep.csv"
unchanged "$TMP/keep.csv" "$TMP/keep.orig"
row 1 "cannot write $TMP: it is a folder" "$BIN/lab01-linear" --log "$TMP" --plot none

# 4. write errors on logs: /dev/full, and a full disk (a tiny tmpfs) that must keep the old log
row 1 'cannot write /dev/full: No space left' "$BIN/lab01-linear" --log /dev/full --plot none
row 1 'cannot write /dev/full: No space left' "$B" train "$D" --size 16 --epochs 1 --bs 8 \
  --model "$TMP/m3.safetensors" --log /dev/full
small=$TMP/small-disk
mkdir -p "$small"
if mount -t tmpfs -o size=12k tmpfs "$small" 2>/dev/null; then
  echo "step,old" >"$small/run.csv" && cp "$small/run.csv" "$TMP/run.orig"
  row 1 "cannot write $small/run.csv: No space left.*unchanged" "$BIN/lab01-linear" --steps 3000 \
    --log "$small/run.csv" --plot none
  unchanged "$small/run.csv" "$TMP/run.orig"
  check "no temp file left on the full disk" test "$(ls -A "$small")" = run.csv
  # read-only disk: verify --delete says why nothing moved (it was "No such file or directory")
  mkdir -p "$small/ro/a" "$small/ro/b" && printf 'x' >"$small/ro/a/bad.jpg" && cp "$good" "$small/ro/b/"
  mount -o remount,ro "$small"
  row 1 'NOT moved: cannot create .*Read-only file system' "$B" verify "$small/ro" --delete
  check "the bad file is where it was" test -f "$small/ro/a/bad.jpg"
  umount "$small"
else
  echo "skipped: the full-disk and read-only rows need mount (root)"
fi

# 5. synth never replaces PLANTED.csv (or any file) in DIR
mkdir -p "$TMP/s" && echo "mine" >"$TMP/s/PLANTED.csv" && cp "$TMP/s/PLANTED.csv" "$TMP/planted.orig"
row 1 'already holds PLANTED.csv' "$B" synth "$TMP/s" --per-class 4 --size 32
unchanged "$TMP/s/PLANTED.csv" "$TMP/planted.orig"

# 6. two verify --max-size at once on one folder: every picture still decodes, whole, and is small
"$B" synth "$TMP/big" --per-class 40 --size 96 >/dev/null
"$B" verify "$TMP/big" --delete >/dev/null
"$B" verify "$TMP/big" --max-size 40 >"$TMP/v1.log" 2>&1 &
"$B" verify "$TMP/big" --max-size 40 >"$TMP/v2.log" 2>&1
wait
row 0 '0 bad' "$B" verify "$TMP/big"
check "no shrinking temp files left" test -z "$(find "$TMP/big" -name '.shrinking-*')"
check "every picture shrunk" test "$("$B" verify "$TMP/big" --max-size 40 | grep -c shrunk)" -eq 0

# 7. the trash journal keeps a newline in a file name and --restore brings it back
mkdir -p "$TMP/nl/a" "$TMP/nl/b" && printf 'not a picture' >"$TMP/nl/a/two
lines.jpg" && cp "$good" "$TMP/nl/b/"
row 0 'moved 1 bad files' "$B" verify "$TMP/nl" --delete
row 0 'restored 1 files' "$B" verify "$TMP/nl" --restore
check "the file with a newline is back" test -f "$TMP/nl/a/two
lines.jpg"
mkdir -p "$TMP/jd/a" "$TMP/jd/b" "$TMP/jd/.trash/journal.csv" && printf 'x' >"$TMP/jd/a/bad.jpg" && cp "$good" "$TMP/jd/b/"
row 1 'NOT moved: cannot write the trash journal' "$B" verify "$TMP/jd" --delete
check "no journal, no move" test -f "$TMP/jd/a/bad.jpg"
printf 'original,trashed_as,reason\n"unclosed,x,y\n' >"$TMP/nl/.trash/journal.csv"
row 1 'line 2: a quoted field is never closed \(nothing was moved\)' "$B" verify "$TMP/nl" --restore

# 8. float flags are checked after narrowing to float
row 2 "--lr got '1e-50' \(too small for a 32-bit float" "$BIN/lab01-linear" --lr 1e-50
row 2 "--start got '1e-50' \(too small" "$B" lr-find "$D" --start 1e-50
row 2 "--lr got '1e39'" "$B" train "$D" --lr 1e39
row 2 "--epochs got '99999999999'" "$B" train "$D" --epochs 99999999999

# 9. an over-long path is refused whole, and nothing is created
long=$TMP/$(printf 'x%.0s' {1..3100})/m.safetensors
row 2 '--model is 3.* characters long' "$B" train "$D" --model "$long"
check "no folders made from a cut path" test ! -e "$TMP/xxxxxxxxxx" -a -z "$(find "$TMP" -maxdepth 1 -name 'xxx*')"

# 10. messages that say what is wrong
row 1 'is a folder, not a picture' "$B" predict "$TMP/m.safetensors" "$D"
row 1 'not a regular file' "$B" predict "$TMP/m.safetensors" /dev/zero
printf '\x89PNG\r\n\x1a\n\0\0\0\x0dtEXtabcdefghijklmnop' >"$TMP/noihdr.png"
row 1 'first chunk is not the IHDR' "$B" predict "$TMP/m.safetensors" "$TMP/noihdr.png"
here=$(cd "$(dirname "$0")/.." && pwd)
row 0 'anim-blue-first.webp: (black|grizzly|teddy)' "$B" predict "$TMP/m.safetensors" "$here/data/anim-blue-first.webp"
row 0 'anim-blue-first.gif: (black|grizzly|teddy)' "$B" predict "$TMP/m.safetensors" "$here/data/anim-blue-first.gif"
row 1 'split of .* holds no pictures' "$B" interpret "$TMP/m.safetensors" "$D" --valid-pct 0.01 --plot none
# a model whose weights are NaN, and one whose class names carry terminal escape codes
python3 - "$TMP/m.safetensors" "$TMP/nan.safetensors" "$TMP/esc.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header, data = json.loads(raw[8:8 + n]), bytearray(raw[8 + n:])
def write(path, h, d):
    j = json.dumps(h).encode()
    open(path, "wb").write(struct.pack("<Q", len(j)) + j + bytes(d))
begin = header["fc.weight"]["data_offsets"][0]
nan = data[:]
nan[begin:begin + 4] = struct.pack("<f", float("nan"))
write(sys.argv[2], header, nan)
header["__metadata__"]["classes"] = json.dumps(["\x1b[31mred", "grizzly", "teddy"])
write(sys.argv[3], header, data)
PY
row 1 "tensor 'fc.weight' holds NaN" "$B" predict "$TMP/nan.safetensors" "$good"
out=$("$B" predict "$TMP/esc.safetensors" "$good" 2>&1)
check "escape codes refused, shown escaped: $out" grep -q 'class name "\\x1b\[31mred" holds a control character' <<<"$out"
check "no raw escape byte reaches the terminal" bash -c '! grep -q $'"'"'\x1b'"'"' <<<"$1"' _ "$out"
mkdir -p "$TMP/esc/a" "$TMP/esc/b$(printf '\x1b')[2J" && cp "$good" "$TMP/esc/a/" && cp "$good" "$TMP/esc/b"*/
row 1 'class name "b\\x1b\[2J" holds a control character' "$B" train "$TMP/esc" --model "$TMP/m4.safetensors"

# 11. GIF: one real photo in a thousand was one; it now decodes like the others
mkdir -p "$TMP/gif/a" "$TMP/gif/b" && cp "$here/data/anim-blue-first.gif" "$TMP/gif/a/" && cp "$good" "$TMP/gif/b/"
row 0 '2 good, 0 bad' "$B" verify "$TMP/gif"

# What the probe found fine stays fine: truncated and text models, bad flags, unknown commands.
head -c 3000 "$TMP/m.safetensors" >"$TMP/cut.safetensors"
row 1 'cannot load the model' "$B" predict "$TMP/cut.safetensors" "$good"
row 2 "--lr got 'nan'" "$BIN/lab01-linear" --lr nan
row 2 "unknown flag '--lrr'" "$B" train "$D" --lrr 1
row 2 "unknown command 'trian'" "$B" trian "$D"
# 12. --model never destroys a file: not a picture of the data, not the pretrained body, not a file that
# is not a model; an old model it replaces goes to the trash beside it (a tester's probe)
pic=$(ls "$D"/black/*.png | head -1) && cp "$pic" "$TMP/pic.orig"
row 1 'inside the data folder' "$B" train "$D" --size 16 --epochs 1 --bs 8 --model "$pic"
unchanged "$pic" "$TMP/pic.orig"
row 1 'inside the data folder' "$B" train "$D" --size 16 --epochs 1 --bs 8 --model "$D/new/m.safetensors"
check "no folder made in the data" test ! -e "$D/new"
row 1 '--model and --pretrained both name' "$B" train "$D" --arch resnet18 --size 32 --epochs 1 \
  --pretrained "$TMP/m.safetensors" --model "$TMP/m.safetensors"
unchanged "$TMP/m.safetensors" "$TMP/m.orig"
echo "my notes" >"$TMP/notes.txt" && cp "$TMP/notes.txt" "$TMP/notes.orig"
row 1 'exists and is not a bears model' "$B" train "$D" --size 16 --epochs 1 --bs 8 --model "$TMP/notes.txt"
unchanged "$TMP/notes.txt" "$TMP/notes.orig"
row 1 'is a folder; name the file' "$B" train "$D" --size 16 --epochs 1 --bs 8 --model "$TMP"
row 2 '--model needs a value .got the flag --epochs' "$B" train "$D" --model --epochs 1
mkdir -p "$TMP/models" && cp "$TMP/m.safetensors" "$TMP/models/m.safetensors"
row 0 "the previous .*models/m.safetensors is now .*models/.trash/m.safetensors" "$B" train "$D" --size 16 \
  --epochs 1 --bs 8 --model "$TMP/models/m.safetensors"
unchanged "$TMP/models/.trash/m.safetensors" "$TMP/m.orig"
check "the new model is a model" "$B" predict "$TMP/models/m.safetensors" "$good"
unchanged "$TMP/m.safetensors" "$TMP/m.orig"
finish
