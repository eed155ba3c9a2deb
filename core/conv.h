// conv.h — 2-D convolution kernels on plain float arrays (the tape op conv2d() is in layers.h).
//
// Two implementations of the same maths, the llm.c way:
//   * conv2d_forward / conv2d_backward: the fast path, im2col + cblas_sgemm (and on AVX-512 or AVX2
//     CPUs, for the convs bearnet-s uses, the same products with im2col left implicit);
//   * conv2d_forward_naive / conv2d_backward_naive: seven nested loops straight from the
//     definition, slow and obviously right: the reference the tests compare the fast path with.
//
// The definition, for image n, output channel o, output pixel (i, j):
//     out[n,o,i,j] = b[o] + sum over c, kh, kw of w[o,c,kh,kw] * x[n, c, i*stride-pad+kh, j*stride-pad+kw]
// with x read as 0 outside the image (zero padding).
#ifndef SGDLAB_CONV_H
#define SGDLAB_CONV_H

#include <stdbool.h>

typedef struct {
    int N, C, H, W; // input (N,C,H,W)
    int OC, KH, KW; // weight (OC,C,KH,KW)
    int stride, padding;
    int OH, OW; // output (N,OC,OH,OW)
} ConvShape;

// Fills in OH and OW; panics on a kernel larger than the padded input or a stride < 1.
ConvShape conv_shape(int N, int C, int H, int W, int OC, int KH, int KW, int stride, int padding);

// out (N,OC,OH,OW) = conv(x (N,C,H,W), w (OC,C,KH,KW)) + b (OC, or NULL for no bias).
// Scratch memory comes from the step arena (autograd.h), so call these inside a step.
void conv2d_forward(float *out, const float *x, const float *w, const float *b, const ConvShape *s);

// What happens to each output value once its sum is done, for inference with a batchnorm folded into
// the conv (bearnet_infer.c): out = sum + bias[o], + skip at the same place (a residual join), then
// max(0, .) when relu. Any part may be off (NULL, false). With moments, the fast path also gathers each
// channel's moments of out for a training-mode batchnorm after it (layer_loops.h), a block of images at a
// time while they are in cache; moments->blocks stays 0 where it does not.
typedef struct ChannelMoments ChannelMoments;
typedef struct {
    const float *bias, *skip; // skip: (N,OC,OH,OW) like out
    bool relu;
    ChannelMoments *moments;
} ConvEpilogue;
// Does e change any value (NULL, or moments alone, does not)?
static inline bool conv_epilogue_writes(const ConvEpilogue *e) {
    return e && (e->bias || e->skip || e->relu);
}
// w (OC,C,KH,KW) prepared once for many calls of conv2d_forward_fused (inference): the fast path's own
// layout (cpu/conv_fast.h), malloc'd, for free(); NULL when this CPU has no fast path for OC channels.
float *conv2d_pack(const float *w, int OC, int C, int KH, int KW);
// out = epilogue(conv(x, w)); packed: conv2d_pack(w) or NULL (the fast path then packs w in this
// call). The fast path applies the epilogue while the sums are in registers, so out is written once.
void conv2d_forward_fused(float *out, const float *x, const float *w, const float *packed,
                          const ConvEpilogue *e, const ConvShape *s);
// The epilogue as its own pass over N images of OC planes of P pixels (the reference).
void conv_epilogue(float *out, const ConvEpilogue *e, int N, int OC, int P);
void conv2d_forward_naive(float *out, const float *x, const float *w, const float *b, const ConvShape *s);
// Given dout = d loss / d out, add d loss / d x into dx, / d w into dw, / d b into db.
// Any of dx, dw, db may be NULL when that gradient is not wanted. With overwrite_dx the fast
// path writes dx instead of adding to it (dx may then start uninitialised).
void conv2d_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                     const ConvShape *s, bool overwrite_dx);
void conv2d_backward_naive(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                           const ConvShape *s);

// One image: col (C*KH*KW, OH*OW) holds, in row (c,kh,kw), the input pixels that weight
// w[.,c,kh,kw] multiplies, one column per output pixel; col2im adds such a matrix back into dx.
void im2col(float *col, const float *x, const ConvShape *s);
void col2im(float *dx, const float *col, const ConvShape *s);

#endif
