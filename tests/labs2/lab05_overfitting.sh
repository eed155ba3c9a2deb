# lab05: the degree sweep shows under- and overfitting, and weight decay calms degree 15.
source "$(dirname "$0")/lib.sh"
log=$TMP/log.csv
"$BIN/lab05-overfitting" --plot none --log "$log" >"$TMP/out.txt" 2>&1
check "lab05 exits 0" test $? -eq 0
cat "$TMP/out.txt"
check "log header is degree,wd,train_loss,valid_loss" test "$(head -1 "$log")" = "degree,wd,train_loss,valid_loss"
check "one row per degree 1..15" test "$(($(wc -l <"$log") - 1))" -eq 15
best=$(awk -F, 'NR > 1 && (m == "" || $4 < m) { m = $4; d = $1 } END { print d }' "$log")
train() { csv_value "$log" "\$1 == $1 && \$2 == $2" 3; }
valid() { csv_value "$log" "\$1 == $1 && \$2 == $2" 4; }
check "the best degree by valid loss ($best) lies in 2..6" holds "$best >= 2 && $best <= 6"
check "valid loss at 15 ($(valid 15 0)) > at the best degree ($(valid $best 0))" holds "$(valid 15 0) > $(valid $best 0)"
check "train loss at 15 ($(train 15 0)) <= at 3 ($(train 3 0))" holds "$(train 15 0) <= $(train 3 0)"
check "degree 1 underfits: train loss $(train 1 0) > at 3 ($(train 3 0))" holds "$(train 1 0) > $(train 3 0)"

"$BIN/lab05-overfitting" --plot none --wd 0.01 --log "$TMP/wd.csv" >"$TMP/wd.txt" 2>&1
check "lab05 --wd 0.01 exits 0" test $? -eq 0
log=$TMP/wd.csv
check "--wd logs both wd 0 and wd 0.01" test "$(awk -F, 'NR > 1 { print $2 }' "$log" | sort -u | tr '\n' ' ')" = "0 0.01 "
check "weight decay lowers the degree-15 valid loss: $(valid 15 0) -> $(valid 15 0.01)" \
    holds "$(valid 15 0.01) < $(valid 15 0)"

# Too high a learning rate: every fit diverges. Said once per degree (the plots refit silently), and no
# "best degree" or talk of wiggles is made up from nan losses.
"$BIN/lab05-overfitting" --plot png --out "$TMP/png" --lr 10 --epochs 200 >"$TMP/lr10.txt" 2>&1
check "lab05 --lr 10 exits 0" test $? -eq 0
check "--lr 10: one diverged: line per degree ($(grep -c '^diverged:' "$TMP/lr10.txt"))" \
    test "$(grep -c '^diverged:' "$TMP/lr10.txt")" -eq 15
check "--lr 10: says every fit diverged and to lower the lr" grep -q "every fit diverged at lr 10.*" "$TMP/lr10.txt"
check "--lr 10: names no best degree" bash -c "! grep -q 'best degree by\|<- best valid loss' '$TMP/lr10.txt'"
check "--lr 10: does not explain wiggles" bash -c "! grep -q 'wiggles' '$TMP/lr10.txt'"
finish
