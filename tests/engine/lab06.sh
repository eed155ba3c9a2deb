#!/usr/bin/env bash
# lab06-autograd's behaviour: it fits the line, the tape's first gradient equals the hand formula,
# --no-zero-grad ends worse, bad flags exit 2 naming the flag, and a seed gives a byte-identical log.
set -euo pipefail
bin="$1/lab06-autograd"
tmp="${SGDLAB_TEST_TMP:-$(mktemp -d)}"
rm -rf "$tmp" && mkdir -p "$tmp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# ---- a normal run fits a = (3, 2) ----
"$bin" --plot none --log "$tmp/run1.csv" >"$tmp/run1.txt"
read -r a1 a2 < <(sed -n 's/^final a = (\([^,]*\), \([^)]*\)).*/\1 \2/p' "$tmp/run1.txt")
echo "final a = ($a1, $a2)"
awk -v a1="$a1" -v a2="$a2" 'BEGIN { d1 = a1 - 3; d2 = a2 - 2; exit !(d1 * d1 < 0.01 && d2 * d2 < 0.01) }' \
  && ok "final a within 0.1 of (3, 2)" || fail "final a = ($a1, $a2) is not within 0.1 of (3, 2)"

# ---- the first step: the tape's gradient and the hand formula agree, and the log holds the tape's ----
tape=$(sed -n 's/^  tape: .*= (\(.*\))$/\1/p' "$tmp/run1.txt" | tr -d ' ')
hand=$(sed -n 's/^  hand: .*= (\(.*\))$/\1/p' "$tmp/run1.txt" | tr -d ' ')
logged=$(awk -F, '$1 == "0" { print $5 "," $6 }' "$tmp/run1.csv")
echo "first-step gradient: tape ($tape), hand ($hand), log ($logged)"
[[ -n "$tape" && -n "$hand" && -n "$logged" ]] || fail "could not find the first-step gradients"
awk -v t="$tape" -v h="$hand" -v l="$logged" 'BEGIN {
  split(t, T, ","); split(h, H, ","); split(l, L, ",")
  for (i = 1; i <= 2; i++) {
    if (T[i] - H[i] > 1e-5 || H[i] - T[i] > 1e-5) exit 1       # tape vs hand formula
    if (T[i] - L[i] > 1e-5 || L[i] - T[i] > 1e-5) exit 1       # printed vs logged
    if (T[i] == 0) exit 1                                       # a zero gradient would agree trivially
  }
}' && ok "tape gradient equals 2/n X^T(Xa-y) at the first step" || fail "tape ($tape) vs hand ($hand) vs log ($logged)"
# Independently: lab01 writes the gradient by hand, and its first update a1 = a0 - 0.1 * grad gives
# that gradient back from lab01's log. Same seed, so same data: the step-0 losses must be equal too.
"$1/lab01-linear" --plot none --log "$tmp/lab01.csv" >/dev/null
lab01=$(awk -F, '$1 == "0" { l = $2; a = $3; b = $4 } $1 == "1" { printf "%s,%.7f,%.7f", l, (a - $3) / 0.1, (b - $4) / 0.1 }' "$tmp/lab01.csv")
lab06=$(awk -F, '$1 == "0" { print $2 "," $5 "," $6 }' "$tmp/run1.csv")
echo "step 0 loss,grad1,grad2: lab01 (hand) $lab01, lab06 (tape) $lab06"
awk -v p="$lab01" -v q="$lab06" 'BEGIN {
  split(p, P, ","); split(q, Q, ",")
  if (P[1] != Q[1]) exit 1
  for (i = 2; i <= 3; i++) if (P[i] - Q[i] > 1e-4 || Q[i] - P[i] > 1e-4) exit 1
}' && ok "same data as lab01, and the tape's gradient is lab01's hand-written one" || fail "lab01 $lab01 vs lab06 $lab06"
worst=$(paste -d, "$tmp/lab01.csv" "$tmp/run1.csv" | awk -F, 'NR > 1 {
  for (i = 2; i <= 4; i++) { d = $i - $(i + 4); if (d < 0) d = -d; if (d > m) m = d } } END { print m + 0 }')
