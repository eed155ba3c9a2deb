// conv_fast.h — the machine-specific convolution kernels behind core/conv.c: "take this shape or
// decline it". conv.c calls these first and computes whatever they decline by im2col + sgemm, so a
// build without them (no AVX-512: the file is not compiled in, and the stubs below decline everything)
// gives the same numbers, only slower.
#ifndef SGDLAB_CONV_FAST_H
#define SGDLAB_CONV_FAST_H

#include <stdbool.h>

#include "conv.h"

#ifdef SGDLAB_CONV_AVX512
// out = conv(x, w) for the whole batch on `threads` threads, without bias (conv.c adds it). False,
// with nothing written, when the shape is not one the fast path takes.
bool conv2d_fast_forward(float *out, const float *x, const float *w, const ConvShape *s, int threads);
// The backward products the fast path takes: dW into dws (threads partial sums of OC*C*KH*KW, added up
// by conv.c; NULL when dW is not wanted) and dX into dx (NULL when not wanted). *did_dw and *did_dx say
// which it computed; conv.c does the rest.
void conv2d_fast_backward(float *dx, float *dws, const float *dout, const float *x, const float *w,
                          const ConvShape *s, int threads, bool overwrite_dx, bool *did_dw, bool *did_dx);
#else
static inline bool conv2d_fast_forward(float *out, const float *x, const float *w, const ConvShape *s,
                                       int threads) {
    return false;
}
static inline void conv2d_fast_backward(float *dx, float *dws, const float *dout, const float *x,
                                        const float *w, const ConvShape *s, int threads, bool overwrite_dx,
                                        bool *did_dw, bool *did_dx) {
    *did_dw = *did_dx = false;
}
#endif

#endif
