#!/usr/bin/env bash
# bears clean: the ranking finds the planted mislabeled pictures; export / apply / undo-all and the
# scripted window move files exactly as journaled, and never lose one; bad input changes nothing.
. "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
D=$TMP/bears
M=$TMP/m.safetensors
J=$D/.sgdlab-clean.csv
"$B" synth "$D" --per-class 100 --size 48 --seed 3 >/dev/null || fail "synth"
"$B" train "$D" --size 32 --epochs 6 --bs 32 --lr 5e-3 --model "$M" >/dev/null 2>&1 || fail "train"

# Every picture's bytes, wherever it is under DIR (.trash included): a move changes none of this, a lost
# or doubled file does. The two journals are the only files the cleaner adds.
contents() { find "$D" -type f ! -name .sgdlab-clean.csv ! -path "*/.trash/journal.csv" -print0 |
  xargs -0 sha256sum | cut -d' ' -f1 | sort; }
paths() { (cd "$D" && find . -type f ! -name .sgdlab-clean.csv ! -path "./.trash/journal.csv" | sort); }
n_files() { find "$D" -type f | wc -l; }
same_contents() { [ "$(contents)" = "$1" ]; }
original=$(contents)
original_paths=$(paths)
n_pictures=$(wc -l <<<"$original")

# ---- export: the ranked list and its sheet ----
out=$("$B" clean "$M" "$D" --export "$TMP/all.csv" --top 1000 2>&1)
check "export exits 0 ($out)" [ $? -eq 0 ]
check "list header" [ "$(head -1 "$TMP/all.csv")" = "rank,path,label,predicted,probability,loss,split,similarity,action" ]
check "contact sheet written" [ -s "$TMP/all.png" ]
check "the sheet is as readable as the list (umask, not mkstemp's 0600)" \
  [ "$(stat -c %a "$TMP/all.png")" = "$(stat -c %a "$TMP/all.csv")" ]
check "every action starts as keep" [ "$(tail -n +2 "$TMP/all.csv" | cut -d, -f9 | sort -u)" = keep ]
splits=$(tail -n +2 "$TMP/all.csv" | cut -d, -f7 | uniq | tr '\n' ' ')
check "validation pictures first, then training ($splits)" [ "$splits" = "valid train " ]
for part in valid train; do
  sorted=$(awk -F, -v s=$part '$7 == s { print $6 }' "$TMP/all.csv" | sort -g -r -c 2>&1 && echo yes)
  check "$part part sorted by loss, largest first" [ "$sorted" = yes ]
done
# The planted mislabeled pictures are near the top of their part (the one the model trained on too).
mislabeled=$(awk -F, '$2 == "mislabeled" { print $1 }' "$D/PLANTED.csv")
check "mislabeled pictures were planted" [ -n "$mislabeled" ]
for f in $mislabeled; do
  where=$(awk -F, -v f="$f" '$2 == f { print $7 }' "$TMP/all.csv")
  rank=$(awk -F, -v f="$f" -v s="$where" '$7 == s { k++ } $2 == f { print k }' "$TMP/all.csv")
  size=$(awk -F, -v s="$where" '$7 == s' "$TMP/all.csv" | wc -l)
  fcheck "planted $f is in the top 10% of the $where part (rank $rank of $size)" "a <= 0.1 * b" "$rank" "$size"
done
"$B" clean "$M" "$D" --export "$TMP/unsure.csv" --by unsure --split valid --top 5 >/dev/null
p=$(sed -n 2p "$TMP/unsure.csv" | cut -d, -f5)
fcheck "--by unsure: the first picture's top probability is low ($p)" "a < 0.6" "$p"
check "--split valid lists only validation pictures" [ "$(tail -n +2 "$TMP/unsure.csv" | cut -d, -f7 | sort -u)" = valid ]
"$B" clean "$M" "$D" --export "$TMP/teddy.csv" --class teddy >/dev/null
check "--class teddy lists only teddies" [ "$(tail -n +2 "$TMP/teddy.csv" | cut -d, -f3 | sort -u)" = teddy ]
before=$(sha256sum "$TMP/all.csv")
expect_exit 1 "all.csv exists" "$B" clean "$M" "$D" --export "$TMP/all.csv"
check "an existing list is not replaced" [ "$(sha256sum "$TMP/all.csv")" = "$before" ]
check "export moved nothing" [ "$(paths)" = "$original_paths" ]

