#!/usr/bin/env bash
# Every bad flag exits 2 with a message naming the flag; --help exits 0.
. "$(dirname "$0")/../lib.sh"
L=$BIN/lab01-linear
expect_exit 0 "Usage: lab01-linear.*" "$L" --help
expect_exit 0 "--lr .*default 0.1" "$L" --help
expect_exit 2 "--lr got 'abc'" "$L" --lr abc
expect_exit 2 "--lr got '-1'.*\(0, 100]" "$L" --lr -1
expect_exit 2 "--lr got 'nan'" "$L" --lr nan
expect_exit 2 "--lr got 'inf'" "$L" --lr inf
expect_exit 2 "--lr got '0.1x'" "$L" --lr 0.1x
expect_exit 2 "--lr got ''" "$L" --lr ""
expect_exit 2 "--lr needs a value" "$L" --lr
expect_exit 2 "--lr needs a value .got the flag --steps" "$L" --lr --steps 30
expect_exit 2 "--log needs a value .got the flag --plot" "$L" --log --plot none
expect_exit 2 "--steps got '0'" "$L" --steps 0
expect_exit 2 "--steps got '2.5'" "$L" --steps 2.5
expect_exit 2 "--steps got '99999999999'" "$L" --steps 99999999999
expect_exit 2 "--n got '1'" "$L" --n 1
expect_exit 2 "--plot got 'pdf'.*window\|png\|none" "$L" --plot pdf
expect_exit 2 "unknown flag '--learning-rate'" "$L" --learning-rate 0.1
expect_exit 2 "unexpected argument 'extra'" "$L" extra
expect_exit 1 "nodir" "$L" --plot none --log "$TMP/nodir/x.csv"
finish
