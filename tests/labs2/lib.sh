# lib.sh — helpers shared by the labs2 behaviour tests. Each test: source this with the bin dir as $1.
set -u
BIN=$1
TMP=${SGDLAB_TEST_TMP:?SGDLAB_TEST_TMP must name a scratch folder}
rm -rf "$TMP" && mkdir -p "$TMP"
failures=0

# check DESCRIPTION COMMAND...: run the command, count a failure when it fails.
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

# holds EXPRESSION: an awk condition on numbers, e.g. holds "0.1 < 0.2".
holds() { awk "BEGIN { exit !($1) }"; }

# csv_value FILE AWK_CONDITION COLUMN: the value of COLUMN in the last row matching the condition.
csv_value() { awk -F, -v col="$3" "NR > 1 && ($2) { v = \$col } END { print v }" "$1"; }

finish() {
    if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
    echo "all checks passed"
}