awk -v w="$worst" 'BEGIN { exit !(w < 1e-5) }' && ok "loss, a1, a2 match lab01's log at every step (within $worst)" \
  || fail "lab06's fit differs from lab01's by $worst"
grep -q "matmul" "$tmp/run1.txt" && grep -q "mse" "$tmp/run1.txt" && ok "the tape is printed" \
  || fail "the first step does not print the tape's matmul and mse nodes"

# ---- the log: the header the help promises, one row per step, loss falling ----
[[ "$(head -1 "$tmp/run1.csv")" == "step,loss,a1,a2,grad1,grad2" ]] && ok "log header" || fail "log header: $(head -1 "$tmp/run1.csv")"
rows=$(($(wc -l <"$tmp/run1.csv") - 1))
[[ "$rows" == 101 ]] && ok "101 log rows for 100 steps" || fail "$rows log rows for 100 steps"

# ---- same seed, same bytes; another seed, other data ----
"$bin" --plot none --log "$tmp/run2.csv" >/dev/null
cmp -s "$tmp/run1.csv" "$tmp/run2.csv" && ok "same seed gives a byte-identical log" || fail "two runs with seed 42 differ"
"$bin" --plot none --seed 7 --log "$tmp/seed7.csv" >/dev/null
cmp -s "$tmp/run1.csv" "$tmp/seed7.csv" && fail "--seed 7 gives the same log as seed 42" || ok "another seed, another run"

# ---- --no-zero-grad: gradients pile up and the fit ends worse (or the detector fires) ----
"$bin" --plot none --no-zero-grad --log "$tmp/nozero.csv" >"$tmp/nozero.txt"
normal_loss=$(tail -1 "$tmp/run1.csv" | cut -d, -f2)
nozero_loss=$(tail -1 "$tmp/nozero.csv" | cut -d, -f2)
echo "last loss: normal $normal_loss, --no-zero-grad $nozero_loss"
if grep -q "^diverged:" "$tmp/nozero.txt" || awk -v a="$nozero_loss" -v b="$normal_loss" 'BEGIN { exit !(a > 2 * b) }'; then
  ok "--no-zero-grad ends worse or reports diverged:"
else
  fail "--no-zero-grad ended with loss $nozero_loss, no worse than $normal_loss"
fi
# The accumulated gradient at step 1 is the sum of two gradients: bigger than a fresh one.
g_fresh=$(awk -F, '$1 == "1" { print sqrt($5 * $5 + $6 * $6) }' "$tmp/run1.csv")
g_piled=$(awk -F, '$1 == "1" { print sqrt($5 * $5 + $6 * $6) }' "$tmp/nozero.csv")
echo "|grad| at step 1: with zero_grad $g_fresh, without $g_piled"
awk -v a="$g_piled" -v b="$g_fresh" 'BEGIN { exit !(a > b) }' && ok "gradients accumulate without zero_grad" \
  || fail "|grad| at step 1 without zero_grad ($g_piled) is not larger than with it ($g_fresh)"

# ---- bad flags: exit 2, and the message names the flag ----
expect_usage_error() { # FLAG ARGS...
  local flag="$1" rc=0
  shift
  "$bin" --plot none "$@" >"$tmp/out.txt" 2>"$tmp/err.txt" || rc=$?
  if [[ $rc == 2 ]] && grep -q -- "$flag" "$tmp/err.txt"; then ok "$* -> exit 2 naming $flag"
  else fail "$* -> exit $rc, stderr: $(cat "$tmp/err.txt")"; fi
}
expect_usage_error --lr --lr abc
expect_usage_error --lr --lr 0
expect_usage_error --lr --lr nan
expect_usage_error --steps --steps 0
expect_usage_error --steps --steps 10x
expect_usage_error --seed --seed -1
expect_usage_error --log --log
expect_usage_error --bogus --bogus
"$bin" --help >"$tmp/help.txt" && grep -q -- "--no-zero-grad" "$tmp/help.txt" && ok "--help lists --no-zero-grad" \
  || fail "--help"

echo "lab06: $failures failed"
exit $((failures > 0))
