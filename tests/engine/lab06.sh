#!/usr/bin/env bash
# lab06-autograd: fits the line like lab01 on lab01's data, the tape's first gradient equals the
# hand formula, --no-zero-grad piles gradients up and ends worse, bad flags exit 2 naming the flag,
# and a seed gives a byte-identical log.
. "$(dirname "$0")/../lib.sh"
L=$BIN/lab06-autograd
refute_diverged() { ! grep -q "^diverged:" <<<"$1"; }

out=$("$L" --plot none --log "$TMP/run.csv" 2>&1)
check "lab06 exits 0" [ $? -eq 0 ]
read -r a1 a2 < <(sed -n 's/^final a = (\([^,]*\), \([^)]*\)).*/\1 \2/p' <<<"$out")
fcheck "a1 within 0.1 of 3" "a > 2.9 && a < 3.1" "$a1"
fcheck "a2 within 0.1 of 2" "a > 1.9 && a < 2.1" "$a2"
check "log header" [ "$(head -1 "$TMP/run.csv")" = "step,loss,a1,a2,grad1,grad2" ]
check "one row per step plus the guess" [ "$(wc -l <"$TMP/run.csv")" -eq 102 ]
check "the tape has a matmul node" grep -qE "^ +0 matmul " <<<"$out"
check "the tape has an mse node" grep -qE "^ +1 mse " <<<"$out"

# ---- the first step: tape gradient = hand formula = logged gradient ----
IFS=, read -r t1 t2 < <(sed -n 's/^  tape: .*= (\(.*\), \(.*\))$/\1,\2/p' <<<"$out")
IFS=, read -r h1 h2 < <(sed -n 's/^  hand: .*= (\(.*\), \(.*\))$/\1,\2/p' <<<"$out")
IFS=, read -r _ _ _ _ l1 l2 < <(sed -n 2p "$TMP/run.csv")
echo "first-step gradient: tape ($t1, $t2), hand ($h1, $h2), log ($l1, $l2)"
fcheck "grad1: tape = hand formula" "a - b < 1e-5 && b - a < 1e-5 && a != 0" "$t1" "$h1"
fcheck "grad2: tape = hand formula" "a - b < 1e-5 && b - a < 1e-5 && a != 0" "$t2" "$h2"
fcheck "grad1: printed = logged" "a - b < 1e-5 && b - a < 1e-5" "$t1" "$l1"
fcheck "grad2: printed = logged" "a - b < 1e-5 && b - a < 1e-5" "$t2" "$l2"

# ---- independently of lab06's own printout: lab01 writes the gradient by hand, and its first update
# a1 = a0 - 0.1 * grad gives that gradient back from lab01's log. Same seed, same data: equal losses.
"$BIN/lab01-linear" --plot none --log "$TMP/lab01.csv" >/dev/null
IFS=, read -r loss01 g01 g02 < <(awk -F, '$1 == "0" { l = $2; a = $3; b = $4 }
  $1 == "1" { printf "%s,%.7f,%.7f\n", l, (a - $3) / 0.1, (b - $4) / 0.1 }' "$TMP/lab01.csv")
IFS=, read -r _ loss06 _ _ g61 g62 < <(sed -n 2p "$TMP/run.csv")
echo "step 0: lab01 loss $loss01, hand gradient ($g01, $g02); lab06 loss $loss06, tape gradient ($g61, $g62)"
check "same data as lab01: the same loss at the guess" [ "$loss01" = "$loss06" ]
fcheck "grad1: tape = lab01's hand-written gradient" "a - b < 1e-4 && b - a < 1e-4" "$g61" "$g01"
fcheck "grad2: tape = lab01's hand-written gradient" "a - b < 1e-4 && b - a < 1e-4" "$g62" "$g02"
worst=$(paste -d, "$TMP/lab01.csv" "$TMP/run.csv" | awk -F, 'NR > 1 {
  for (i = 2; i <= 4; i++) { d = $i - $(i + 4); if (d < 0) d = -d; if (d > m) m = d } } END { print m + 0 }')
fcheck "loss, a1, a2 match lab01's log at every step" "a < 1e-5" "$worst"

# ---- same seed, same bytes; another seed, other data ----
"$L" --plot none --log "$TMP/again.csv" >/dev/null
check "same seed gives a byte-identical CSV" cmp -s "$TMP/run.csv" "$TMP/again.csv"
"$L" --plot none --seed 7 --log "$TMP/other.csv" >/dev/null
refute "another seed gives another CSV" cmp -s "$TMP/run.csv" "$TMP/other.csv"

# ---- --no-zero-grad: gradients pile up, and the run ends worse or the detector fires ----
nozero=$("$L" --plot none --no-zero-grad --log "$TMP/nozero.csv")
normal_loss=$(tail -1 "$TMP/run.csv" | cut -d, -f2)
nozero_loss=$(tail -1 "$TMP/nozero.csv" | cut -d, -f2)
echo "last loss: normal $normal_loss, --no-zero-grad $nozero_loss"
if ! grep -q "^diverged:" <<<"$nozero"; then
  fcheck "--no-zero-grad ends worse than the normal run" "a > 2 * b" "$nozero_loss" "$normal_loss"
fi
check "--no-zero-grad names zero_grad as the fix" grep -q "zero_grad is the fix" <<<"$nozero"
# At step 1 a->grad holds two gradients without zero_grad: larger than the fresh one.
norm() { awk -F, '$1 == "1" { print sqrt($5 * $5 + $6 * $6) }' "$1"; }
fcheck "|grad| at step 1 is larger without zero_grad" "a > b" "$(norm "$TMP/nozero.csv")" "$(norm "$TMP/run.csv")"

# ---- one plot with both runs: the second (the other zero_grad setting) runs silently ----
check "the tape is explained once" [ "$(grep -c "the tape after the first forward pass" <<<"$out")" -eq 1 ]
check "one step table" [ "$(grep -cE "^ +step +loss" <<<"$out")" -eq 1 ]
check "the normal run prints no diverged: line from the silent no-zero-grad run" refute_diverged "$out"
if command -v gnuplot >/dev/null; then
  "$L" --plot png --out "$TMP/png" >/dev/null
  check "the loss plot is written" [ -s "$TMP/png/lab06-loss.png" ]
fi

# ---- flags ----
expect_exit 0 "Usage: lab06-autograd" "$L" --help
expect_exit 0 "--no-zero-grad" "$L" --help
expect_exit 2 "--lr got 'abc'" "$L" --lr abc
expect_exit 2 "--lr got '0'" "$L" --lr 0
expect_exit 2 "--lr got 'nan'" "$L" --lr nan
expect_exit 2 "--steps got '0'" "$L" --steps 0
expect_exit 2 "--steps got '10x'" "$L" --steps 10x
expect_exit 2 "--seed got '-1'" "$L" --seed -1
expect_exit 2 "--plot got 'pdf'" "$L" --plot pdf
expect_exit 2 "--log needs a value" "$L" --log
expect_exit 2 "unknown flag '--no-zerograd'" "$L" --no-zerograd
expect_exit 1 "nodir" "$L" --plot none --log "$TMP/nodir/x.csv"
finish
