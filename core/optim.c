// optim.c — SGD (momentum, L2 weight decay) and AdamW (decoupled weight decay, bias correction).
// Read first: autograd.c (the gradients these steps use).
#include "optim.h"

#include <math.h>
#include <stdlib.h>

#include "autograd.h"
#include "cuda/cuda.h"

enum { PARALLEL_MIN = 1 << 16 };

// One zeroed buffer per parameter, the parameter's size, on the parameter's device: allocated once,
// reused every step.
static float **state_buffers(Tensor *const *params, int n) {
    float **s = sgd_calloc((size_t)n, sizeof(float *));
    for (int k = 0; k < n; k++)
        s[k] = params[k]->device == DEVICE_CUDA ? cuda_alloc_zeros(params[k]->numel)
                                                : sgd_calloc(params[k]->numel, sizeof(float));
    return s;
}

static void free_state(const Tensor *p, float *state) {
    if (p->device == DEVICE_CUDA)
        cuda_free(state);
    else
        free(state);
}

static Optimizer *optimizer_new(OptimizerKind kind, Tensor *const *params, int n_params) {
    Optimizer *opt = sgd_calloc(1, sizeof(Optimizer));
    opt->kind = kind;
    opt->n_params = n_params;
    opt->params = sgd_calloc((size_t)n_params, sizeof(Tensor *));
    for (int k = 0; k < n_params; k++) opt->params[k] = params[k];
    opt->state1 = state_buffers(params, n_params);
    return opt;
}

Optimizer *sgd_create(Tensor *const *params, int n_params, float lr, float momentum, float weight_decay) {
    // The momentum buffer exists even at momentum 0, so a schedule may turn momentum on later.
    Optimizer *opt = optimizer_new(OPTIM_SGD, params, n_params);
    opt->lr = lr, opt->momentum = momentum, opt->weight_decay = weight_decay;
    return opt;
}

Optimizer *adamw_create(Tensor *const *params, int n_params, float lr, float beta1, float beta2, float eps,
                        float weight_decay) {
    Optimizer *opt = optimizer_new(OPTIM_ADAMW, params, n_params);
    opt->state2 = state_buffers(params, n_params);
    opt->lr = lr, opt->momentum = beta1, opt->beta2 = beta2, opt->eps = eps, opt->weight_decay = weight_decay;
    return opt;
}

// g += wd * w;  buf = momentum * buf + g;  w -= lr * buf
static void sgd_update(const Optimizer *opt, float *w, const float *g, float *buf, size_t n) {
    float lr = opt->lr, mom = opt->momentum, wd = opt->weight_decay;
#pragma omp parallel for if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float grad = g[i] + wd * w[i];
        buf[i] = mom * buf[i] + grad;
        w[i] -= lr * buf[i];
    }
}

// 1 - beta^t: how far a running mean that started at 0 still is from its full weight after t steps
static float bias_correction(float beta, int t) {
    return (float)(1.0 - pow(beta, t));
}

// w -= lr * wd * w;  m, v = running means of g, g^2;  w -= lr * m_hat / (sqrt(v_hat) + eps)
static void adamw_update(const Optimizer *opt, float *w, const float *g, float *m, float *v, size_t n) {
    float lr = opt->lr, b1 = opt->momentum, b2 = opt->beta2, eps = opt->eps, wd = opt->weight_decay;
    float correct1 = bias_correction(b1, opt->t), correct2 = bias_correction(b2, opt->t);
#pragma omp parallel for if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        w[i] -= lr * wd * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr * (m[i] / correct1) / (sqrtf(v[i] / correct2) + eps);
    }
}

void optimizer_step(Optimizer *opt) {
    // The update changes parameters in place; it is not part of the model, so nothing is recorded.
    bool previous = set_grad_enabled(false);
    opt->t++;
    for (int k = 0; k < opt->n_params; k++) {
        Tensor *p = opt->params[k];
        if (!p->grad) continue; // no gradient reached it (e.g. a frozen layer)
        if (p->device == DEVICE_CUDA &&
            opt->kind == OPTIM_SGD) // the same updates as kernels: core/cuda/ops.cu
            cuda_sgd_update(p->data, p->grad->data, opt->state1[k], p->numel, opt->lr, opt->momentum,
                            opt->weight_decay);
        else if (p->device == DEVICE_CUDA)
            cuda_adamw_update(p->data, p->grad->data, opt->state1[k], opt->state2[k], p->numel, opt->lr,
                              opt->momentum, opt->beta2, opt->eps, opt->weight_decay,
                              bias_correction(opt->momentum, opt->t), bias_correction(opt->beta2, opt->t));
        else if (opt->kind == OPTIM_SGD)
            sgd_update(opt, p->data, p->grad->data, opt->state1[k], p->numel);
        else
            adamw_update(opt, p->data, p->grad->data, opt->state1[k], opt->state2[k], p->numel);
        tensor_changed(p);
    }
    set_grad_enabled(previous);
}

void optimizer_zero_grad(Optimizer *opt) {
    zero_grad(opt->params, opt->n_params);
}

void optimizer_free(Optimizer *opt) {
    if (!opt) return;
    for (int k = 0; k < opt->n_params; k++) {
        free_state(opt->params[k], opt->state1[k]);
        if (opt->state2) free_state(opt->params[k], opt->state2[k]);
    }
    free(opt->state1), free(opt->state2), free(opt->params), free(opt);
}
