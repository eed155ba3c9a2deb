# lab04: minibatch SGD gets within 10% of full-batch GD's loss in the same number of epochs.
source "$(dirname "$0")/lib.sh"
for epochs in 10 100; do
    log=$TMP/log-$epochs.csv
    "$BIN/lab04-minibatch" --plot none --epochs $epochs --log "$log" >"$TMP/out-$epochs.txt" 2>&1
    check "lab04 --epochs $epochs exits 0" test $? -eq 0
    gd=$(csv_value "$log" "\$1 == \"gd\" && \$2 == $epochs" 4)
    sgd=$(csv_value "$log" "\$1 == \"sgd\" && \$2 == $epochs" 4)
    check "after $epochs epochs SGD's loss $sgd is within 10% of GD's $gd (or below it)" holds "$sgd <= 1.1 * $gd"
done
cat "$TMP/out-10.txt"
log=$TMP/log-10.csv
check "log header is method,epoch,update,loss" test "$(head -1 "$log")" = "method,epoch,update,loss"
check "GD makes one update per epoch" test "$(csv_value "$log" '$1 == "gd"' 3)" -eq 10
check "SGD makes ceil(10000/64) = 157 updates per epoch" test "$(csv_value "$log" '$1 == "sgd"' 3)" -eq 1570
check "SGD logs a loss for every update" test "$(awk -F, '$1 == "sgd"' "$log" | wc -l)" -eq 1571
check "the definitions use this run's numbers" grep -q '157 of SGD' "$TMP/out-10.txt"
check "the table has a time per epoch" grep -q 'time ms' "$TMP/out-10.txt"
check "no divergence at the default lr" bash -c "! grep -q '^diverged:' '$TMP/out-10.txt'"

# Another minibatch size changes the count: bs 1000 gives 10 updates per epoch.
"$BIN/lab04-minibatch" --plot none --epochs 2 --bs 1000 --log "$TMP/bs1000.csv" >/dev/null 2>&1
check "--bs 1000: 20 updates in 2 epochs" test "$(csv_value "$TMP/bs1000.csv" '$1 == "sgd"' 3)" -eq 20
finish
