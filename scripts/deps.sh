#!/usr/bin/env bash
# Install the Debian 12 packages sgdlab needs, only when some are missing. Safe to run again:
# with everything present it prints nothing and exits 0.
#   scripts/deps.sh [--with-torch]
# --with-torch adds Debian's PyTorch and torchvision (a few hundred MB): the .pth converter
# (scripts/torchvision_to_safetensors.py), its test and the benchmarks' PyTorch side need them; CI uses it.
set -euo pipefail
with_torch=false
case "${1:-}" in
  "") ;;
  --with-torch) with_torch=true ;;
  *) echo "deps.sh: unknown argument $1 (accepted: --with-torch)" >&2; exit 2 ;;
esac

packages=(
  build-essential cmake pkg-config            # compiler and build
  libopenblas-dev                              # matrix products (cblas_sgemm)
  libpng-dev libjpeg-dev libwebp-dev libgif-dev # image decode / encode (GIF: decode only)
  gnuplot-nox                                  # plots as PNG (install `gnuplot` instead for windows)
  libsdl2-dev libsdl2-ttf-dev fonts-dejavu-core # animations and the cleaning GUI
  libmicrohttpd-dev libcurl4-openssl-dev       # bears serve / bears download
  libssl-dev                                   # bears download (sha256, base64) and serve (the model's SHA-256)
  curl chromium chromium-driver python3-selenium python3-pil # serve tests: HTTP, the page in a browser, WEBP
  wrk                                          # tests/bench/serve_bench.sh
  libcjson-dev                                 # safetensors JSON headers
  zlib1g-dev dataset-fashion-mnist             # bears import fashion-mnist (gzipped IDX files)
  clang libclang-rt-14-dev libomp-dev          # libFuzzer targets (tests/fuzz/run.sh)
  python3                                      # tests that craft bad model files
)
$with_torch && packages+=(python3-torch python3-torchvision)
# gnuplot (the GUI build) satisfies the plotting need as well as gnuplot-nox.
if dpkg-query -W -f='${Status}' gnuplot-qt 2>/dev/null | grep -q "ok installed"; then
  packages=("${packages[@]/gnuplot-nox/}")
fi

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "deps: need root to install: ${missing[*]} (run as root, or install sudo)" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update -qq || ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "deps: could not install: ${missing[*]}. Check the network and apt sources, then run scripts/deps.sh again." >&2
  exit 1
fi
echo "deps: done"
