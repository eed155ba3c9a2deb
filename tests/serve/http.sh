#!/usr/bin/env bash
# bears serve over real HTTP on 127.0.0.1 (curl): the answers equal bears predict's, every bad request
# gets its status and a JSON error, the limits hold, and the server stops cleanly on SIGTERM mid-load.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# ---- pictures: PNG and JPEG from the fixture's data, WEBP made from PNGs; bears predict's answers ----
mkdir -p "$TMP/pics"
candidates=$(ls "$DATA"/{black,grizzly,teddy}/00{0,1}*.{png,jpg} 2>/dev/null)
"$B" predict "$M" $candidates >"$TMP/predict-candidates.txt" 2>/dev/null
pngs=$(grep -o '^[^:]*\.png' "$TMP/predict-candidates.txt" | head -6)
jpgs=$(grep -o '^[^:]*\.jpg' "$TMP/predict-candidates.txt" | head -6)
webps=
for p in $(head -3 <<<"$pngs"); do
  w=$TMP/pics/$(basename "$(dirname "$p")")-$(basename "$p" .png).webp
  "$PY" -c "import sys; from PIL import Image; Image.open(sys.argv[1]).save(sys.argv[2], 'WEBP', quality=90)" "$p" "$w" &&
    webps="$webps $w"
done
pictures="$pngs $jpgs $webps"
check "6 PNG, 6 JPEG and 3 WEBP pictures" [ "$(wc -w <<<"$pictures")" -eq 15 ]
"$B" predict "$M" $pictures >"$TMP/predict.txt" || fail "bears predict on the test pictures"
png=$(head -1 <<<"$pngs") jpg=$(head -1 <<<"$jpgs") webp=$(awk '{print $1}' <<<"$webps")

# ---- start-up: bad model, bad flags ----
echo '{"hello": 1}' >"$TMP/text.safetensors"
expect_exit 1 "bears serve: cannot load the model" "$B" serve "$TMP/text.safetensors" --port 0
expect_exit 1 "cannot load the model: .*missing" "$B" serve "$TMP/missing.safetensors" --port 0
expect_exit 2 "--port got '70000'" "$B" serve "$M" --port 70000
expect_exit 2 "--max-body got '0'" "$B" serve "$M" --max-body 0
expect_exit 2 "needs one model file" "$B" serve
expect_exit 1 "--host 'localhostt' is not an IP address" "$B" serve "$M" --host localhostt --port 0

start_server main --threads 2 || { finish; exit 1; }

# ---- the good cases: each format raw and as a form; the same numbers as bears predict ----
: >"$TMP/pictures.txt"; : >"$TMP/statuses.txt"
n=0
for p in $png $jpg $webp; do
  for how in raw form; do
    n=$((n + 1)); out=$TMP/answer-$n.json
    if [ $how = raw ]; then
      code=$(http "$out" -H "Content-Type: application/octet-stream" --data-binary "@$p" "$URL/predict")
    else
      code=$(http "$out" -F "image=@$p" "$URL/predict")
    fi
    echo "$out $p" >>"$TMP/pictures.txt"; echo "$code $out" >>"$TMP/statuses.txt"
  done
done
check "PNG, JPEG, WEBP, raw and multipart, answered as bears predict does" \
  "$PY" "$HERE/answers.py" "$TMP/predict.txt" "$TMP/pictures.txt" "$TMP/statuses.txt"
code=$(http "$TMP/typed.json" -H "Content-Type: image/jpeg" --data-binary "@$jpg" "$URL/predict")
check "Content-Type image/jpeg accepted ($code)" [ "$code" = 200 ]
check "the answer has ms" grep -q '"ms":' "$TMP/typed.json"

# ---- GET routes ----
code=$(http "$TMP/page.html" "$URL/")
check "GET / is the page ($code)" [ "$code" = 200 ]
check "the page has the file input" grep -q '<input id="file" type="file"' "$TMP/page.html"
refute "the page loads nothing from elsewhere" grep -qE '(src|href)="(https?:)?//' "$TMP/page.html"
check "GET /healthz says ok" [ "$(curl -s "$URL/healthz")" = ok ]
curl -s "$URL/model" >"$TMP/model.json"
check "GET /model: arch, classes, image size" grep -q '"arch":"bearnet-s","classes":\["black","grizzly","teddy"\],"image_size":32' "$TMP/model.json"
check "GET /model: the file's sha256" grep -q "\"sha256\":\"$(sha256sum "$M" | cut -d' ' -f1)\"" "$TMP/model.json"

