#!/usr/bin/env bash
# bench-conv over the conv layers of bearnet-s (64 px) and of ResNet-18/34 (224 px): each product's
# GFLOP/s and share of the FMA peak, one thread unless --threads says otherwise.
#   tests/bench/conv_shapes.sh [--set bearnet|resnet|all] [--threads 1] [--runs 4] [--torch]
# (build/bin/bench-conv must exist; BENCH_CONV=path picks another build, e.g. a copy of the old one).
# --torch times each layer's forward in PyTorch too (tests/bench/conv_torch.py: channels-last, oneDNN),
# right after ours, and prints ours/it: where a network's gap to PyTorch sits, layer by layer.
# Batches are cut so that each call takes milliseconds: the kernels' speed per image does not depend on
# the batch beyond that, as long as a group of images fills a column block (core/cpu/implicit.c).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${BENCH_CONV:-$root/build/bin/bench-conv}"
set_name=all threads=1 runs=4 torch=0
while [ $# -gt 0 ]; do
  case "$1" in
    --torch) torch=1; shift ;;
    --set) set_name="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "conv_shapes.sh: unknown argument $1 (accepted: --set --threads --runs --torch)" >&2; exit 2 ;;
  esac
done
case "$set_name" in bearnet|resnet|all) ;; *) echo "conv_shapes.sh: --set takes bearnet, resnet or all" >&2; exit 2 ;; esac
[ -x "$bench" ] || { echo "conv_shapes.sh: $bench not found; build first (cmake --build build)" >&2; exit 1; }

# name  N  C  size  OC  k  stride
bearnet="stem        64   3  64  16 3 1
block1      64  16  64  16 3 1
block2.s2   64  16  64  32 3 2
block2      64  32  32  32 3 1
block2.down 64  16  64  32 1 2
block3.s2   64  32  32  64 3 2
block3      64  64  16  64 3 1
block4.s2   64  64  16 128 3 2
block4      64 128   8 128 3 1"
resnet="conv1       4   3 224  64 7 2
layer1      4  64  56  64 3 1
layer2.s2   4  64  56 128 3 2
layer2.down 8  64  56 128 1 2
layer2      8 128  28 128 3 1
layer3.s2   8 128  28 256 3 2
layer3.down 16 128 28 256 1 2
layer3      16 256 14 256 3 1
layer4.s2   16 256 14 512 3 2
layer4.down 32 256 14 512 1 2
layer4      32 512  7 512 3 1"
case "$set_name" in bearnet) shapes="$bearnet" ;; resnet) shapes="$resnet" ;; all) shapes="$bearnet"$'\n'"$resnet" ;; esac

torch_py="${TORCH_PYTHON:-/usr/bin/python3}" # Debian's, where python3-torch imports
header="$(printf "%-12s %-30s %16s %16s %16s" layer shape "forward GF/s %" "dW GF/s %" "dX GF/s %")"
[ "$torch" = 1 ] && header+="$(printf " %10s %8s" "torch fwd" "ours/it")"
echo "$header"
while read -r name n c size oc k stride; do
  args=(--n "$n" --c "$c" --size "$size" --oc "$oc" --k "$k" --stride "$stride" --threads "$threads" --runs "$runs")
  out="$("$bench" "${args[@]}")"
  row() { awk -v p="$1" '$1 == p { sub("%", "", $6); printf "%7s %5.1f%%", $2, $6 }' <<<"$out"; }
  line="$(printf "%-12s %-30s %16s %16s %16s" "$name" "N$n C$c ${size}px OC$oc ${k}x$k/$stride" \
    "$(row forward)" "$(row dW)" "$(row dX)")"
  if [ "$torch" = 1 ]; then
    theirs="$("$torch_py" "$root/tests/bench/conv_torch.py" "${args[@]}" </dev/null | awk '$1 == "forward" { print $2 }')"
    [ -n "$theirs" ] || { echo "conv_shapes.sh: conv_torch.py gave no figure for $name (python3-torch?)" >&2; exit 1; }
    ours="$(awk '$1 == "forward" { print $2 }' <<<"$out")"
    line+="$(printf " %10s %8s" "$theirs" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2fx", a / b }')")"
  fi
  echo "$line"
done <<<"$shapes"
awk '$1 == "peak"' <<<"$out"
