// conv_fast.h — the machine-specific convolution kernels behind core/conv.c: "take this shape or
// decline it". conv.c calls these first and computes whatever they decline by im2col + sgemm, so a
// build without them (a CPU with neither AVX-512 nor AVX2: core/cpu/ is not compiled in, and the stubs
// below decline everything)
// gives the same numbers, only slower.
#ifndef SGDLAB_CONV_FAST_H
#define SGDLAB_CONV_FAST_H

#include <stdbool.h>

#include "conv.h"

#ifdef SGDLAB_CONV_IMPLICIT
// out = epilogue(conv(x, w)) for the whole batch on `threads` threads (e: conv.h; NULL for none). packed
// is w in the fast path's own layout from conv2d_fast_pack, or NULL to have it made in this call. False,
// with nothing written, when the shape is not one the fast path takes.
bool conv2d_fast_forward(float *out, const float *x, const float *w, const float *packed,
                         const ConvEpilogue *e, const ConvShape *s, int threads);
// w (OC,C,KH,KW) in the layout conv2d_fast_forward reads, for a caller that keeps the same weights over
// many calls (inference): malloc'd, the caller frees it. NULL when the fast path takes no conv of OC
// channels.
float *conv2d_fast_pack(const float *w, int OC, int C, int KH, int KW);
// The backward products the fast path takes: dW into dws (threads partial sums of OC*C*KH*KW, added up
// by conv.c; NULL when dW is not wanted) and dX into dx (NULL when not wanted). *did_dw and *did_dx say
// which it computed; conv.c does the rest. One image (threads 1, as conv.c splits batches) is shared
// out over omp_get_max_threads() threads by rows of dW and pixels of dX, the partial sums left at one.
void conv2d_fast_backward(float *dx, float *dws, const float *dout, const float *x, const float *w,
                          const ConvShape *s, int threads, bool overwrite_dx, bool *did_dw, bool *did_dx);
#else
static inline bool conv2d_fast_forward(float *out, const float *x, const float *w, const float *packed,
                                       const ConvEpilogue *e, const ConvShape *s, int threads) {
    return false;
}
static inline float *conv2d_fast_pack(const float *w, int OC, int C, int KH, int KW) {
    return NULL;
}
static inline void conv2d_fast_backward(float *dx, float *dws, const float *dout, const float *x,
                                        const float *w, const ConvShape *s, int threads, bool overwrite_dx,
                                        bool *did_dw, bool *did_dx) {
    *did_dw = *did_dx = false;
}
#endif

#endif
