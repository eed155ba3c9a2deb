#!/usr/bin/env bash
# bears download against a server this test starts on 127.0.0.1: good PNG/JPEG/WEBP, HTTP errors,
# redirects (a chain, a loop, one out of http), a page that is no picture, a cut-off JPEG, a slow answer,
# two huge ones, a closed port, data: URLs, and a list full of junk lines. Serial and parallel runs keep
# the same pictures; a second run downloads nothing again and overwrites nothing.
. "$(dirname "$0")/../lib.sh"
B="$BIN/bears"
CONVERT="$BIN/../tests/image_convert"
# Nothing may leave 127.0.0.1: no proxy from the environment either.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'
run() { timeout 60 "$B" download "$@"; } # every run bounded in time, whatever happens

# ---- pictures to serve, drawn by synth (WEBP converted from one of them) ----
"$B" synth "$TMP/synth" --per-class 4 --size 32 >/dev/null || fail "synth"
good() { # the first picture of a class folder with this extension that synth did not break
  local f
  for f in "$TMP/synth/$1"/*."$2"; do
    grep -q "^${f#"$TMP/synth/"},unreadable" "$TMP/synth/PLANTED.csv" || { echo "$f"; return; }
  done
}
P=$TMP/pictures
mkdir -p "$P"
mapfile -t pngs < <(ls "$TMP"/synth/*/*.png)
[ ${#pngs[@]} -ge 4 ] || fail "synth made ${#pngs[@]} PNGs, the test needs 4"
cp "${pngs[0]}" "$P/good.png"
cp "${pngs[0]}" "$P/copy.png" # the same bytes at a second URL
cp "${pngs[1]}" "$P/chained.png"
cp "$(good black jpg)" "$P/good.jpg"
"$CONVERT" "${pngs[2]}" "$P/good.webp" webp || fail "making the WEBP"
head -c 300 "$P/good.jpg" >"$P/cut.jpg"
inline=${pngs[3]}
# what the downloads must end up holding, by content
expected=$(cd "$P" && sha256sum good.png good.jpg good.webp chained.png "$inline" | cut -d' ' -f1 | sort)

# ---- the server: a free port, its own time limit ----
/usr/bin/python3 "$(dirname "$0")/download_server.py" "$P" "$TMP/port" "$TMP/requests.log" 150 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port" 2>/dev/null) || { fail "the test server did not start"; finish; exit 1; }
U=http://127.0.0.1:$PORT
# a port nobody listens on: bound, read, closed
CLOSED=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

{
  echo "# black bears, saved by the browser snippet"
  echo "$U/pictures/good.png"
  echo ""
  printf '%s\r\n' "$U/pictures/good.jpg" # a Windows line end
  echo "  \"$U/pictures/good.webp\"  "   # quoted, with spaces around
  echo "$U/pictures/copy.png"
  echo "HTTP://127.0.0.1:$PORT/pictures/good.png" # line 2 again, spelt otherwise
  echo "$U/missing.jpg"
  echo "$U/broken.jpg"
  echo "$U/chain/3"
  echo "$U/loop.jpg"
  echo "$U/to-file.jpg"
  echo "$U/page.jpg"
  echo "$U/pictures/cut.jpg"
  echo "$U/slow.jpg"
  echo "$U/huge-announced.jpg"
  echo "$U/huge-stream.jpg"
  echo "http://127.0.0.1:$CLOSED/refused.jpg"
  echo "data:image/png;base64,$(base64 -w0 "$inline")"
  echo "data:image/png;base64,!!!not-base64"
  echo "data:text/plain;base64,aGVsbG8="
  echo "null"
  echo "ftp://127.0.0.1/a.jpg"
  echo "not a url at all"
  printf 'http://127.0.0.1/\x01\x00\xff\xfe.jpg\n'
  printf '   \t \n'
} >"$TMP/urls.txt"
FLAGS=(--timeout 3 --max-bytes 1000000) # 3 s: ample for a loopback answer, short of the slow one

verify_quietly() { "$B" verify "$1" >/dev/null; }
pictures_in() { find "$1" -maxdepth 1 -type f ! -name '.*' | sort; }
contents() { pictures_in "$1" | xargs -r sha256sum | cut -d' ' -f1 | sort; }
fingerprint() { pictures_in "$1" | xargs -r stat -c '%n %i %s %Y'; } # name, inode, size, mtime

check_run() { # check_run OUTPUT DEST MODE
  local out=$1 dest=$2 mode=$3
  check "$mode: 5 pictures kept" [ "$(pictures_in "$dest" | wc -l)" -eq 5 ]
  check "$mode: the kept pictures are the good ones" [ "$(contents "$dest")" = "$expected" ]
  check "$mode: named by counter and real format" \
    [ "$(pictures_in "$dest" | xargs -n1 basename | grep -cE '^[0-9]{8}\.(png|jpeg|webp)$')" -eq 5 ]
  check "$mode: the WEBP is .webp though the server said image/jpeg" [ "$(ls "$dest"/*.webp | wc -l)" -eq 1 ]
  check "$mode: every kept file decodes (bears verify)" verify_quietly "$(dirname "$dest")"
  local want
  # (in parallel good.png and copy.png race: either may be the one stored)
  for want in "HTTP 404" "HTTP 500" "more than 8 redirects" "redirected out of http" "timed out after 3 s" \
    "too big \(over 1000000 bytes\).*huge-announced" "too big \(over 1000000 bytes\).*huge-stream" \
    "could not connect.*refused.jpg" "not a picture \(text/html\).*page.jpg" "not a picture.*cut.jpg" \
    "same picture as [0-9]{8}\.png.*/pictures/(copy|good).png" "5 new pictures" \
    "10 failed: 2 HTTP errors, 1 timed out, 2 too big, 2 not a picture, 2 bad redirects, 1 could not connect" \
    "26 lines, 16 URLs; lines skipped: blank 2, comment 1, duplicate 1, malformed 6" \
    "line 7: the same URL as line 2" "line 20: a data: URL whose base64 does not decode" \
    "line 21: a data: URL that is not data:image" "line 22: not a URL.*null" "line 23: a ftp: URL" \
    "line 24: not a URL" "line 25: a NUL byte"; do
    check "$mode output says /$want/" grep -qE -- "$want" <<<"$out"
  done
  local manifest=$dest/.sgdlab-downloads.csv
  check "$mode: manifest header" [ "$(head -1 "$manifest")" = "url,file,status,bytes,sha256" ]
  check "$mode: one manifest line per URL tried" [ "$(grep -c . "$manifest")" -eq 17 ]
  check "$mode: manifest ok lines match the files" \
    [ "$(grep -c ',ok,' "$manifest")" -eq 5 ]
}

# ---- serial: one at a time, every failure in full ----
out=$(run "$TMP/urls.txt" "$TMP/serial/black" --workers 0 "${FLAGS[@]}" 2>&1); code=$?
check "serial run exits 0 (pictures arrived): $out" [ "$code" -eq 0 ]
check_run "$out" "$TMP/serial/black" serial
check "serial: failures in full (libcurl's words)" grep -q "libcurl:   The requested URL returned error: 404" <<<"$out"
check "serial: the decoder's reason for a page" grep -q "the decoder says" <<<"$out"
# the 3 MB answer without a length was cut off at --max-bytes, not read to its end
received=$(grep -A2 'FAILED.*huge-stream' <<<"$out" | sed -n 's/.*image\/jpeg, \([0-9]*\) bytes received.*/\1/p')
check "serial: the endless answer stopped at --max-bytes (got ${received:-nothing})" \
  [ "${received:-0}" -gt 0 -a "${received:-0}" -le 1000000 ]
check "every request named sgdlab in its User-Agent" [ "$(grep -vc 'sgdlab-bears-download' "$TMP/requests.log")" -eq 0 ]
check "the server was asked at all" [ -s "$TMP/requests.log" ]

# ---- parallel, into a folder where a user's own file already has the first counter's name ----
mkdir -p "$TMP/parallel/black"
echo "a user's own file" >"$TMP/parallel/black/00000001.png"
out=$(run "$TMP/urls.txt" "$TMP/parallel/black" --workers 8 "${FLAGS[@]}" 2>&1); code=$?
check "parallel run exits 0: $out" [ "$code" -eq 0 ]
check "the user's file is untouched" [ "$(cat "$TMP/parallel/black/00000001.png")" = "a user's own file" ]
mv "$TMP/parallel/black/00000001.png" "$TMP/users-file.png" # then the same checks as serial
check_run "$out" "$TMP/parallel/black" parallel
refute "parallel: failures in one line each" grep -q "libcurl:" <<<"$out"
check "parallel: says how to see failures in full" grep -q -- "--workers 0 prints each failure in full" <<<"$out"
mv "$TMP/users-file.png" "$TMP/parallel/black/00000001.png"

# ---- resume: the same list again fetches no picture again and changes no file ----
before=$(fingerprint "$TMP/parallel/black")
asked=$(grep -c '^/pictures/good.png' "$TMP/requests.log")
out=$(run "$TMP/urls.txt" "$TMP/parallel/black" --workers 8 "${FLAGS[@]}" 2>&1); code=$?
check "resume exits 0 (the pictures are there): $out" [ "$code" -eq 0 ]
check "resume: nothing new" grep -q "0 new pictures" <<<"$out"
check "resume: says what it had" grep -q "5 already there from an earlier run" <<<"$out"
check "resume: no file changed, none added" [ "$(fingerprint "$TMP/parallel/black")" = "$before" ]
check "resume: good.png not asked for again" [ "$(grep -c '^/pictures/good.png' "$TMP/requests.log")" -eq "$asked" ]
check "resume: failures tried again" grep -q "HTTP 404" <<<"$out"

# a run killed while writing a manifest line: the next run ignores the cut line and goes on
printf '%s' "$U/pictures/chained.png,0000" >>"$TMP/serial/black/.sgdlab-downloads.csv"
out=$(run "$TMP/urls.txt" "$TMP/serial/black" --workers 2 "${FLAGS[@]}" 2>&1); code=$?
check "after a cut manifest line: exit 0: $out" [ "$code" -eq 0 ]
check "after a cut manifest line: still 5 pictures" [ "$(pictures_in "$TMP/serial/black" | wc -l)" -eq 5 ]
out=$(run "$TMP/urls.txt" "$TMP/serial/black" --workers 2 "${FLAGS[@]}" 2>&1); code=$?
check "and the manifest reads back afterwards: $out" [ "$code" -eq 0 ]

# a new URL whose picture is already stored: nothing new is written, and that is no failure
echo "$U/pictures/copy.png?size=large" >"$TMP/again.txt"
before=$(fingerprint "$TMP/serial/black")
expect_exit 0 "duplicate +same picture as" run "$TMP/again.txt" "$TMP/serial/black"
check "a picture at a new URL is not stored twice" [ "$(fingerprint "$TMP/serial/black")" = "$before" ]

# ---- --max, data: only, nothing at all ----
out=$(run "$TMP/urls.txt" "$TMP/max2" --max 2 "${FLAGS[@]}" 2>&1)
check "--max 2 keeps 2 pictures: $out" [ "$(pictures_in "$TMP/max2" | wc -l)" -eq 2 ]
check "--max says the rest was not needed" grep -q -- "--max 2 reached" <<<"$out"
grep -a '^data:' "$TMP/urls.txt" >"$TMP/inline.txt"
expect_exit 0 "1 new pictures" run "$TMP/inline.txt" "$TMP/inline" --workers 0
check "data: picture stored as PNG" [ "$(ls "$TMP"/inline/*.png | wc -l)" -eq 1 ]
printf '%s\n' "$U/missing.jpg" "$U/page.jpg" >"$TMP/none.txt"
expect_exit 1 "no picture arrived; run again with --workers 0" run "$TMP/none.txt" "$TMP/none"

# text from outside (a list line, a server's header) reaches the terminal escaped, never raw
printf 'http://a.example/\x1b[31mred\n%s\n' "$U/evil-type.jpg" >"$TMP/evil.txt"
out=$(run "$TMP/evil.txt" "$TMP/evil" --workers 0 2>&1)
check "a list line's escape code is shown escaped: $out" grep -qF 'a.example/\x1b[31mred' <<<"$out"
check "a server's escape code is shown escaped" grep -qF 'text/html\x1b[2J' <<<"$out"
refute "no raw escape byte reaches the terminal" grep -q $'\x1b' <<<"$out"

# ---- bad input: flags, files, folders, manifests ----
expect_exit 2 "needs the URL file" "$B" download "$TMP/urls.txt"
expect_exit 2 "--workers" "$B" download "$TMP/urls.txt" "$TMP/x" --workers -1
expect_exit 2 "--workers" "$B" download "$TMP/urls.txt" "$TMP/x" --workers 65
expect_exit 2 "--timeout" "$B" download "$TMP/urls.txt" "$TMP/x" --timeout 0
expect_exit 2 "--max" "$B" download "$TMP/urls.txt" "$TMP/x" --max 0
expect_exit 2 "--max-bytes" "$B" download "$TMP/urls.txt" "$TMP/x" --max-bytes 20MB
expect_exit 0 "download_images" "$B" download --help
expect_exit 1 "cannot open $TMP/nope.txt" run "$TMP/nope.txt" "$TMP/x"
expect_exit 1 "cannot read $TMP" run "$TMP" "$TMP/x"
printf 'null\n\n# nothing\nundefined\n' >"$TMP/junk.txt"
expect_exit 1 "holds no http, https or data:image URL" run "$TMP/junk.txt" "$TMP/x"
printf 'http://127.0.0.1/%020000d.jpg\n' 0 >"$TMP/long.txt" # libcurl itself says "out of memory" for this
expect_exit 1 "line 1: a URL of 20021 characters \(at most 16384\)" run "$TMP/long.txt" "$TMP/x"
: >"$TMP/empty.txt"
expect_exit 1 "0 lines, 0 URLs" run "$TMP/empty.txt" "$TMP/x"
touch "$TMP/afile"
expect_exit 1 "cannot create the folder '$TMP/afile/black'" run "$TMP/urls.txt" "$TMP/afile/black"
mkdir -p "$TMP/foreign"
printf 'name,size\nx,1\n' >"$TMP/foreign/.sgdlab-downloads.csv"
expect_exit 1 "not a download manifest .*line 1" run "$TMP/urls.txt" "$TMP/foreign"
check "a foreign manifest is left as it was" [ "$(cat "$TMP/foreign/.sgdlab-downloads.csv")" = "$(printf 'name,size\nx,1')" ]
check "and nothing was downloaded into its folder" [ "$(pictures_in "$TMP/foreign" | wc -l)" -eq 0 ]
finish