# ---- apply: delete one, relabel one, keep the rest; then undo-all ----
"$B" clean "$M" "$D" --export "$TMP/top.csv" --top 6 >/dev/null
del=$(sed -n 2p "$TMP/top.csv" | cut -d, -f2)
rel=$(sed -n 3p "$TMP/top.csv" | cut -d, -f2)
to=$(sed -n 3p "$TMP/top.csv" | cut -d, -f4) # relabel to what the model predicts
sed -i "2s/,keep\$/,delete/; 3s/,keep\$/,relabel:$to/" "$TMP/top.csv"
n0=$(n_files)
out=$("$B" clean "$D" --apply "$TMP/top.csv" 2>&1)
check "apply exits 0 ($out)" [ $? -eq 0 ]
check "apply says what it did" grep -q "1 deleted .*1 relabeled" <<<"$out"
check "deleted file is in .trash" [ -f "$D/.trash/$del" ] && check "and not in its folder" [ ! -e "$D/$del" ]
relabeled_to=$(sed -n 's/^relabeled .* -> //p' <<<"$out") # its name, or NAME-1.EXT when that was taken
check "relabeled file is in $to/ ($relabeled_to)" [ "${relabeled_to%%/*}" = "$to" ] && [ -f "$D/$relabeled_to" ]
check "and not in its old folder" [ ! -e "$D/$rel" ]
check "apply lost no file" same_contents "$original"
check "apply added only the two journals ($n0 -> $(n_files))" [ "$(n_files)" -eq $((n0 + 2)) ]
check "journal header" [ "$(head -1 "$J")" = "time,action,from,to" ]
check "journal: delete row" grep -q ",delete,$del,.trash/$del\$" "$J"
check "journal: relabel row ($relabeled_to)" grep -q ",relabel,$rel,$relabeled_to\$" "$J"
check "journal: a keep row per kept picture" [ "$(grep -c ',keep,' "$J")" -eq 4 ]
# the same list again: its first file is gone, so nothing at all happens
rows=$(wc -l <"$J") moved=$(paths)
expect_exit 1 "line 2: $del is not a file.*nothing was applied" "$B" clean "$D" --apply "$TMP/top.csv"
check "a refused apply moves nothing" [ "$(paths)" = "$moved" ]
check "a refused apply writes no journal row" [ "$(wc -l <"$J")" -eq "$rows" ]
out=$("$B" clean --undo-all "$D" 2>&1)
check "undo-all exits 0 ($out)" [ $? -eq 0 ]
check "undo-all puts every file back" [ "$(paths)" = "$original_paths" ]
check "undo-all lost no file" same_contents "$original"
check "undo-all: the same number of files ($(n_files))" [ "$(n_files)" -eq $((n0 + 2)) ]
expect_exit 1 "nothing to undo" "$B" clean --undo-all "$D"

# ---- malformed lists: the line is named and nothing is applied ----
good=$(sed -n 2p "$TMP/all.csv" | cut -d, -f2)
other=$(sed -n 3p "$TMP/all.csv" | cut -d, -f2)
try_list() { # try_list "pattern" lines...: refused with the pattern, nothing moved, no journal row
  local pattern=$1; shift
  printf '%s\n' "$@" >"$TMP/bad.csv"
  local rows_before; rows_before=$(wc -l <"$J")
  expect_exit 1 "$pattern" "$B" clean "$D" --apply "$TMP/bad.csv"
  check "nothing applied for /$pattern/" [ "$(paths)" = "$original_paths" ]
  check "no journal row for /$pattern/" [ "$(wc -l <"$J")" -eq "$rows_before" ]
}
try_list "line 3: action 'delte' is not keep, delete or relabel:CLASS" "path,action" "$good,delete" "$other,delte"
try_list "line 3: action 'relabel:panda'" "path,action" "$good,delete" "$other,relabel:panda"
try_list "line 3: '$good' is listed twice \(also on line 2\)" "path,action" "$good,delete" "$good,keep"
try_list "line 3: 3 fields where the header has 2" "path,action" "$good,delete" "$other,keep,extra"
try_list "line 1: the first line must be a header naming the columns path and action" "file,what" "$good,delete"
try_list "line 3: a quoted field is never closed" "path,action" "$good,delete" "\"$other,keep"
try_list "line 2: '../x.jpg': the path's first part is not one of the class folders" "path,action" "../x.jpg,delete"
try_list "line 2: '/etc/passwd': the path must be relative" "path,action" "/etc/passwd,delete"
try_list "line 2: 'black/.sgdlab': the file name starts with '.'" "path,action" "black/.sgdlab,delete"
try_list "line 3: black/missing.jpg is not a file" "path,action" "$good,delete" "black/missing.jpg,keep"
try_list "the list is empty" ""
expect_exit 1 "cannot open .*nowhere.csv" "$B" clean "$D" --apply "$TMP/nowhere.csv"
printf 'path,action\n' >"$TMP/header-only.csv"
expect_exit 0 "lists no pictures; nothing to do" "$B" clean "$D" --apply "$TMP/header-only.csv"
# a journal that cannot be written (a full disk): the row fails, so the file does not move
mv "$J" "$TMP/journal-aside.csv" && ln -s /dev/full "$J"
printf 'path,action\n%s,delete\n' "$good" >"$TMP/one.csv"
expect_exit 1 "cannot write the journal .*nothing was applied" "$B" clean "$D" --apply "$TMP/one.csv"
check "no journal, no move" [ "$(paths)" = "$original_paths" ]
mv "$J" "$TMP/full-link" && mv "$TMP/journal-aside.csv" "$J"

