// internal.cuh — what the backend's .cu files share: checked calls, the stream and library handles, launch
// sizes, block sums and host-to-device uploads. Not for code outside core/cuda/.
#ifndef SGDLAB_CUDA_INTERNAL_CUH
#define SGDLAB_CUDA_INTERNAL_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

extern "C" {
#include "autograd.h"
#include "cuda.h"
}

// cuBLAS is opened by cuda_init (dlopen), not linked: loading it costs 160 ms (its cublasLt half is half a
// gigabyte), and every bears command, GPU or not, would pay that at start. These are the calls we make.
struct CublasCalls {
    decltype(&cublasCreate_v2) create;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetWorkspace_v2) set_workspace;
    decltype(&cublasSetMathMode) set_math_mode;
    decltype(&cublasSgemm_v2) sgemm;
    decltype(&cublasGetStatusString) status_string;
};
extern CublasCalls cublas;

// Every call into CUDA, cuBLAS or cuDNN goes through one of these: a failure names the file, the line,
// the call and the library's own words for what went wrong, then stops (sgd_panic), like a shape error.
#define CUDA_CHECK(call)   cuda_check_runtime((call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(call) cuda_check_cublas((call), #call, __FILE__, __LINE__)
#define CUDNN_CHECK(call)  cuda_check_cudnn((call), #call, __FILE__, __LINE__)
// After a <<<launch>>>: a bad configuration is reported here, at the launch that made it.
#define LAUNCH_CHECK() cuda_check_runtime(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

static inline void cuda_check_runtime(cudaError_t e, const char *what, const char *file, int line) {
    if (e != cudaSuccess)
        sgd_panic("%s:%d: %s: %s (%s)", file, line, what, cudaGetErrorString(e), cudaGetErrorName(e));
}
static inline void cuda_check_cublas(cublasStatus_t s, const char *what, const char *file, int line) {
    if (s != CUBLAS_STATUS_SUCCESS) sgd_panic("%s:%d: %s: %s", file, line, what, cublas.status_string(s));
}
static inline void cuda_check_cudnn(cudnnStatus_t s, const char *what, const char *file, int line) {
    if (s != CUDNN_STATUS_SUCCESS) sgd_panic("%s:%d: %s: %s", file, line, what, cudnnGetErrorString(s));
}

// The one stream every kernel, copy and library call of the backend goes to: its order is the step's
// order, so no call needs a sync to see the one before, and a graph can capture the whole stream.
cudaStream_t cuda_stream(void);
cublasHandle_t cuda_cublas(void);
cudnnHandle_t cuda_cudnn(void);
bool cuda_reference_math(void);
// A device buffer of at least `bytes` for cuDNN; never freed while the program runs (a captured graph
// may still point at it), so a bigger request allocates a new one.
void *cuda_workspace(size_t bytes);
// Copy host bytes to device memory in stream order (through pinned step memory; see runtime.cu).
void cuda_upload(void *device_dst, const void *host_src, size_t bytes);

// Grid-stride launches: enough blocks to fill the GPU, each thread walking i, i + stride, ...
enum { THREADS = 256 };
static inline unsigned blocks_for(size_t n) {
    size_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 1 ? 1 : b > 4096 ? 4096 : b);
}
#define GRID_STRIDE_LOOP(i, n)                                                                               \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                                  \
         i += (size_t)gridDim.x * blockDim.x)

// The sums of a and b over the block (THREADS threads), valid in thread 0. Double: a channel's sum
// over a batch of 64 pictures at 224 px is 3 million terms.
__device__ inline void block_sum2(double *a, double *b) {
    __shared__ double sa[THREADS / 32], sb[THREADS / 32];
    double x = *a, y = *b;
    for (int off = 16; off > 0; off /= 2) {
        x += __shfl_down_sync(0xffffffffu, x, off);
        y += __shfl_down_sync(0xffffffffu, y, off);
    }
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) sa[warp] = x, sb[warp] = y;
    __syncthreads();
    if (warp == 0) {
        x = lane < THREADS / 32 ? sa[lane] : 0.0;
        y = lane < THREADS / 32 ? sb[lane] : 0.0;
        for (int off = 16; off > 0; off /= 2) {
            x += __shfl_down_sync(0xffffffffu, x, off);
            y += __shfl_down_sync(0xffffffffu, y, off);
        }
    }
    *a = x, *b = y;
}

#endif
