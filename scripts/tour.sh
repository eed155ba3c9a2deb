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
step "lab02: the animated fit, written as frames (run it without --frames on a desktop)" \
  $B/lab02-animate --frames out/lab02-frames --steps 60
step "lab03: learning rate too low / right / too high" $B/lab03-learning-rate --plot png --out out
step "lab04: minibatches make it stochastic" $B/lab04-minibatch --plot png --out out
step "lab05: under- and over-fitting" $B/lab05-overfitting --plot png --out out
step "lab06: the same fit, gradients from the autograd tape" $B/lab06-autograd --plot png --out out

# The bears notebook: data -> clean -> train -> interpret -> predict, on the embedded synthetic data.
if [ ! -d data/bears ]; then
  step "bears: draw the default data set" $B/bears synth data/bears
fi
step "bears: find and remove broken files (moved to data/bears/.trash)" $B/bears verify data/bears --delete
step "bears: look at the data" $B/bears show data/bears --out out
step "bears: train bearnet-s, 4 epochs, one-cycle at lr 3e-3" $B/bears train data/bears --model out/bears.safetensors
step "bears: what does it get wrong?" $B/bears interpret out/bears.safetensors data/bears --plot png --out out
# Clean with the model (the lesson's FileDeleter, as files: run `bears clean MODEL DIR` on a desktop for the
# window). A person would look at the numbered sheet and edit the list; here PLANTED.csv stands in for
# them: what synth planted as mislabeled is relabeled to its true class, what is not a bear is deleted.
list=out/clean-$(date +%Y%m%d-%H%M%S).csv # a new name each run: an export never replaces a list
step "bears: the worst 48 validation pictures as an editable list and a contact sheet" \
  $B/bears clean out/bears.safetensors data/bears --split valid --export "$list"
awk -F, 'NR == FNR { if ($2 == "mislabeled") fix[$1] = "relabel:" $3; else if ($2 == "not_bear") fix[$1] = "delete"; next }
  FNR > 1 && ($2 in fix) { sub(/,keep$/, "," fix[$2]) } { print }' data/bears/PLANTED.csv "$list" >"${list%.csv}-edited.csv"
step "bears: the cleaning window, headless: one screenshot (run it without SDL_VIDEODRIVER on a desktop)" \
  env SDL_VIDEODRIVER=offscreen $B/bears clean out/bears.safetensors data/bears --keys f,q --out out
step "bears: apply the edited list (journaled; bears clean --undo-all data/bears reverts it)" \
  $B/bears clean data/bears --apply "${list%.csv}-edited.csv"
step "bears: train again on the cleaned pictures" $B/bears train data/bears --model out/bears-clean.safetensors
pics=(data/bears/teddy/*) # a glob, not ls | head: head exiting early would kill ls (pipefail)
step "bears: predict one picture" $B/bears predict out/bears.safetensors "${pics[0]}"

printf '\nTour done. Plots are in out/. Next: read notes/ and re-run any lab with other --lr values.\n'
