// Exercise 6 — conv2d's backward with respect to the weights, as loops (conv.c's naive reference).
//
// The forward, for image n, output channel o, output pixel (i, j):
//     out[n,o,i,j] = sum over c, kh, kw of w[o,c,kh,kw] * x[n, c, ih, iw]
//     with ih = i*stride - padding + kh and iw = j*stride - padding + kw,
// and x read as 0 outside the image (zero padding). So each weight w[o,c,kh,kw] met one input
// pixel in every output pixel of every image, and d loss / d w sums x * dout over all of those.
// The layouts: x[n,c,h,w] is x[((n * C + c) * H + h) * W + w]; dout and dw likewise with their own
// sizes (s->N, s->C, s->H, s->W, s->OC, s->KH, s->KW, s->OH, s->OW, s->stride, s->padding).
// Check it: build/bin/check-exercise 6
#include "exercises.h"

void my_conv2d_weight_grad(float *dw, const float *dout, const float *x, const ConvShape *s) {
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->OC; o++)
            for (int i = 0; i < s->OH; i++)
                for (int j = 0; j < s->OW; j++) {
                    float g = dout[(((size_t)n * s->OC + o) * s->OH + i) * s->OW + j];
                    for (int c = 0; c < s->C; c++)
                        for (int kh = 0; kh < s->KH; kh++)
                            for (int kw = 0; kw < s->KW; kw++) {
                                // Which input pixel (ih, iw) did w[o,c,kh,kw] multiply for output (i, j)?
                                // Skip it when it lies in the padding; otherwise add x * g into dw.
                                int ih = i * s->stride - s->padding + kh,
                                    iw = j * s->stride - s->padding + kw;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                                size_t xi = (((size_t)n * s->C + c) * s->H + ih) * s->W + iw;
                                size_t wi = ((size_t)(o * s->C + c) * s->KH + kh) * s->KW + kw;
                                dw[wi] += x[xi] * g;
                            }
                }
}
