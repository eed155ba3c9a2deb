# serve/lib.sh — helpers of the serve tests: the fixture's model, and a server on a free port of
# 127.0.0.1 that the test starts and stops. Source after ../lib.sh.
B="$BIN/bears"
FIXTURE=$(dirname "$TMP")/serve_model
M=$FIXTURE/m.safetensors
DATA=$FIXTURE/data
PY=/usr/bin/python3 # Debian's, with the packages scripts/deps.sh installs
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -s "$M" ] || { echo "no model at $M: run the serve_model test first (ctest does)" >&2; exit 1; }

# A test that dies half way must not leave its server running.
PID=
trap '[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null' EXIT
trap 'exit 1' PIPE INT TERM HUP # so the EXIT trap also runs when a signal ends the test

# start_server NAME [flags...]: bears serve on port 0 (the kernel picks a free one); sets PID and
# URL; its stdout goes to $TMP/NAME.out and the access log to $TMP/NAME.log.
start_server() {
  local name=$1; shift
  SERVER_LOG=$TMP/$name.log
  "$B" serve "$M" --port 0 "$@" >"$TMP/$name.out" 2>"$SERVER_LOG" &
  PID=$!
  URL=
  for _ in $(seq 100); do # up to 10 s for the model to load
    URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/$name.out" 2>/dev/null) && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$URL" ] || { fail "server $name did not start: $(cat "$SERVER_LOG")"; return 1; }
}

# stop_server [SIGNAL]: signal the server, wait up to 10 s for it; sets STOP_CODE (124: still running).
stop_server() {
  kill -"${1:-TERM}" "$PID"
  STOP_CODE=124
  for _ in $(seq 100); do
    kill -0 "$PID" 2>/dev/null || { wait "$PID"; STOP_CODE=$?; PID=; return; }
    sleep 0.1
  done
  kill -KILL "$PID"; wait "$PID"; PID=
}

# http OUT_FILE curl-args...: prints the status code (000 when no answer came), the body in OUT_FILE.
http() {
  local out=$1; shift
  curl -s -o "$out" -w '%{http_code}' --max-time 30 "$@"
}