# ---- names with a comma, a quote and a newline survive the list and the journal ----
odd=$'we,ird "name"\nline2.jpg'
cp "$D/black/$(ls "$D/black" | head -1)" "$D/black/$odd"
original=$(contents) original_paths=$(paths)
"$B" clean "$M" "$D" --export "$TMP/odd.csv" --top 1000 >/dev/null
check "the odd name is quoted in the list" grep -q '"black/we,ird ""name""' "$TMP/odd.csv"
printf 'path,action\n"black/we,ird ""name""\nline2.jpg",relabel:teddy\n' >"$TMP/odd-apply.csv"
out=$("$B" clean "$D" --apply "$TMP/odd-apply.csv" 2>&1)
check "apply moves the odd name ($out)" [ -f "$D/teddy/$odd" ]
out=$("$B" clean --undo-all "$D" 2>&1)
check "undo-all brings the odd name back ($out)" [ -f "$D/black/$odd" ]
check "odd name: nothing lost" same_contents "$original"

# ---- undo-all refuses, changing nothing, when a file was moved by hand since ----
printf 'path,action\n%s,delete\n%s,relabel:%s\n' "$good" "$other" "$(cut -d/ -f1 <<<"$good")" >"$TMP/two.csv"
"$B" clean "$D" --apply "$TMP/two.csv" >/dev/null || fail "apply two"
mv "$D/.trash/$good" "$TMP/moved-by-hand.jpg"
moved=$(paths)
expect_exit 1 "cannot undo: journal line [0-9]+ moved $good to .trash/$good, but nothing is there now.*Nothing was changed" \
  "$B" clean --undo-all "$D"
check "a refused undo-all moves nothing (the other file stays relabeled)" [ "$(paths)" = "$moved" ]
mv "$TMP/moved-by-hand.jpg" "$D/.trash/$good"
expect_exit 0 "moved back" "$B" clean --undo-all "$D"
check "after putting it back, undo-all restores everything" [ "$(paths)" = "$original_paths" ]

# ---- the window, driven by --keys under SDL's offscreen driver ----
"$B" clean "$M" "$D" --export "$TMP/now.csv" --top 2 >/dev/null # the ranking with the odd picture in
first=$(sed -n 2p "$TMP/now.csv" | cut -d, -f2)
second=$(sed -n 3p "$TMP/now.csv" | cut -d, -f2)
case $second in teddy/*) target=black key=1 ;; *) target=teddy key=3 ;; esac # a class it is not in
n0=$(n_files)
# d deletes the first picture; the split and class filters go once round (s: valid, train, all; c: black,
# grizzly, teddy, all); r relabels the second; enter keeps the rest of the page; u u undoes two keeps.
out=$(SDL_VIDEODRIVER=offscreen "$B" clean "$M" "$D" --keys "d,s,c,s,c,s,c,c,r:$target,enter,u,u,k,f,q" \
  --out "$TMP/shots" 2>&1)
check "window exits 0 ($out)" [ $? -eq 0 ]
check "d deleted the worst picture" [ -f "$D/.trash/$first" ]
check "r:$target relabeled the second" [ -f "$D/$target/${second#*/}" ]
check "the keys' actions are printed" grep -q "deleted   $first -> .trash/$first" <<<"$out"
check "enter kept the rest of the page" [ "$(grep -c '^kept ' <<<"$out")" -ge 6 ]
check "u, u undid the last two keeps" [ "$(grep -c '^undone: the decision on' <<<"$out")" -eq 2 ]
check "f saved a screenshot" [ -s "$TMP/shots/clean.png" ]
check "window lost no file" same_contents "$original"
check "window added only the journals" [ "$(n_files)" -le $((n0 + 2)) ]
# the filters went round and back: the deleted picture stays deleted, and was never 'kept'
refute "a decision survives filter changes" grep -q ",keep,$first," "$J"
check "summary line" grep -qE "^clean: [0-9]+ kept, 1 deleted" <<<"$out"
"$B" clean --undo-all "$D" >/dev/null || fail "undo-all after the window"
check "undo-all after the window restores everything" [ "$(paths)" = "$original_paths" ]
check "window and undo-all: the same number of files" [ "$(n_files)" -eq "$n0" ]

