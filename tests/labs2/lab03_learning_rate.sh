# lab03: the default learning rates crawl, converge, and (1.05) diverge, and the log says so.
source "$(dirname "$0")/lib.sh"
log=$TMP/log.csv
"$BIN/lab03-learning-rate" --plot none --log "$log" --frames "$TMP/frames" >"$TMP/out.txt" 2>&1
check "lab03 exits 0" test $? -eq 0
cat "$TMP/out.txt"
check "lr 1.05 is reported on a line beginning 'diverged:'" grep -q '^diverged:.*learning rate 1.05 is too high' "$TMP/out.txt"
check "the 'diverged:' line gives the advice to lower it" grep -q '^diverged:.*Lower it' "$TMP/out.txt"
check "no good rate is called diverged" bash -c "! grep -Eq '^diverged:.*learning rate 0.(01|1|5) is' '$TMP/out.txt'"
check "the ball animation wrote PNG frames" test "$(ls "$TMP/frames" | grep -c 'frame-.*\.png')" -gt 10

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

# The flag is repeatable and replaces the defaults.
"$BIN/lab03-learning-rate" --plot none --lr 0.3 --lr 0.9 --log "$TMP/two.csv" >/dev/null 2>&1
check "--lr 0.3 --lr 0.9 logs exactly those rates" \
    test "$(awk -F, 'NR > 1 { print $1 }' "$TMP/two.csv" | sort -u | tr '\n' ' ')" = "0.3 0.9 "
finish
