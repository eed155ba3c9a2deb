// layer_loops.h — the small loops layers.c and batchnorm.c share (internal to core): relu of one value,
// wide plane sums, whether a tensor wants a gradient, and batchnorm's per-channel moments, which the
// fast conv (cpu/implicit.c) can gather for the batchnorm after it.
#ifndef SGDLAB_LAYER_LOOPS_H
#define SGDLAB_LAYER_LOOPS_H

#include <stdbool.h>
#include <stddef.h>

#include "layers.h"
#include "tensor.h"

// Element-wise loops smaller than this stay on one thread: waking the team costs more.
#define PARALLEL_MIN 32768

// max(v, 0) as a compare and select: fmaxf would be a library call inside these loops. A NaN goes
// through, as in PyTorch: a damaged weight must show in the loss, not vanish at the first ReLU.
static inline float relu1(float v) {
    return v < 0.0f ? 0.0f : v;
}

// Plane reductions keep SUM_LANES partial sums (4 AVX-512 vectors): with one vector of partial
// sums every add waits for the previous one (4 cycles), slower than L2/L3 deliver the data.
enum { SUM_LANES = 64 };

static inline float lanes_total(const float *acc) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < SUM_LANES; j++) s += acc[j];
    return s;
}

static inline float plane_sum(const float *x, size_t n) {
    float acc[SUM_LANES] = {0}, s = 0;
    size_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
#pragma omp simd
        for (int j = 0; j < SUM_LANES; j++) acc[j] += x[i + j];
    for (; i < n; i++) s += x[i];
    return s + lanes_total(acc);
}

static inline bool wants_grad(const Tensor *t) {
    return t && t->requires_grad;
}

// Filling the ChannelMoments of layers.h: by the fast conv (cpu/implicit.c) or batchnorm.c itself.

// Room for `blocks` blocks of C channels, from the step arena (planes left for the caller to fill).
void channel_moments_init(ChannelMoments *mo, int blocks, int C);
// Block b's moments of channel c: `planes` planes of n values, plane p at x + p*stride, about centre
// (any value near their mean: a block more than 4 of its std off is summed again about its own).
void channel_moments(ChannelMoments *mo, int b, int c, const float *x, size_t stride, int planes, size_t n,
                     float centre);

#endif
