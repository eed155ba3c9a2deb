#!/usr/bin/env bash
# lab00: the tour runs and what it prints is consistent with itself.
. "$(dirname "$0")/../lib.sh"
out=$("$BIN/lab00-tensors" 2>&1); code=$?
check "lab00 exits 0" [ "$code" -eq 0 ]
check "x has shape [100, 2]" grep -q "shape \[100, 2\]" <<<"$out"
check "x[:5] prints 5 rows" [ "$(sed -n '/^x\[:5\] = /,/]])/p' <<<"$out" | wc -l)" -eq 5 ]
# Column 0 is U(-1,1), column 1 all ones, in the printed slice.
rows=$(sed -n '/^x\[:5\] = /,/]])/p' <<<"$out" | sed 's/^x\[:5\] = tensor//' | tr -d '[](),')
check "x[:5] column 1 is all ones" awk '{ if ($2 != "1.0000") bad=1 } END { exit bad }' <<<"$rows"
check "x[:5] column 0 is inside (-1, 1)" awk '{ if ($1 <= -1 || $1 >= 1) bad=1 } END { exit bad }' <<<"$rows"
acc=$(sed -n 's/^accuracy .*= //p' <<<"$out"); err=$(sed -n 's/^error_rate .*= //p' <<<"$out")
fcheck "error_rate = 1 - accuracy" "a + b > 0.9999 && a + b < 1.0001" "$acc" "$err"
# the same seed prints the same numbers; another seed other numbers
check "same seed, same output" [ "$out" = "$("$BIN/lab00-tensors" --seed 42)" ]
check "other seed, other numbers" [ "$out" != "$("$BIN/lab00-tensors" --seed 7)" ]
expect_exit 2 "--seed" "$BIN/lab00-tensors" --seed -3
expect_exit 0 "Example" "$BIN/lab00-tensors" --help
finish
