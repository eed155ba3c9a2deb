# lab03: the default learning rates crawl, converge, and (1.05) diverge, and the log says so.
source "$(dirname "$0")/lib.sh"
log=$TMP/log.csv
"$BIN/lab03-learning-rate" --plot none --log "$log" --frames "$TMP/frames" >"$TMP/out.txt" 2>&1
check "lab03 exits 0" test $? -eq 0
cat "$TMP/out.txt"
check "lr 1.05 is reported on a line beginning 'diverged:'" grep -q '^diverged:.*learning rate 1.05 is too high' "$TMP/out.txt"
check "the 'diverged:' line gives the advice to lower it" grep -q '^diverged:.*Lower it' "$TMP/out.txt"
check "no good rate is called diverged" bash -c "! grep -Eq '^diverged:.*learning rate 0.(01|1|5) is' '$TMP/out.txt'"
# 31 frames: the start (frame 0, the guess) and each of the 30 steps.
check "the ball animation wrote frames 0..30" test "$(ls "$TMP/frames" | grep -c 'frame-.*\.png')" -eq 31
line_of() { grep -n -m1 -- "$1" "$TMP/out.txt" | cut -d: -f1; }
check "the ball's diverged: line comes below its table" \
    holds "$(line_of 'x at end') < $(line_of '^diverged: at step') && $(line_of '^diverged: at step') < $(line_of '^(2)')"
check "the line fit's diverged: line comes below its table" \
    holds "$(line_of 'loss step 0') < $(grep -n '^diverged: at step' "$TMP/out.txt" | tail -1 | cut -d: -f1)"
check "the diverged ball stops where the detector stopped it" grep -q '^ *1.05 .*diverges (stopped there)' "$TMP/out.txt"
ball_x=$(awk '$1 == "1.05" && /stopped there/ { print $2 }' "$TMP/out.txt")
check "the diverged ball's last position is its last jump, not 30 steps on (x = $ball_x)" holds "$ball_x < 0 && $ball_x > -1000"

check "log header is lr,step,loss" test "$(head -1 "$log")" = "lr,step,loss"
rows() { awk -F, -v lr="$1" 'NR > 1 && $1 == lr' "$log" | wc -l; }
for lr in 0.01 0.1 0.5; do check "lr $lr has a row per step 0..100 ($(rows $lr))" test "$(rows $lr)" -eq 101; done
check "lr 1.05 stopped early at its divergence ($(rows 1.05) rows)" test "$(rows 1.05)" -lt 101
first() { csv_value "$log" "\$1 == $1 && \$2 == 0" 3; }
last() { csv_value "$log" "\$1 == $1" 3; }
lowest() { awk -F, -v lr="$1" 'NR > 1 && $1 == lr && (m == "" || $3 < m) { m = $3 } END { print m }' "$log"; }
check "lr 0.1 converges: $(first 0.1) -> $(last 0.1)" holds "$(last 0.1) < $(first 0.1) / 50"
check "lr 0.1 and 0.5 end at the same bottom" holds "$(last 0.1) < 1.01 * $(last 0.5) && $(last 0.5) < 1.01 * $(last 0.1)"
check "lr 0.01 crawls: $(last 0.01) is far above $(last 0.1)" holds "$(last 0.01) > 10 * $(last 0.1)"
check "lr 1.05 ends above its own lowest loss ($(last 1.05) > $(lowest 1.05))" holds "$(last 1.05) > 2 * $(lowest 1.05)"

# The loss surface: a contour plot by default, the 3-D bowl with --surface 3d (a PNG headless).
"$BIN/lab03-learning-rate" --plot png --out "$TMP/png" >"$TMP/contour.txt" 2>&1
check "the default surface is the contour plot" test -s "$TMP/png/lab03-surface.png"
check "the default draws no 3-D bowl" test ! -e "$TMP/png/lab03-surface-3d.png"
"$BIN/lab03-learning-rate" --plot png --out "$TMP/png3" --surface 3d >"$TMP/3d.txt" 2>&1
check "--surface 3d exits 0" test $? -eq 0
check "--surface 3d says where its PNG went" grep -q "plot: $TMP/png3/lab03-surface-3d.png" "$TMP/3d.txt"
check "the 3-D bowl is a PNG" test "$(head -c 8 "$TMP/png3/lab03-surface-3d.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
check "--surface 3d replaces the contour plot" test ! -e "$TMP/png3/lab03-surface.png"
"$BIN/lab03-learning-rate" --surface 2d --plot none >"$TMP/bad.txt" 2>&1
check "--surface 2d is a usage error (exit 2) naming the choices" bash -c "test $? -eq 2 && grep -q 'contour|3d' '$TMP/bad.txt'"

# The flag is repeatable and replaces the defaults.
"$BIN/lab03-learning-rate" --plot none --lr 0.3 --lr 0.9 --log "$TMP/two.csv" >/dev/null 2>&1
check "--lr 0.3 --lr 0.9 logs exactly those rates" \
    test "$(awk -F, 'NR > 1 { print $1 }' "$TMP/two.csv" | sort -u | tr '\n' ' ')" = "0.3 0.9 "
finish
