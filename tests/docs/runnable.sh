#!/usr/bin/env bash
# runnable.sh BIN_DIR — run every command block of README.md and notes/*.md that is marked runnable,
# so an example in the docs cannot drift away from what the programs do (issue 12).
#
# The marker is an HTML comment on the line just above a fenced block (invisible on GitHub):
#     <!-- runnable -->          run by ctest (keep these to a few seconds: small flags)
#     <!-- runnable slow -->     run only with SGDLAB_DOCS_SLOW=1 (the full-size bear notebook ...)
# followed by a ```sh fence. Text after the marker word is a comment. Each block runs as written,
# with bash -e -o pipefail, in a fresh folder where build/bin/ is the build's bin folder, bounded by
# a timeout. A marker not followed by a ```sh fence is an error too, so none is silently skipped.
source "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$BIN" && pwd)
LIMIT=${SGDLAB_DOCS_TIMEOUT:-120}
slow_wanted=${SGDLAB_DOCS_SLOW:-0}
ran=0 skipped=0

# Blocks as "file<TAB>line<TAB>kind", then their text in $TMP/blocks/N.sh.
mkdir -p "$TMP/blocks"
awk -v dir="$TMP/blocks" '
  FNR == 1 { pending = 0 }
  /^<!-- runnable( slow)?( |:|-->)/ { pending = FNR; kind = ($0 ~ /^<!-- runnable slow/) ? "slow" : "fast"; next }
  pending && inblock == 0 && /^```sh *$/ { inblock = 1; n++; out = dir "/" n ".sh"
                                          printf "%s\t%d\t%s\n", FILENAME, pending, kind; printf "" > out; next }
  pending && inblock == 0 { printf "%s\t%d\tbad\n", FILENAME, pending; pending = 0; next }
  inblock && /^```/ { inblock = 0; pending = 0; close(out); next }
  inblock { print >> out }
' "$SRC/README.md" "$SRC"/notes/*.md >"$TMP/index.tsv"

n=0
while IFS=$'\t' read -r file line kind; do
  n=$((n + 1))
  where="${file#$SRC/}:$line"
  if [ "$kind" = bad ]; then
    fail "$where: a runnable marker must be followed by a \`\`\`sh block"
    continue
  fi
  if [ "$kind" = slow ] && [ "$slow_wanted" != 1 ]; then
    skipped=$((skipped + 1))
    continue
  fi
  work=$TMP/run-$n
  mkdir -p "$work/build"
  ln -s "$BIN" "$work/build/bin"
  start=$(date +%s)
  (cd "$work" && env -u DISPLAY -u WAYLAND_DISPLAY timeout "$LIMIT" bash -e -o pipefail "$TMP/blocks/$n.sh") \
    >"$work.log" 2>&1
  code=$?
  took=$(($(date +%s) - start))
  if [ "$code" -eq 0 ]; then
    pass
    ran=$((ran + 1))
    echo "ok   $where ($kind, ${took}s)"
  else
    fail "$where ($kind) exited $code after ${took}s$([ "$code" -eq 124 ] && echo " (over the ${LIMIT}s limit)"):"
    sed 's/^/    /' "$TMP/blocks/$n.sh" >&2
    echo "  output (last 30 lines):" >&2
    tail -30 "$work.log" | sed 's/^/    /' >&2
  fi
done <"$TMP/index.tsv"

check "some runnable blocks were found (found $n)" test "$n" -gt 0
echo "runnable blocks: $ran ran, $skipped slow ones skipped (SGDLAB_DOCS_SLOW=1 runs them too)"
finish
