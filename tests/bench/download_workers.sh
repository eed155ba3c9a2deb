#!/usr/bin/env bash
# How much --workers buys: bears download of 42 drawn pictures (3 of them planted broken files) from the
# test server on 127.0.0.1, each answer delayed 0.25 s as from a distant host, at several worker counts.
#   tests/bench/download_workers.sh [BIN_DIR]      (default build/bin; about 25 s)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin=${1:-$root/build/bin}
tmp=$(mktemp -d)
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'
"$bin/bears" synth "$tmp/synth" --per-class 14 --size 64 >/dev/null
mkdir "$tmp/pictures"
for f in "$tmp"/synth/*/*; do cp "$f" "$tmp/pictures/$(basename "$(dirname "$f")")-$(basename "$f")"; done
/usr/bin/python3 "$root/tests/bears/download_server.py" "$tmp/pictures" "$tmp/port" "$tmp/requests.log" 120 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
ls "$tmp/pictures" | sed "s|^|http://127.0.0.1:$port/far/|" >"$tmp/urls.txt"
printf '%-8s %-9s %s\n' workers seconds pictures
for w in 0 1 2 4 8 16; do
  out=$(timeout 120 "$bin/bears" download "$tmp/urls.txt" "$tmp/out-$w" --workers "$w" || true)
  line=$(grep '^download: .* new pictures' <<<"$out")
  printf '%-8s %-9s %s\n' "$w" "$(sed -n 's/.* in \([0-9.]*\) s.*/\1/p' <<<"$line")" "$(sed -n 's/^download: \([0-9]*\) new.*/\1/p' <<<"$line")"
done
