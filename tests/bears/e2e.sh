#!/usr/bin/env bash
# bears end to end at 32 px: synth -> verify -> train -> interpret -> predict, plus lr-find.
. "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
D=$TMP/bears
"$B" synth "$D" --per-class 200 --size 48 --seed 3 >/dev/null || fail "synth"

# verify finds every planted unreadable file
planted_bad=$(awk -F, '$2 == "unreadable" { print $1 }' "$D/PLANTED.csv" | sort)
reported=$("$B" verify "$D" 2>&1)
for f in $planted_bad; do check "verify reports $f" grep -q "$f" <<<"$reported"; done
check "some unreadable files were planted" [ -n "$planted_bad" ]

# train: learns, prints the table, saves a model that loads
out=$("$B" train "$D" --size 32 --epochs 6 --bs 32 --lr 5e-3 --model "$TMP/m.safetensors" --log "$TMP/train.csv" 2>&1)
code=$?
check "train exits 0 ($out)" [ "$code" -eq 0 ]
check "epoch table header" grep -qE "epoch +train_loss +valid_loss +error_rate +time" <<<"$out"
check "log header" [ "$(head -1 "$TMP/train.csv")" = "epoch,train_loss,valid_loss,error_rate,seconds" ]
check "one log row per epoch" [ "$(wc -l <"$TMP/train.csv")" -eq 7 ]
IFS=, read -r _ _ _ first_err _ < <(sed -n 2p "$TMP/train.csv")
IFS=, read -r _ last_train last_valid last_err _ < <(tail -1 "$TMP/train.csv")
fcheck "error rate falls during training" "a < b" "$last_err" "$first_err"
fcheck "low final error rate (< 0.2)" "a < 0.2" "$last_err"
check "model saved" [ -s "$TMP/m.safetensors" ]
refute "no divergence at a sane lr" grep -q "diverged:" <<<"$out"

# interpret --list ranks the planted mislabeled pictures high
list=$("$B" interpret "$TMP/m.safetensors" "$D" --split all --list)
check "list header" [ "$(head -1 <<<"$list")" = "loss,path,label,predicted" ]
n_pictures=$(($(wc -l <<<"$list") - 1))
check "list has every readable picture ($n_pictures)" [ "$n_pictures" -gt 400 ]
sorted_ok=$(tail -n +2 <<<"$list" | cut -d, -f1 | sort -g -r -c 2>&1 && echo yes)
check "list sorted by loss, worst first" [ "$sorted_ok" = yes ]
mislabeled=$(awk -F, '$2 == "mislabeled" { print $1 }' "$D/PLANTED.csv")
n_mis=$(wc -w <<<"$mislabeled")
# "rank high": within the top 3x their number, out of hundreds (the 80%-in-top-2x target is
# measured on the full default data set, see the issue note; this small run is noisier).
top=$(tail -n +2 <<<"$list" | head -n $((3 * n_mis)))
found=0
for f in $mislabeled; do grep -q "/$f," <<<"$top" && found=$((found + 1)); done
check "mislabeled pictures were planted" [ "$n_mis" -gt 0 ]
fcheck "at least 75% of the $n_mis mislabeled pictures in the top $((3 * n_mis)) losses (found $found)" "a >= 0.75 * b" "$found" "$n_mis"

# interpret (report): confusion matrix, pairs, top-losses grid
rep=$("$B" interpret "$TMP/m.safetensors" "$D" --plot png --out "$TMP/plots" 2>&1)
check "confusion matrix printed" grep -q "confusion matrix" <<<"$rep"
check "most confused printed" grep -q "most confused" <<<"$rep"
check "top-losses grid written" [ -s "$TMP/plots/bears-top-losses.png" ]

# predict round-trips through the saved model: same answer as interpret for the same file
line=$(tail -n +2 <<<"$list" | tail -1) # the easiest picture
path=$(cut -d, -f2 <<<"$line"); want=$(cut -d, -f4 <<<"$line")
pred=$("$B" predict "$TMP/m.safetensors" "$path")
check "predict agrees with interpret ($pred vs $want)" grep -q ": $want (" <<<"$pred"

# lr-find: a suggestion and a plot
lf=$("$B" lr-find "$D" --size 32 --bs 32 --iters 60 --plot png --out "$TMP/plots" --log "$TMP/lr.csv" 2>&1)
check "lr-find suggests an lr ($lf)" grep -qE "^suggested lr: [0-9.e-]+" <<<"$lf"
check "lr-find plot" [ -s "$TMP/plots/bears-lr-find.png" ]
check "lr-find log header" [ "$(head -1 "$TMP/lr.csv")" = "iteration,lr,loss,smoothed_loss" ]
finish