# ---- every failure: its status, a JSON error that says what was wrong ----
expect_error() { # expect_error STATUS "pattern" curl-args...
  local want=$1 pattern=$2; shift 2
  local code; code=$(http "$TMP/error.json" "$@")
  if [ "$code" != "$want" ]; then fail "$* answered $code, wanted $want: $(cat "$TMP/error.json")"; return; fi
  if ! grep -qE "^\{\"error\":\".*$pattern" "$TMP/error.json"; then fail "$*: error lacks /$pattern/: $(cat "$TMP/error.json")"; return; fi
  pass
}
head -c 300 "$png" >"$TMP/cut.png"
printf 'hello, not a picture\n' >"$TMP/note.txt"
expect_error 400 "cannot read the picture" -H "Content-Type: image/png" --data-binary "@$TMP/cut.png" "$URL/predict"
expect_error 400 "not an image: it is text" -F "image=@$TMP/note.txt" "$URL/predict"
expect_error 400 "empty body" -H "Content-Type: image/png" --data-binary "" "$URL/predict"
expect_error 400 "no file field" -F "name=teddy" "$URL/predict"
head -c $((11 * 1000 * 1000)) /dev/zero >"$TMP/big.bin"
expect_error 413 "11000000 bytes; this server takes at most 10000000 \(--max-body\)" \
  -H "Content-Type: image/png" --data-binary "@$TMP/big.bin" "$URL/predict"
check "the oversize body was refused before it was read" grep -qE "POST /predict 413 0 B in" "$SERVER_LOG"
"$PY" - "$TMP/huge.png" <<'PYEOF'
import struct, sys, zlib
ihdr = struct.pack(">IIBBBBB", 8000, 8000, 8, 2, 0, 0, 0) # 64 megapixels declared, no pixel data
chunk = b"IHDR" + ihdr
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)))
PYEOF
expect_error 413 "8000 x 8000 pixels; the limit is 16384 a side and 40 megapixels" \
  -H "Content-Type: image/png" --data-binary "@$TMP/huge.png" "$URL/predict"
