#!/usr/bin/env bash
# Pack this machine's CUDA build for a GPU machine that cannot build it: the GPU machines of these sessions
# run another image (no apt, no registry) that may lack the project's libraries (OpenBLAS, cJSON, libpng,
# SDL2, libcurl, libmicrohttpd). The bundle holds the binaries tests/bench/gpu_session.sh runs and every
# shared library they load that is neither glibc's, the C++ runtime's (newer there) nor CUDA's (the GPU
# machine has its own driver, CUDA runtime, cuBLAS and cuDNN), as gpu-bundle.tar.gz in the repository root (git-ignored): carry it.
#   tests/bench/gpu_bundle.sh [BUILD_DIR]   (default build; it must have been configured with CUDA)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
cmake --build "$build" -j2 --target bears bench-bearnet test_cuda_parity test_cuda_math >/dev/null ||
  { echo "gpu_bundle.sh: cannot build the GPU binaries in $build (configured, and with CUDA?)" >&2; exit 1; }
stage="$(mktemp -d)"
mkdir -p "$stage/gpu-bundle/bin" "$stage/gpu-bundle/lib"
bins=("$build/bin/bears" "$build/bin/bench-bearnet" "$build/tests/test_cuda_parity" "$build/tests/test_cuda_math")
cp "${bins[@]}" "$stage/gpu-bundle/bin/"
ldd "${bins[@]}" | awk '/=> \// { print $3 }' | sort -u |
  grep -vE '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|cuda|cudnn|cublas' |
  while read -r lib; do cp -L "$lib" "$stage/gpu-bundle/lib/"; done
tar -C "$stage" -czf "$root/gpu-bundle.tar.gz" gpu-bundle
rm -rf "$stage"
echo "gpu_bundle.sh: $(du -h "$root/gpu-bundle.tar.gz" | cut -f1) in gpu-bundle.tar.gz ($(tar -tzf "$root/gpu-bundle.tar.gz" | grep -c '/lib/.') libraries)"
