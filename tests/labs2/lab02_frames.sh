# lab02 --frames: 30 real PNG frames, and the fitted line moves onto the true line.
source "$(dirname "$0")/lib.sh"
frames=$TMP/frames
"$BIN/lab02-animate" --frames "$frames" --steps 30 --log "$TMP/log.csv" >"$TMP/out.txt" 2>&1
check "lab02 exits 0" test $? -eq 0
count=$(ls "$frames" | grep -c '^frame-[0-9]\{4\}\.png$')
check "30 frames written (got $count)" test "$count" -eq 30
check "frame-0000 and frame-0029 exist" test -f "$frames/frame-0000.png" -a -f "$frames/frame-0029.png"
bad=0
for f in "$frames"/frame-*.png; do
    sig=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
    [ "$sig" = 89504e470d0a1a0a ] && file "$f" | grep -q 'PNG image data' || bad=$((bad + 1))
done
check "every frame has the PNG signature ($bad bad)" test "$bad" -eq 0

# Pixels: the fit line is drawn in (214,39,40), the true line y = 3x + 2 in (44,160,44).
probe=$("$BIN/../tests/png-probe" "$frames/frame-0000.png" "$frames/frame-0029.png" 214 39 40 44 160 44)
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
finish
