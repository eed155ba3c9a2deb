# lab02 --frames: 31 real PNG frames (the guess, then one per step), and the fitted line moves onto the
# true line; a folder that cannot be used and frames left by an earlier run are reported as such.
source "$(dirname "$0")/lib.sh"
frames=$TMP/frames
"$BIN/lab02-animate" --frames "$frames" --steps 30 --log "$TMP/log.csv" >"$TMP/out.txt" 2>&1
check "lab02 exits 0" test $? -eq 0
count=$(ls "$frames" | grep -c '^frame-[0-9]\{4\}\.png$')
check "31 frames written: the guess and 30 steps (got $count)" test "$count" -eq 31
check "frame-0000 and frame-0030 exist" test -f "$frames/frame-0000.png" -a -f "$frames/frame-0030.png"
check "the announcement names the frames written" grep -q "frame-0000.png (the guess) ... frame-0030.png (step 30)" "$TMP/out.txt"
bad=0
for f in "$frames"/frame-*.png; do
    sig=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
    [ "$sig" = 89504e470d0a1a0a ] && file "$f" | grep -q 'PNG image data' || bad=$((bad + 1))
done
check "every frame has the PNG signature ($bad bad)" test "$bad" -eq 0

# Pixels: the fit line is drawn in (214,39,40), the true line y = 3x + 2 in (44,160,44).
probe=$("$BIN/../tests/png-probe" "$frames/frame-0000.png" "$frames/frame-0030.png" 214 39 40 44 160 44)
check "png-probe decodes the first and last frames" test $? -eq 0
echo "png-probe: $probe"
get() { echo "$probe" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
check "the last frame differs from the first ($(get differ) pixels)" holds "$(get differ) > 1000"
check "the line was measured in many columns ($(get columns))" holds "$(get columns) > 300"
check "the fit line's pixels moved toward the true line ($(get first) -> $(get last) px)" \
    holds "$(get last) < $(get first) / 4"
check "where the true line is drawn, fit-line pixels grow: $(get near_first) -> $(get near_last)" \
    holds "$(get near_last) > 4 * $(get near_first) + 100"
# frames 1 and 2 differ as well: one step per frame
"$BIN/../tests/png-probe" "$frames/frame-0001.png" "$frames/frame-0002.png" 214 39 40 44 160 44 >"$TMP/p12.txt"
check "consecutive frames differ" holds "$(sed -n 's/^differ=\([0-9]*\).*/\1/p' "$TMP/p12.txt") > 0"

# The log: header, a row per step, and a moving toward the truth a = (3, 2).
check "log header is step,lr,loss,a1,a2" test "$(head -1 "$TMP/log.csv")" = "step,lr,loss,a1,a2"
check "log has 31 rows (step 0..30)" test "$(($(wc -l <"$TMP/log.csv") - 1))" -eq 31
dist() { awk -F, -v s="$1" 'NR > 1 && $1 == s { d = ($4 - 3) ^ 2 + ($5 - 2) ^ 2; print sqrt(d) }' "$TMP/log.csv"; }
check "a moves toward (3, 2): distance $(dist 0) -> $(dist 30)" holds "$(dist 30) < $(dist 0) / 4"
check "loss falls: $(csv_value "$TMP/log.csv" '$1 == 0' 3) -> $(csv_value "$TMP/log.csv" '$1 == 30' 3)" \
    holds "$(csv_value "$TMP/log.csv" '$1 == 30' 3) < $(csv_value "$TMP/log.csv" '$1 == 0' 3) / 10"

# Too high a learning rate: announced, and the run stops there.
"$BIN/lab02-animate" --frames "$TMP/diverge" --lr 1.5 --steps 50 >"$TMP/diverge.txt" 2>&1
check "lr 1.5 exits 0" test $? -eq 0
check "lr 1.5 prints a 'diverged:' line" grep -q '^diverged:' "$TMP/diverge.txt"
check "lr 1.5 stops before 50 frames" test "$(ls "$TMP/diverge" | wc -l)" -lt 50

# A shorter run into the same folder: the 20 newer frames are written, the 11 older ones are named.
"$BIN/lab02-animate" --frames "$frames" --steps 19 >"$TMP/short.txt" 2>&1
check "a shorter run into the same folder exits 0" test $? -eq 0
check "it says 11 older frames from frame-0020.png on are not from this run" \
    grep -q "11 older frames (frame-0020.png on) from an earlier, longer run" "$TMP/short.txt"
check "the older frames are left where they were" test -f "$frames/frame-0030.png"

# A file where the folder should be: said so, exit 1, no talk of displays, no frames announced.
echo "not a folder" >"$TMP/a-file"
"$BIN/lab02-animate" --frames "$TMP/a-file" >"$TMP/file.txt" 2>&1
check "--frames on a file exits 1" test $? -eq 1
check "--frames on a file says it is a file" grep -q "is a file, not a folder" "$TMP/file.txt"
refute_grep() { ! grep -q "$1" "$2"; }
check "--frames on a file gives no display advice" refute_grep "display" "$TMP/file.txt"
check "--frames on a file announces no frames" refute_grep "^frames:" "$TMP/file.txt"
check "the file is untouched" test "$(cat "$TMP/a-file")" = "not a folder"
"$BIN/lab02-animate" --frames "$TMP/a-file/sub" >"$TMP/under.txt" 2>&1
check "--frames under a file exits 1" test $? -eq 1
check "--frames under a file gives no display advice" refute_grep "display" "$TMP/under.txt"
finish
