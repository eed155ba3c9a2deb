#!/usr/bin/env bash
# The exercise checker, both ways (issue 12): every blank exercise is reported wrong with the hint a
# learner should see first; every reference solution dropped in is reported right; typical slips
# (a sign, a factor 2, a missing shuffle ...) each get their own hint. All of it in a copy of
# exercises/: the learner's folder in the tree is never touched (checked at the end).
source "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SOLUTIONS=$SRC/tests/exercises/solutions
CHECK=$BIN/check-exercise
names=(- ex1_linear.c ex2_mse.c ex3_matmul.c ex4_relu_cross_entropy.c ex5_minibatch.c ex6_conv_weights.c)
tree_before=$(cat "$SRC"/exercises/*.c | md5sum)

cp -r "$SRC/exercises" "$TMP/exercises"
W=$TMP/exercises

# The blanks, as a learner first finds them: wrong, with the hint about what is still empty.
blank_hints=(- "grad: wrong, it is all zeros" "loss: wrong, it is all zeros" "nothing was added into da"
             "nothing was added into dx" "no update was made" "nothing was added into dw")
for n in 1 2 3 4 5 6; do
  expect_exit 1 "${blank_hints[$n]}" "$CHECK" "$n" "$W/${names[$n]}"
  expect_exit 1 "exercise $n: not yet" "$CHECK" "$n" "$W/${names[$n]}"
done

# The reference solutions, dropped in: right, with the line saying what was built.
for n in 1 2 3 4 5 6; do
  cp "$SOLUTIONS/${names[$n]}" "$W/${names[$n]}"
  expect_exit 0 "exercise $n: right\." "$CHECK" "$n" "$W/${names[$n]}"
  expect_exit 0 "You just wrote" "$CHECK" "$n" "$W/${names[$n]}" --seed 7
done

# slip N 'sed expression' "hint": the solution with one typical mistake is wrong, with that hint.
slip() {
  local n=$1 edit=$2 hint=$3 file=$TMP/slip-${names[$1]}
  sed "$edit" "$SOLUTIONS/${names[$n]}" >"$file"
  if cmp -s "$file" "$SOLUTIONS/${names[$n]}"; then fail "slip '$edit' changed nothing in ${names[$n]}"; return; fi
  expect_exit 1 "$hint" "$CHECK" "$n" "$file"
}
slip 1 's/residual = y_hat - y\[i\]/residual = y[i] - y_hat/' "sign is flipped.*climb the hill"
slip 1 's|2.0f / (float)n|4.0f / (float)n|g' "twice too big: where does the 2 in 2/n come from"
slip 1 's|2.0f / (float)n \*|1.0f / (float)n *|g' "half the right one"
slip 1 's/a\[0\] -= lr/a[0] += lr/; s/a\[1\] -= lr/a[1] += lr/' "stepped uphill"
slip 2 's/dt\[i\] -= d/dt[i] += d/' "dt has dp's sign"
slip 2 's/dp\[i\] += d/dp[i] = d/' "dp was overwritten"
slip 2 's|(float)(acc / (double)pred->numel)|(float)acc|' "sum of the squares"
slip 2 's/float g = dout \*/float g =/' "ignores dout"
slip 3 's/\* b\[k \* N + n\]/* b[n * K + k]/' "b was read as b\[n\]\[k\]"
slip 4 's/y\[i\] > 0.0f ? dy\[i\] : 0.0f/dy[i]/' "the gradient went through everywhere"
slip 4 's/ - onehot//' "the softmax alone"
slip 4 's|dloss_scale / (float)N \*|dloss_scale *|' "N times too big"
slip 5 '/rng_shuffle/d' "not shuffled"
slip 5 's/start < n; start += bs/start + bs <= n; start += bs/' "last n % bs = 3 points were never used"
slip 6 's/i \* s->stride - s->padding/i - s->padding/; s/j \* s->stride - s->padding/j - s->padding/' \
  "stride is missing"
slip 6 '/continue;/d' "a padding pixel"
slip 6 's/for (int n = 0; n < s->N; n++)/for (int n = 0; n < 1; n++)/' "only the first image counted"
# A file that does not compile, and a wrong function name, are said so, not crashed on.
slip 3 's/acc += (double)a\[m \* K + k\]/acc += (double)a[m * K + k] +/' "does not compile yet"
slip 1 's/^void linear_update/void linear_updat/' "does not link"

# Usage errors are exit 2, with a word.
expect_exit 2 "1 to 6, got '7'" "$CHECK" 7
expect_exit 2 "which exercise" "$CHECK"
expect_exit 2 "cannot read" "$CHECK" 1 "$TMP/no-such-file.c"
expect_exit 2 "unknown flag '--sed'" "$CHECK" 1 --sed 3
expect_exit 2 "--seed takes a whole number 0..999999999, got 'x'" "$CHECK" 1 --seed=x
expect_exit 0 "exercise 4: right" "$CHECK" 4 "$SOLUTIONS/${names[4]}" --seed=11
expect_exit 0 "Usage: check-exercise N" "$CHECK" --help

check "the tree's exercises/ are unchanged" test "$(cat "$SRC"/exercises/*.c | md5sum)" = "$tree_before"
finish
