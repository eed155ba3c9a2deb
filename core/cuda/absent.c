// absent.c — the CUDA backend of a build without the CUDA toolkit (cmake/cuda.cmake compiles this file
// instead of the .cu files). cuda_init says why there is no GPU; the rest cannot be reached, since no
// tensor can be on the GPU without it, and says so if it ever is.
#include <stdio.h>

#include "cuda.h"

static _Noreturn void absent(const char *what) {
    sgd_panic("%s: this build has no CUDA backend", what);
}

bool cuda_init(char *err, size_t err_size) {
    snprintf(err, err_size,
             "this build has no CUDA backend (the CUDA toolkit was not found when it was configured; "
             "rebuild with -DSGDLAB_CUDA=ON where nvcc, cuBLAS and cuDNN are installed)");
    return false;
}
const char *cuda_device_name(void) {
    return "";
}
void cuda_set_reference_math(bool reference) {}
void cuda_synchronize(void) {}
void cuda_step_reset(void) {}
size_t cuda_step_memory_reserved(void) {
    return 0;
}

float *cuda_alloc_zeros(size_t n) {
    absent("cuda_alloc_zeros");
}
void cuda_free(void *device_ptr) {
    absent("cuda_free");
}
void *cuda_step_alloc(size_t bytes) {
    absent("cuda_step_alloc");
}
void cuda_copy(float *dst, Device dst_device, const float *src, Device src_device, size_t n) {
    absent("cuda_copy");
}
void cuda_zero(float *p, size_t n) {
    absent("cuda_zero");
}
void cuda_add_one(float *p) {
    absent("cuda_add_one");
}
Tensor *cuda_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int padding) {
    absent("conv2d");
}
Tensor *cuda_batchnorm(Tensor *x, const BatchNorm2d *bn, bool training, bool fused_relu, Tensor *skip) {
    absent("batchnorm2d");
}
Tensor *cuda_relu(Tensor *x) {
    absent("relu");
}
Tensor *cuda_add_relu(Tensor *a, Tensor *b) {
    absent("add_relu");
}
Tensor *cuda_global_avg_pool(Tensor *x) {
    absent("global_avg_pool");
}
Tensor *cuda_linear(Tensor *x, Tensor *w, Tensor *b) {
    absent("linear");
}
Tensor *cuda_cross_entropy(Tensor *logits, const int *labels) {
    absent("cross_entropy");
}
void cuda_sgd_update(float *w, const float *g, float *buf, size_t n, float lr, float momentum, float wd) {
    absent("sgd");
}
void cuda_adamw_update(float *w, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                       float beta2, float eps, float wd, float correct1, float correct2) {
    absent("adamw");
}
CudaGraph *cuda_graph_new(void (*step)(void *ctx), void *ctx) {
    absent("cuda_graph_new");
}
void cuda_graph_run(CudaGraph *g) {
    absent("cuda_graph_run");
}
bool cuda_graph_captured(const CudaGraph *g) {
    return false;
}
void cuda_graph_free(CudaGraph *g) {}