expect_error 405 "/predict takes POST, not GET" "$URL/predict"
expect_error 405 "/ takes GET, not POST" -H "Content-Type: image/png" --data-binary "@$png" "$URL/"
check "405 says what is allowed" grep -q "Allow: POST" <(curl -s -i -X DELETE "$URL/predict")
expect_error 404 "no such path: /predictt" "$URL/predictt"
expect_error 415 "Content-Type text/plain is not a picture" -H "Content-Type: text/plain" --data-binary "@$png" "$URL/predict"
expect_error 415 "Content-Type application/x-www-form-urlencoded is not a picture" --data-binary "@$png" "$URL/predict"
expect_error 411 "Content-Length" -H "Content-Type: image/png" -H "Transfer-Encoding: chunked" --data-binary "@$png" "$URL/predict"
# a chunked body sent with a Content-Length as well (which it would override) is refused the same way
exec 5<>"/dev/tcp/127.0.0.1/${URL##*:}"
# (the server may close before the last bytes are written: a subshell that ignores SIGPIPE writes them)
(trap '' PIPE; printf 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' >&5) 2>/dev/null
check "chunked with a Content-Length as well: 411" grep -q "HTTP/1.1 411" <(timeout 10 head -1 <&5)
exec 5<&-

# ---- 200 requests from 16 parallel clients (curl --parallel), raw and multipart in turn ----
read -ra all <<<"$(echo $pictures)"
: >"$TMP/load.cfg"; : >"$TMP/pictures.txt"
for i in $(seq 200); do
  p=${all[$(((i - 1) % ${#all[@]}))]}
  out=$TMP/load/$i.json
  { [ "$i" = 1 ] || echo next; echo "url = \"$URL/predict\""; echo "output = \"$out\""; echo "write-out = \"%{http_code} $out\\n\""
    if [ $((i % 2)) = 0 ]; then echo "form = \"image=@$p\""; else
      echo "data-binary = \"@$p\""; echo 'header = "Content-Type: application/octet-stream"'; fi
  } >>"$TMP/load.cfg"
  echo "$out $p" >>"$TMP/pictures.txt"
done
mkdir -p "$TMP/load"
curl -s --parallel --parallel-max 16 --max-time 60 -K "$TMP/load.cfg" >"$TMP/statuses.txt" 2>"$TMP/load-curl.txt"
check "200 answers came back" [ "$(wc -l <"$TMP/statuses.txt")" -eq 200 ]
check "200 parallel requests: every answer is bears predict's" \
  "$PY" "$HERE/answers.py" "$TMP/predict.txt" "$TMP/pictures.txt" "$TMP/statuses.txt"

# ---- the access log: one line per request (method, path, status, bytes, ms) ----
check "access log lines" grep -qE "^127\.0\.0\.1 POST /predict 200 [0-9]+ B in, [0-9]+ B out, [0-9.]+ ms$" "$SERVER_LOG"
check "a log line per answered picture" [ "$(grep -c 'POST /predict 200 ' "$SERVER_LOG")" -eq 207 ]
stop_server INT
check "SIGINT: exit 0 ($STOP_CODE)" [ "$STOP_CODE" = 0 ]
check "SIGINT: says it stopped" grep -q "bears serve: stopped" "$SERVER_LOG"

# ---- a slow client is cut off; a full queue answers 503 ----
start_server slow --timeout 2 --queue 1 --threads 1 || { finish; exit 1; }
port=${URL##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\n0123456789' >&3
# That request now holds the only place in the queue (its headers are in, its body is not).
for _ in $(seq 50); do code=$(http "$TMP/busy.json" -H "Content-Type: image/png" --data-binary "@$png" "$URL/predict"); [ "$code" = 503 ] && break; sleep 0.1; done
check "queue full: 503 ($code)" [ "$code" = 503 ]
check "queue full: says busy" grep -q '"error":"busy: 1 requests are in the queue already (--queue)' "$TMP/busy.json"
timeout 20 cat <&3 >/dev/null; cut=$?
exec 3<&-
check "the slow client was cut off (the server closed the connection, timeout exit $cut)" [ "$cut" = 0 ]
check "the log says why" grep -q "POST /predict - 10 B in, 0 B out, .* ms (cut off: too slow)" "$SERVER_LOG"
code=$(http "$TMP/after.json" -H "Content-Type: image/png" --data-binary "@$png" "$URL/predict")
check "after the cut the queue has room again ($code)" [ "$code" = 200 ]
stop_server TERM

# ---- the connection limit: while the one connection allowed is held open, the server accepts no
# other (it waits in the kernel's backlog: curl gives up after 2 s); once it closes, all is well ----
start_server limit --max-connections 1 --threads 1 || { finish; exit 1; }
exec 4<>"/dev/tcp/127.0.0.1/${URL##*:}"
code=$(http "$TMP/limit.txt" --max-time 2 "$URL/healthz")
check "over --max-connections: not answered ($code)" [ "$code" = 000 ]
exec 4<&-
for _ in $(seq 50); do code=$(http "$TMP/limit.txt" "$URL/healthz"); [ "$code" = 200 ] && break; sleep 0.1; done
check "the held connection closed: answered again ($code)" [ "$code" = 200 ]
stop_server TERM

# ---- SIGTERM mid-load: exit 0, no answer wrong (each is right, refused while stopping, or none) ----
start_server stop --threads 2 --quiet || { finish; exit 1; }
sed "s#127\.0\.0\.1:[0-9]*#${URL#http://}#; s#/load/#/stop/#g" "$TMP/load.cfg" >"$TMP/stop.cfg"
sed 's#/load/#/stop/#' "$TMP/pictures.txt" >"$TMP/stop-pictures.txt"
mkdir -p "$TMP/stop"
curl -s --parallel --parallel-max 16 --max-time 60 -K "$TMP/stop.cfg" >"$TMP/stop-statuses.txt" 2>"$TMP/stop-curl.txt" &
load=$!
for _ in $(seq 100); do [ "$(ls "$TMP/stop" | wc -l)" -ge 20 ] && break; sleep 0.05; done
stop_server TERM
wait $load
check "SIGTERM mid-load: exit 0 ($STOP_CODE)" [ "$STOP_CODE" = 0 ]
check "SIGTERM mid-load: some requests were answered first" [ "$(grep -c '^200' "$TMP/stop-statuses.txt")" -ge 1 ]
check "SIGTERM mid-load: no answer wrong" \
  "$PY" "$HERE/answers.py" "$TMP/predict.txt" "$TMP/stop-pictures.txt" "$TMP/stop-statuses.txt" --shutdown
check "--quiet: no access log" [ "$(grep -c ' B in, ' "$SERVER_LOG")" -eq 0 ]
finish
