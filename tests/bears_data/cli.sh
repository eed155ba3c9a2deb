#!/usr/bin/env bash
# bears synth / verify / show end to end, at a small size: verify finds exactly the unreadable files that
# synth planted (PLANTED.csv), --delete moves them into .trash without erasing anything, a second verify
# is clean; synth is deterministic and never paints over an existing data set; bad input gives a message
# and the documented exit code, never a crash.
set -u
bin="$1"
tmp="${SGDLAB_TEST_TMP:?}"
rm -rf "$tmp" && mkdir -p "$tmp"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect CODE CMD...: run CMD, check its exit code, keep its output in $out.
expect() {
    local want=$1; shift
    out=$("$@" 2>&1); local got=$?
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want: $out"
}

data="$tmp/bears"
expect 0 "$bin/bears" synth "$data" --per-class 12 --size 48 --seed 3
for c in black grizzly teddy; do
    n=$(find "$data/$c" -type f | wc -l)
    [ "$n" -eq 12 ] || fail "$c holds $n files, expected 12"
done
[ "$(head -1 "$data/PLANTED.csv")" = "path,problem,true_class" ] || fail "PLANTED.csv header"
unreadable=$(grep -c ',unreadable,' "$data/PLANTED.csv")
[ "$unreadable" -ge 3 ] || fail "expected at least 3 planted unreadable files, got $unreadable"
grep -q ',not_bear,' "$data/PLANTED.csv" || fail "no not_bear file planted"
grep -q ',mislabeled,' "$data/PLANTED.csv" || fail "no mislabeled file planted"

# Same seed, same files; and synth refuses to paint over a data set.
expect 0 "$bin/bears" synth "$tmp/again" --per-class 12 --size 48 --seed 3
diff -r "$data" "$tmp/again" >/dev/null || fail "synth with the same seed wrote different files"
expect 1 "$bin/bears" synth "$data" --per-class 12
echo "$out" | grep -q "already holds pictures" || fail "synth over an existing set: $out"

# verify: every planted unreadable file is reported, and nothing else.
expect 1 "$bin/bears" verify "$data"
bad_reported=$(echo "$out" | grep ' BAD: ' | awk '{print $1}' | sort)
bad_planted=$(grep ',unreadable,' "$data/PLANTED.csv" | cut -d, -f1 | sort)
[ "$bad_reported" = "$bad_planted" ] || fail "verify reported [$bad_reported], planted [$bad_planted]"
echo "$out" | grep -q "bad files remain" || fail "summary should say bad files remain: $out"
echo "$out" | grep -q "text" || fail "the HTML file should be called text: $out"
echo "$out" | grep -q "empty file" || fail "the empty file should be called empty: $out"

# --delete moves them to .trash (still there, nothing unlinked) and says where; then verify is clean.
expect 0 "$bin/bears" verify "$data" --delete
for rel in $bad_planted; do
    [ -e "$data/$rel" ] && fail "$rel still in its class folder"
    [ -e "$data/.trash/$rel" ] || fail "$rel not found in .trash"
done
echo "$out" | grep -q "moved to $data/.trash/" || fail "verify --delete should say where files went: $out"
[ "$(($(wc -l <"$data/.trash/journal.csv") - 1))" -eq "$unreadable" ] || fail "journal should list each move"
expect 0 "$bin/bears" verify "$data"
echo "$out" | grep -q " 0 bad" || fail "second verify should be clean: $out"

# A file with the same name trashed again gets a suffix instead of overwriting the first one.
first=$(echo "$bad_planted" | head -1)
printf 'oops' >"$data/$first"
expect 0 "$bin/bears" verify "$data" --delete
stem="${first%.*}"
[ -e "$data/.trash/$stem-1.${first##*.}" ] || fail "second trash of $first should be $stem-1.${first##*.}"

# --max-size shrinks big pictures in place, keeping the format; a second run has nothing left to shrink.
expect 0 "$bin/bears" verify "$data" --max-size 40
echo "$out" | grep -q "shrunk 48x48 -> 40x40" || fail "--max-size 40 should shrink the 48 px pictures: $out"
expect 0 "$bin/bears" verify "$data" --max-size 40
echo "$out" | grep -q "shrunk" && fail "nothing should be left to shrink: $out"
png=$(find "$data" -path "$data/.trash" -prune -o -name '*.png' -print | head -1)
[ "$(head -c 4 "$png" | tail -c 3)" = "PNG" ] || fail "a shrunk PNG ($png) is no longer a PNG"

# show: a grid PNG, its path printed.
expect 0 "$bin/bears" show "$data" --n 9 --out "$tmp/out"
echo "$out" | grep -q "show: $tmp/out/show.png" || fail "show should print the PNG path: $out"
[ "$(head -c 4 "$tmp/out/show.png" | tail -c 3)" = "PNG" ] || fail "show.png is not a PNG"

# data: loads what training will load; the skipped files are the ones verify moved (none left).
expect 0 "$bin/bears" data "$data" --size 32 --valid-pct 0.25
echo "$out" | grep -q "3 classes (black, grizzly, teddy), 3[0-9] pictures" || fail "bears data summary: $out"
echo "$out" | grep -q "skipped" && fail "nothing should be skipped after verify --delete: $out"
mkdir -p "$tmp/oneclass/black"
cp "$png" "$tmp/oneclass/black/"
expect 1 "$bin/bears" data "$tmp/oneclass"
echo "$out" | grep -q "only one class" || fail "one class message: $out"

# Bad input: message and exit code, never a crash.
expect 1 "$bin/bears" verify "$tmp/nowhere"
echo "$out" | grep -q "cannot open folder" || fail "missing folder message: $out"
mkdir -p "$tmp/empty"
expect 1 "$bin/bears" verify "$tmp/empty"
echo "$out" | grep -q "no class folders" || fail "empty folder message: $out"
mkdir -p "$tmp/emptyclasses/a" "$tmp/emptyclasses/b"
expect 1 "$bin/bears" verify "$tmp/emptyclasses"
expect 1 "$bin/bears" show "$tmp/emptyclasses"
mkdir -p "$tmp/junk/a"
printf '<html>' >"$tmp/junk/a/x.jpg"
expect 1 "$bin/bears" show "$tmp/junk"
echo "$out" | grep -q "no readable pictures" || fail "show without pictures: $out"
expect 2 "$bin/bears"
expect 2 "$bin/bears" frobnicate
echo "$out" | grep -q "unknown command 'frobnicate'" || fail "unknown command message: $out"
expect 2 "$bin/bears" verify
expect 2 "$bin/bears" synth "$tmp/x" --per-class 12abc
echo "$out" | grep -q -- "--per-class" || fail "bad number should name the flag: $out"
expect 2 "$bin/bears" show "$data" --n 0
expect 0 "$bin/bears" --help
for c in synth verify show data; do expect 0 "$bin/bears" $c --help; done

[ "$fails" -eq 0 ] && echo "bears_data_cli: all checks passed"
exit $((fails > 0))
