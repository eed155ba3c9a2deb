# lab02 without a display and without --frames: a clear message and exit 1, no crash, no hang.
source "$(dirname "$0")/lib.sh"
env -u DISPLAY -u WAYLAND_DISPLAY -u SDL_VIDEODRIVER timeout 20 "$BIN/lab02-animate" >"$TMP/out.txt" 2>&1
rc=$?
cat "$TMP/out.txt"
check "exit status 1 (got $rc)" test "$rc" -eq 1
check "says it needs a display" grep -q 'display' "$TMP/out.txt"
check "points to --frames" grep -q -- '--frames' "$TMP/out.txt"
finish
