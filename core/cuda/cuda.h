// cuda.h — the CUDA backend: the same ops as the CPU files, on tensors whose data live on the GPU.
//
// Read the CPU op first (core/conv.c, core/batchnorm.c, core/layers.c, core/optim.c), then its twin here:
//     core/cuda/runtime.cu   the device, checked calls, device tensors, the device step arena, copies, graphs
//     core/cuda/ops.cu       batchnorm (+relu, +add+relu), relu, global average pool, linear (cuBLAS),
//                            cross-entropy, SGD and AdamW: forward and backward on the same tape
//     core/cuda/conv.cu      convolution through cuDNN
//     core/cuda/math.cuh     what each kernel computes for one element, as __host__ __device__ functions,
//                            so a CPU-only test checks their index arithmetic against the CPU ops
// A tensor says where it lives (Tensor.device); each op in core looks at its input and, for DEVICE_CUDA,
// calls its twin below. The tape, backward() and the optimiser API are the same for both, so the learner
// trains on the GPU by putting the model and the batch there (state_dict_to, tensor_to) and nothing else.
//
// Built only with the CUDA toolkit (SGDLAB_CUDA, cmake/cuda.cmake). Without it core/cuda/absent.c stands in:
// cuda_init says why there is no GPU, and nothing else can be reached (no tensor is ever on the GPU).
#ifndef SGDLAB_CUDA_H
#define SGDLAB_CUDA_H

#include <stdbool.h>
#include <stddef.h>

#include "layers.h"
#include "optim.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- the device ----
// Open GPU 0 once (stream, cuBLAS and cuDNN handles). false, with why in err, when there is no GPU or
// no driver: the caller says so and stops, it never crashes.
bool cuda_init(char *err, size_t err_size);
// The name of the opened GPU ("NVIDIA H200"), or "" before cuda_init.
const char *cuda_device_name(void);
// TF32 tensor cores for fp32 convolutions and products (on by default: 10 mantissa bits in the
// products, fp32 sums). Off plus exact conv algorithms (no Winograd/FFT) for parity tests.
void cuda_set_reference_math(bool reference);
// Wait for every queued kernel (the host then sees their results); nothing to wait for before cuda_init.
void cuda_synchronize(void);

// ---- memory ----
// n zeroed floats of device memory (cudaMalloc: tensor_zeros_on(DEVICE_CUDA, ...) uses it), and back.
float *cuda_alloc_zeros(size_t n);
void cuda_free(void *device_ptr);
// Step memory on the device: a device arena rewound by tape_reset() (cuda_step_reset), so a training
// step allocates nothing once the first one has run. step_tensor_on(DEVICE_CUDA, ...) takes from it.
void *cuda_step_alloc(size_t bytes);
void cuda_step_reset(void);
size_t cuda_step_memory_reserved(void);
// Copies of n floats between host and device in any direction, in stream order. Host to device goes
// through a pinned staging buffer (the copy engine reads pinned memory directly); device to host waits.
void cuda_copy(float *dst, Device dst_device, const float *src, Device src_device, size_t n);
void cuda_zero(float *p, size_t n); // p[0..n) = 0
void cuda_add_one(float *p);        // p[0] += 1 (backward's seed d loss / d loss)

// ---- ops: each the twin of the core op of the same name, called by it for a CUDA input ----
Tensor *cuda_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int padding);
Tensor *cuda_batchnorm(Tensor *x, const BatchNorm2d *bn, bool training, bool fused_relu, Tensor *skip);
Tensor *cuda_relu(Tensor *x);
Tensor *cuda_add_relu(Tensor *a, Tensor *b);
Tensor *cuda_global_avg_pool(Tensor *x);
Tensor *cuda_linear(Tensor *x, Tensor *w, Tensor *b);
Tensor *cuda_cross_entropy(Tensor *logits, const int *labels);
void cuda_sgd_update(float *w, const float *g, float *buf, size_t n, float lr, float momentum, float wd);
void cuda_adamw_update(float *w, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                       float beta2, float eps, float wd, float correct1, float correct2);

// ---- CUDA graphs: a whole step recorded once, replayed with one launch ----
// A step of this model is ~150 small kernels; launching each costs microseconds of CPU time, which is
// what bounds PyTorch's eager mode here. Recorded into a graph, the step's kernels launch as one.
// Only device work is replayed: the same kernels, the same pointers (the step arena hands out the same
// addresses every step), the same kernel arguments (a constant lr: bench-bearnet's SGD).
typedef struct CudaGraph CudaGraph;
// The first cuda_graph_run runs step(ctx) eagerly (cuDNN picks its algorithms, the arenas grow); the
// second records it into a graph and launches that; every later one only launches it.
CudaGraph *cuda_graph_new(void (*step)(void *ctx), void *ctx);
void cuda_graph_run(CudaGraph *g);
bool cuda_graph_captured(const CudaGraph *g);
void cuda_graph_free(CudaGraph *g);

#ifdef __cplusplus
}
#endif

#endif
