#!/usr/bin/env bash
# bears serve's upload page in a real browser (Debian's chromium, driven by Selenium through
# chromedriver): a drawn teddy gets the model's answer and its bars, a text file gets the error.
# The screenshots stay in the test's folder: build/test-tmp/serve_page/page-*.png.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
for need in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$need" ] || { fail "$need is missing: run scripts/deps.sh"; finish; exit 1; }
done
# a drawn teddy that bears predict calls teddy (the fixture's model gets most, not all, right)
teddy=
for p in "$DATA"/teddy/00*.png; do
  line=$("$B" predict "$M" "$p" 2>/dev/null) && [[ $line == *": teddy ("* ]] && { teddy=$p; break; }
done
check "a teddy the model knows" [ -n "$teddy" ]
printf 'hello, not a picture\n' >"$TMP/note.txt"
start_server page --threads 2 || { finish; exit 1; }
check "the page: teddy and its bars, then the text file's error" \
  timeout 120 "$PY" "$HERE/page.py" "$URL/" "$teddy" teddy "$TMP/note.txt" "$TMP"
for shot in page-desktop page-phone page-phone-error; do check "screenshot $shot.png" [ -s "$TMP/$shot.png" ]; done
echo "screenshots: $TMP/page-*.png"
check "the browser's upload went through the form path" grep -q "POST /predict 200 " "$SERVER_LOG"
stop_server TERM
check "stopped: exit 0" [ "$STOP_CODE" = 0 ]
finish