# the mouse: the delete button of the first picture, then the undo button in the footer (the window is
# 1280x860 with 8 pictures in 4 columns: see clean_window.c's layout)
out=$(SDL_VIDEODRIVER=offscreen "$B" clean "$M" "$D" --keys "click:120:410,click:340:815" --frames "$TMP/frames" 2>&1)
check "click on delete ($out)" grep -q "deleted   $first" <<<"$out"
check "click on undo" grep -q "undone: .trash/$first is back at $first" <<<"$out"
check "one frame per input and the last" [ "$(ls "$TMP/frames" | wc -l)" -eq 3 ]
check "mouse: everything back" [ "$(paths)" = "$original_paths" ]
relabeled=$(SDL_VIDEODRIVER=offscreen "$B" clean "$M" "$D" --keys "right,$key,q" 2>&1)
check "a number key relabels ($relabeled)" grep -q "relabeled $second -> $target/" <<<"$relabeled"
"$B" clean --undo-all "$D" >/dev/null || fail "undo-all after the number key"

# ---- duplicates: each copied picture and its original make a pair of cosine 1, ahead of the rest ----
# (the odd name above is a copy too, so there are two such pairs)
cp "$D/$second" "$D/$(dirname "$second")/copy-of-$(basename "$second")"
"$B" clean "$M" "$D" --duplicates --export "$TMP/dup.csv" --top 6 >/dev/null
want="copy-of-$(basename "$second")"
# the first two pairs: 4 records, 5 lines (the odd name holds a newline)
top2=$(tail -n +2 "$TMP/dup.csv" | head -n 5)
check "the copy is in one of the two most similar pairs" grep -q "$want" <<<"$top2"
check "the copy's original too" grep -q ",$second," <<<"$top2"
check "the top pairs have similarity 1" [ "$(sed -n 2p "$TMP/dup.csv" | cut -d, -f8)" = "1.0000" ]
check "a pair of different pictures comes after them (similarity < 1)" \
  [ "$(tail -1 "$TMP/dup.csv" | cut -d, -f8)" != "1.0000" ]

# ---- bad input ----
expect_exit 2 "needs a model file and the data folder" "$B" clean "$D"
expect_exit 2 "--apply needs only the data folder" "$B" clean "$M" "$D" --apply "$TMP/top.csv"
expect_exit 2 "--undo-all and --apply are separate runs" "$B" clean "$D" --undo-all --apply "$TMP/top.csv"
expect_exit 2 "--per-page" "$B" clean "$M" "$D" --per-page 0
expect_exit 2 "--class 'panda' is not one of the model's classes" "$B" clean "$M" "$D" --class panda
expect_exit 2 "--keys: 'x' is not a key" env SDL_VIDEODRIVER=offscreen "$B" clean "$M" "$D" --keys "d,x"
expect_exit 2 "--keys: 'r:panda' is not a key" env SDL_VIDEODRIVER=offscreen "$B" clean "$M" "$D" --keys "r:panda"
expect_exit 2 "a headless window .* needs --keys" "$B" clean "$M" "$D" --frames "$TMP/frames-none"
expect_exit 2 "a headless window .* needs --keys" env SDL_VIDEODRIVER=offscreen "$B" clean "$M" "$D"
expect_exit 1 "no display.*--export" env -u DISPLAY -u WAYLAND_DISPLAY -u SDL_VIDEODRIVER "$B" clean "$M" "$D"
expect_exit 1 "cannot load the model" "$B" clean "$TMP/none.safetensors" "$D" --export "$TMP/x.csv"
expect_exit 1 "cannot open folder" "$B" clean "$M" "$TMP/nowhere" --export "$TMP/x.csv"
mkdir -p "$TMP/fresh/a" "$TMP/fresh/b"
expect_exit 1 "no cleaning journal" "$B" clean --undo-all "$TMP/fresh"
printf 'time,action,from,to\n"unterminated\n' >"$TMP/fresh/.sgdlab-clean.csv"
expect_exit 1 "journal .* is damaged .*line 2.*nothing was changed" "$B" clean --undo-all "$TMP/fresh"
printf 'when,what\n' >"$TMP/fresh/.sgdlab-clean.csv"
expect_exit 1 "the header is not time,action,from,to" "$B" clean --undo-all "$TMP/fresh"
finish
