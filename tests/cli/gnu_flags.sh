#!/usr/bin/env bash
# Flags the way people type them (issue 12): --flag=value works like --flag value, and a typo gets
# the nearest real flag suggested; every mistake still exits 2 naming the flag.
source "$(dirname "$0")/../lib.sh"
L1=$BIN/lab01-linear

"$L1" --plot none --lr 0.5 --steps 3 --log "$TMP/spaced.csv" >/dev/null
"$L1" --plot=none --lr=0.5 --steps=3 --log="$TMP/equals.csv" >/dev/null
check "--lr=0.5 --steps=3 --log=FILE runs" [ $? -eq 0 ]
check "--flag=value gives the same run as --flag value" cmp -s "$TMP/spaced.csv" "$TMP/equals.csv"
expect_exit 0 "0\.3 .* good" "$BIN/lab03-learning-rate" --plot=none --lr=0.3 --lr 0.6
check "a repeated --lr=: two rates" [ "$("$BIN/lab03-learning-rate" --plot=none --lr=0.3 --lr=0.6 | grep -c '^ *0\.[36] .*straight down\|^ *0\.[36] .*overshoots')" -eq 2 ]

# The value is checked exactly as when it is the next argument.
expect_exit 2 "--lr got 'abc'; it accepts a number in \(0, 100\]" "$L1" --lr=abc
expect_exit 2 "--lr got ''" "$L1" --lr=
expect_exit 2 "--steps got '0'" "$L1" --steps=0
expect_exit 2 "--plot got 'pdf'; it accepts one of auto\|window\|png\|none" "$L1" --plot=pdf
expect_exit 2 "--log got an empty value" "$L1" --log=
expect_exit 2 "--no-zero-grad takes no value \(got 'yes'\)" "$BIN/lab06-autograd" --no-zero-grad=yes
# A value containing '=' keeps it: only the first '=' splits.
expect_exit 2 "--lr got '1=2'" "$L1" --lr=1=2

# Typos: the nearest flag, when one is close; nothing made up when none is.
expect_exit 2 "unknown flag '--epoch'; did you mean --epochs\?" "$BIN/bears" train --epoch 2 data
expect_exit 2 "unknown flag '--step'; did you mean --steps\?" "$L1" --step 3
expect_exit 2 "unknown flag '--nosie'; did you mean --noise\?" "$L1" --nosie 1
expect_exit 2 "unknown flag '--lr-rate'$" "$L1" --lr-rate=3
expect_exit 2 "unknown flag '--steps-per-epoch'$" "$L1" --steps-per-epoch 3
expect_exit 2 "unknown flag '--x'$" "$L1" --x 3
check "no suggestion for a far-off name" bash -c "! '$L1' --x 3 2>&1 | grep -q 'did you mean'"
finish
