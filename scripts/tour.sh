#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine and run the lab tour, headless.
# Plots and frames go to out/; nothing needs a display.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" -- --no-print-directory >/dev/null
B=build/bin

step() { printf '\n\033[1m######## %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "lab00: a tensor means array" $B/lab00-tensors
step "lab01: fit y = Xa by gradient descent" $B/lab01-linear --plot png --out out
step "lab01 again with lr 1.5: too high" $B/lab01-linear --lr 1.5 --plot none

printf '\nTour done. Plots are in out/. Next: read notes/ and re-run any lab with other --lr values.\n'
