# lib.sh — shared helpers for the bash behaviour tests. Source it; $1 of the test is the bin dir.
set -u
BIN=${1:?usage: test.sh BIN_DIR}
TMP=${SGDLAB_TEST_TMP:-$(mktemp -d)}
rm -rf "$TMP" && mkdir -p "$TMP"
failures=0
checks=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { checks=$((checks + 1)); }
check() { # check "description" command...: passes when the command succeeds
  local what=$1; shift
  if "$@"; then pass; else fail "$what"; fi
}
refute() { # refute "description" command...: passes when the command fails
  local what=$1; shift
  if "$@"; then fail "$what"; else pass; fi
}
# expect_exit CODE "pattern" cmd...: exit code and a pattern (grep -E) in stdout+stderr
expect_exit() {
  local want=$1 pattern=$2; shift 2
  local out code
  out=$("$@" 2>&1); code=$?
  if [ "$code" -ne "$want" ]; then fail "$* exited $code, wanted $want; output: $out"; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then fail "$* output lacks /$pattern/: $out"; return; fi
  pass
}
# float comparisons through awk: fcheck "desc" "awk expression using a, b" a b
fcheck() {
  local what=$1 expr=$2 a=$3 b=${4:-0}
  if awk -v a="$a" -v b="$b" "BEGIN { exit !($expr) }"; then pass; else fail "$what (a=$a b=$b)"; fi
}
finish() {
  echo "$(basename "$0"): $checks passed, $failures failed"
  [ "$failures" -eq 0 ]
}
