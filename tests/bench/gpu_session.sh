#!/usr/bin/env bash
# gpu_session.sh — what a session with an NVIDIA GPU runs, in one call (about 8 minutes on an H200):
#   1. the machine: nvidia-smi, nvcc, cmake, the python3 that has torch, and whether torch sees the GPU;
#   2. a CUDA build with warnings as errors (build-gpu/), or, where that machine lacks the project's
#      libraries, the binaries of gpu-bundle.tar.gz (made beforehand by tests/bench/gpu_bundle.sh, carried);
#   3. test_cuda_math and test_cuda_parity: every GPU op against its CPU twin, one bearnet-s step;
#   4. bears train on drawn bears, --device cpu then --device cuda with the same seed and flags: both
#      epoch tables, the error rates side by side, and the GPU-trained model predicting on the CPU;
#   5. tests/bench/run_bench.sh --device cuda at 64, 128 and 224 px (torch.compile at 64 px only: it
#      spends a minute compiling per size).
# Every step's output is printed, with the time it took; with $OUT set (the device tool's folder) the whole
# log is also written to $OUT/gpu_session.log. A failing step is reported and the next one still runs; the
# exit status says whether any failed.
#   bash tests/bench/gpu_session.sh            (from the repository root, on the GPU machine)
# GPU_SESSION_BUNDLE=1 goes straight to the bundle's binaries (when the build there is known to fail).
# GPU_SESSION_PER_CLASS (150), GPU_SESSION_EPOCHS (4) and GPU_SESSION_SIZES ("64 128 224") shrink it for a
# dry run of the script on a machine without a GPU.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root" || exit 1
if [ -n "${OUT:-}" ] && [ -z "${GPU_SESSION_LOGGING:-}" ]; then
  export GPU_SESSION_LOGGING=1
  bash "$0" "$@" 2>&1 | tee "$OUT/gpu_session.log"
  exit "${PIPESTATUS[0]}"
fi
failed=()
t0=$(date +%s)
step() { echo; echo "=== [$(($(date +%s) - t0)) s] $*"; }
run() { # run LABEL CMD...: print and run, note a failure
  local label=$1; shift
  "$@" || { echo "gpu_session: $label FAILED (exit $?)"; failed+=("$label"); }
}

step "the machine"
nvidia-smi || failed+=("nvidia-smi")
export PATH="$PATH:/usr/local/cuda/bin"
nvcc --version | tail -2
cmake --version | head -1
py=$(command -v python3)
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "sees the GPU:", torch.cuda.is_available())' ||
  failed+=("torch")
nproc; uptime

# cuDNN and cuBLAS beside the toolkit, or else from the pip wheels PyTorch brought (nvidia-cudnn, nvidia-cublas).
pip_lib() { "$py" -c "import importlib, sys; m = importlib.import_module('nvidia.$1'); print(list(m.__path__)[0])" 2>/dev/null; }
cudnn_root=""
if [ ! -e /usr/local/cuda/include/cudnn.h ]; then cudnn_root=$(pip_lib cudnn); fi
# The toolkit's libraries first, then the wheels' (the CUDA runtime, cuBLAS and cuDNN our binaries load).
[ -d /usr/local/cuda/lib64 ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/cuda/lib64"
for lib in cuda_runtime cublas cudnn; do
  dir=$(pip_lib $lib) && [ -d "$dir/lib" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dir/lib"
done
echo "cuDNN root: ${cudnn_root:-/usr/local/cuda}; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

step "build with CUDA, warnings as errors (build-gpu/)"
bin="" tests=""
log=/tmp/gpu-session-build.log
rm -f "$log"
if [ -z "${GPU_SESSION_BUNDLE:-}" ] && cmake -S . -B build-gpu -DSGDLAB_CUDA=ON -DSGDLAB_WERROR=ON ${cudnn_root:+-DCUDNN_ROOT="$cudnn_root"} >"$log" 2>&1 &&
  cmake --build build-gpu -j"$(nproc)" --target bears bench-bearnet test_cuda_parity test_cuda_math >>"$log" 2>&1; then
  grep "sgdlab: CUDA" "$log"
  bin="$root/build-gpu/bin" tests="$root/build-gpu/tests"
else
  [ -f "$log" ] && tail -25 "$log"
  if [ -f gpu-bundle.tar.gz ]; then
    echo "gpu_session: no build here; using the binaries of gpu-bundle.tar.gz (built on the CPU machines)"
    rm -rf /tmp/gpu-bundle && tar -xzf gpu-bundle.tar.gz -C /tmp
    # Wrappers: only our binaries see the bundle's libraries (PyTorch keeps its own).
    mkdir -p /tmp/gpu-bundle/run
    for b in /tmp/gpu-bundle/bin/*; do
      printf '#!/bin/sh\nLD_LIBRARY_PATH=/tmp/gpu-bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec %s "$@"\n' "$b" \
        >"/tmp/gpu-bundle/run/$(basename "$b")"
      chmod +x "/tmp/gpu-bundle/run/$(basename "$b")"
    done
    bin=/tmp/gpu-bundle/run tests=/tmp/gpu-bundle/run
  else
    failed+=("build")
    echo "gpu_session: the build failed and there is no gpu-bundle.tar.gz (make one with tests/bench/gpu_bundle.sh"
    echo "on a machine that builds, and carry it); nothing more to run"
    echo "failed: ${failed[*]}"
    exit 1
  fi
fi

step "test_cuda_math (the kernels' per-element maths on the CPU)"
run test_cuda_math "$tests/test_cuda_math" >/tmp/cuda_math.log
tail -1 /tmp/cuda_math.log

step "test_cuda_parity (every GPU op against its CPU twin, then one bearnet-s step)"
run test_cuda_parity "$tests/test_cuda_parity"

step "bears train on drawn bears: the CPU, then the GPU, same seed and flags"
data=/tmp/gpu-session-bears
rm -rf "$data" && run synth "$bin/bears" synth "$data" --per-class "${GPU_SESSION_PER_CLASS:-150}" --seed 7 >/dev/null
flags=(--epochs "${GPU_SESSION_EPOCHS:-4}" --size 64 --seed 42 --plot none)
for device in cpu cuda; do
  echo "--- --device $device"
  start=$(date +%s%N)
  run "train $device" "$bin/bears" train "$data" "${flags[@]}" --device "$device" \
    --model "/tmp/bears-$device.safetensors" >"/tmp/train-$device.log" 2>&1
  cat "/tmp/train-$device.log"
  echo "wall time: $((($(date +%s%N) - start) / 1000000)) ms"
done
err() { awk '$1 ~ /^[0-9]+$/ && NF == 5 { e = $4 } END { print e }' "/tmp/train-$1.log"; }
echo "final error rate: cpu $(err cpu), cuda $(err cuda) (the batch order and augmentation are the same; the sums' order is not)"
picture=$(find "$data" -name '*.png' | head -1)
run "predict on the CPU with the GPU-trained model" "$bin/bears" predict /tmp/bears-cuda.safetensors "$picture"

step "benchmark: run_bench.sh --device cuda beside PyTorch on the same GPU"
export BENCH_BEARNET="$bin/bench-bearnet" TORCH_PYTHON="$py"
for size in ${GPU_SESSION_SIZES:-64 128 224}; do
  extra=()
  [ "$size" != 64 ] && extra=(--skip-compile)
  run "bench $size px" tests/bench/run_bench.sh --device cuda --size "$size" --bs 64 --steps 30 --rounds 1 "${extra[@]}"
done

step "done"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "every step passed"
