#!/usr/bin/env bash
# bears train records what interpret and a learner need (issue 12): the split goes into the model and
# interpret uses it (warning when the folder or the flags make it another split); train draws its
# training curves; too little data gets its own verdict instead of "lr too low".
. "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
D=$TMP/bears
"$B" synth "$D" --per-class 24 --size 40 --seed 5 >/dev/null || fail "synth"

# ---- the split travels with the model ----
out=$("$B" train "$D" --size 32 --epochs 1 --valid-pct 0.5 --model "$TMP/half.safetensors" --out "$TMP/png" 2>&1)
check "train --valid-pct 0.5 exits 0" [ $? -eq 0 ]
n_valid=$(sed -n 's/^data: .* pictures: [0-9]* train, \([0-9]*\) valid.*/\1/p' <<<"$out")
n_default=$("$B" data "$D" --size 32 2>&1 | sed -n 's/^data: .* pictures: [0-9]* train, \([0-9]*\) valid.*/\1/p')
check "the two splits differ in size ($n_valid at 0.5, $n_default at 0.2)" [ -n "$n_valid" ] && [ "$n_valid" -gt "$n_default" ]
scored=$("$B" interpret "$TMP/half.safetensors" "$D" --plot none 2>"$TMP/warn.txt")
check "interpret exits 0" [ $? -eq 0 ]
check "interpret scores the model's own valid split ($n_valid pictures)" grep -q "^valid split: $n_valid pictures" <<<"$scored"
check "no warning for the same folder and split" [ ! -s "$TMP/warn.txt" ]
"$B" interpret "$TMP/half.safetensors" "$D" --plot none --valid-pct 0.2 >"$TMP/other.txt" 2>&1
check "an explicit other split is used" grep -q "^valid split: $n_default pictures" "$TMP/other.txt"
check "... with a warning naming the training split" grep -q "trained with --valid-pct 0.5 --seed 42" "$TMP/other.txt"
check "--help says the default is the model's split" bash -c "'$B' interpret --help | grep -q 'default: the one stored in the model'"

# A folder that changed since training: said so (a copy, the original is left alone).
cp -r "$D" "$TMP/changed"
first=$(ls "$TMP/changed/teddy" | head -1)
mv "$TMP/changed/teddy/$first" "$TMP/changed/teddy/renamed-$first"
"$B" interpret "$TMP/half.safetensors" "$TMP/changed" --plot none >"$TMP/changed.txt" 2>&1
check "a renamed picture: warned that the folder changed" grep -q "does not hold what .* was trained on (as many pictures" "$TMP/changed.txt"
mkdir -p "$TMP/moved" && mv "$TMP/changed/black/"000[1-3].* "$TMP/moved/"
"$B" interpret "$TMP/half.safetensors" "$TMP/changed" --plot none --split all >"$TMP/fewer.txt" 2>&1
check "fewer pictures: warned with both counts" grep -q "readable pictures then, [0-9]* now" "$TMP/fewer.txt"

# A model whose stored split is malformed is refused with a message, not guessed at.
python3 - "$TMP/half.safetensors" "$TMP/bad-split.safetensors" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
assert data.count(b'"valid_pct":"0.5"') == 1
open(sys.argv[2], "wb").write(data.replace(b'"valid_pct":"0.5"', b'"valid_pct":"1.5"'))
PY
expect_exit 1 "not a usable bears model: its split needs a valid_pct between 0 and 1" \
  "$B" interpret "$TMP/bad-split.safetensors" "$D" --plot none

# ---- the training curves (fastai's recorder plots) ----
if command -v gnuplot >/dev/null; then
  check "train says where its curves went" grep -q "^plot: $TMP/png/bears-train.png" <<<"$out"
  check "the curves are a PNG" [ "$(head -c 8 "$TMP/png/bears-train.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
fi
"$B" train "$D" --size 32 --epochs 1 --model "$TMP/none.safetensors" --plot none --out "$TMP/none" >/dev/null 2>&1
check "--plot none draws nothing" [ ! -e "$TMP/none" ]

# ---- too few pictures: the verdict is about the data, not the lr ----
"$B" synth "$TMP/tiny" --per-class 4 --size 40 >/dev/null
tiny=$("$B" train "$TMP/tiny" --size 32 --epochs 2 --model "$TMP/tiny.safetensors" --plot none 2>&1)
check "tiny data: train exits 0" [ $? -eq 0 ]
check "tiny data: says the batch is all the training pictures" grep -q "^note: only [0-9]* training pictures, fewer than --bs 32" <<<"$tiny"
check "tiny data: too few pictures is the verdict" grep -q "^too few pictures: [0-9]* to train on" <<<"$tiny"
refute "tiny data: no 'lr too low'" grep -q "lr too low" <<<"$tiny"
refute "tiny data: no 'underfitting'" grep -q "underfitting" <<<"$tiny"

# ---- labels shuffled across the folders: nothing to learn, and the error rate's wobble near the 67% of
# guessing is not overfitting (it was called that: lowest after epoch 2, "rose" since)
"$B" synth "$TMP/shuffled" --per-class 150 --size 36 >/dev/null
i=0
for f in "$TMP"/shuffled/*/*; do
  classes=(black grizzly teddy)
  mv "$f" "$TMP/shuffled/${classes[$(( (i * 1103515245 + 12345) / 65536 % 3 ))]}/s$i.${f##*.}" # an LCG's draw
  i=$((i + 1))
done
noise=$("$B" train "$TMP/shuffled" --size 32 --epochs 4 --model "$TMP/shuffled.safetensors" --plot none 2>&1)
check "shuffled labels: not learning is the verdict ($noise)" grep -q "^not learning yet: the best error rate" <<<"$noise"
refute "shuffled labels: no 'overfitting'" grep -q "^overfitting" <<<"$noise"
finish
