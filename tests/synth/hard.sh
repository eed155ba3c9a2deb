#!/usr/bin/env bash
# bears synth --hard end to end, small: the same seed writes the same bytes, another seed or the default
# set other ones; three class folders with --per-class files each; near-duplicates are planted and listed
# (in their own folder, decodable), --label-noise adds mislabeled pictures to PLANTED.csv with their true
# class, and bad values of the flags are refused with exit 2, naming the flag.
source "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
small=(--per-class 20 --size 48)

expect_exit 0 "near-duplicates" "$B" synth "$TMP/a" --hard --seed 4 "${small[@]}"
expect_exit 0 "near-duplicates" "$B" synth "$TMP/b" --hard --seed 4 "${small[@]}"
check "same seed, same bytes" diff -r "$TMP/a" "$TMP/b"
expect_exit 0 "synth:" "$B" synth "$TMP/c" --hard --seed 5 "${small[@]}"
refute "another seed, other pictures" diff -rq "$TMP/a" "$TMP/c"
expect_exit 0 "synth:" "$B" synth "$TMP/easy" --seed 4 "${small[@]}"
refute "the default set is not the hard one" diff -rq "$TMP/a" "$TMP/easy"

for c in black grizzly teddy; do
  n=$(find "$TMP/a/$c" -type f | wc -l)
  check "$c holds 20 files (found $n)" [ "$n" -eq 20 ]
done
check "no other folder" [ "$(find "$TMP/a" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 3 ]

# Near-duplicates: listed with their own folder's class, present, and decodable (verify finds only the
# planted unreadable files). The default set has none.
dups=$(awk -F, '$2 == "near_duplicate"' "$TMP/a/PLANTED.csv")
check "near-duplicates listed" [ -n "$dups" ]
while IFS=, read -r path _ class; do
  check "$path is in its true class's folder" [ "${path%%/*}" = "$class" ]
  check "$path exists" [ -s "$TMP/a/$path" ]
done <<<"$dups"
refute "the default set plants no near-duplicates" grep -q near_duplicate "$TMP/easy/PLANTED.csv"
out=$("$B" verify "$TMP/a" 2>&1)
reported=$(grep ' BAD: ' <<<"$out" | awk '{print $1}' | sort)
planted=$(awk -F, '$2 == "unreadable" { print $1 }' "$TMP/a/PLANTED.csv" | sort)
check "verify reports the planted unreadable files and nothing else" [ "$reported" = "$planted" ]
expect_exit 0 "3 classes \(black, grizzly, teddy\)" "$B" data "$TMP/a" --size 32

# --label-noise 0.2 of 60 pictures: 12 more mislabeled on top of the usual one, each with a true class
# other than its folder.
expect_exit 0 "13 mislabeled" "$B" synth "$TMP/noisy" --hard --label-noise 0.2 --seed 4 "${small[@]}"
mislabeled=$(awk -F, '$2 == "mislabeled"' "$TMP/noisy/PLANTED.csv")
check "13 mislabeled rows" [ "$(wc -l <<<"$mislabeled")" -eq 13 ]
while IFS=, read -r path _ class; do
  check "$path: its true class $class is not its folder" [ "${path%%/*}" != "$class" ]
done <<<"$mislabeled"
expect_exit 0 "1 mislabeled" "$B" synth "$TMP/quiet" --hard --label-noise 0 --seed 4 "${small[@]}"
check "--label-noise 0 is the default" diff -r "$TMP/a" "$TMP/quiet"

# Bad values: refused before anything is written.
for bad in -0.1 0.6 abc nan inf 0.1x ""; do
  expect_exit 2 "--label-noise" "$B" synth "$TMP/bad" --hard --label-noise "$bad"
done
expect_exit 2 "--label-noise" "$B" synth "$TMP/bad" --label-noise
expect_exit 2 "" "$B" synth "$TMP/bad" --hard yes
check "nothing written for refused flags" [ ! -e "$TMP/bad" ]
expect_exit 0 "--hard" "$B" synth --help
finish
