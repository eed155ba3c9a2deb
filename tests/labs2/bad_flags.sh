# Bad flags in labs 02-05: exit 2 and a message naming the flag; never a crash.
source "$(dirname "$0")/lib.sh"
# expect_usage_error FLAG LAB ARGS...: the run must exit 2 and name FLAG on stderr.
expect_usage_error() {
    local flag=$1 lab=$2
    shift 2
    "$BIN/$lab" "$@" >"$TMP/out.txt" 2>"$TMP/err.txt"
    local rc=$?
    check "$lab $* -> exit 2 (got $rc), names $flag" bash -c "[ $rc -eq 2 ] && grep -q -- '$flag' '$TMP/err.txt'"
}
for lab in lab02-animate lab03-learning-rate lab04-minibatch lab05-overfitting; do
    for v in abc -1 nan inf 0 0.1x ''; do expect_usage_error --lr $lab --lr "$v"; done
    expect_usage_error --seed $lab --seed -5
    expect_usage_error --nope $lab --nope 1
    expect_usage_error --lr $lab --lr
    "$BIN/$lab" --help >"$TMP/help.txt" 2>&1
    check "$lab --help exits 0 and lists --seed" bash -c "[ $? -eq 0 ] && grep -q -- --seed '$TMP/help.txt'"
done
expect_usage_error --fps lab02-animate --fps 0
expect_usage_error --steps lab02-animate --steps 1.5
expect_usage_error --steps lab03-learning-rate --steps -1
expect_usage_error --plot lab03-learning-rate --plot maybe
expect_usage_error --bs lab04-minibatch --bs 0
expect_usage_error --bs lab04-minibatch --bs 10001
expect_usage_error --epochs lab04-minibatch --epochs -3
expect_usage_error --degree lab05-overfitting --degree 99
expect_usage_error --wd lab05-overfitting --wd -1
expect_usage_error --wd lab05-overfitting --wd nan
expect_usage_error --epochs lab05-overfitting --epochs abc
finish
