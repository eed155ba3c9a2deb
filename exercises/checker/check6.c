// Exercise 6: conv2d's backward with respect to the weights, as loops.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv.h"
#include "exercises.h"
#include "verdict.h"

#define EARLIER 0.5f // what dw held before: backward must add to it

typedef struct {
    const float *x, *w, *dout;
    const ConvShape *s;
    float *out;
} Conv;

// loss = sum dout * conv(x, w): linear in w, so d loss / d w = the weight gradient for this dout.
static double weighted_conv(void *ctx) {
    const Conv *c = ctx;
    conv2d_forward_naive(c->out, c->x, c->w, NULL, c->s);
    double sum = 0;
    size_t n = (size_t)c->s->N * c->s->OC * c->s->OH * c->s->OW;
    for (size_t i = 0; i < n; i++) sum += (double)c->dout[i] * c->out[i];
    return sum;
}

// The weight gradient the reference gives for a (possibly wrong) reading of the shape, plus EARLIER.
static double *reference(const float *dout, const float *x, const ConvShape *s, size_t n_w) {
    float *dw = calloc(n_w, sizeof(float));
    conv2d_backward_naive(NULL, dw, NULL, dout, x, NULL, s);
    double *out = scratch(n_w);
    for (size_t i = 0; i < n_w; i++) out[i] = EARLIER + dw[i];
    free(dw);
    return out;
}

bool check_exercise_6(Rng *rng) {
    ConvShape s =
        conv_shape(2, 2, 6, 5, 3, 3, 3, 2, 1); // 2 images, 2 -> 3 channels, 3x3, stride 2, padding 1
    size_t n_x = (size_t)s.N * s.C * s.H * s.W, n_w = (size_t)s.OC * s.C * s.KH * s.KW,
           n_out = (size_t)s.N * s.OC * s.OH * s.OW;
    printf("exercise 6: conv2d's weight gradient, x (%d,%d,%d,%d), w (%d,%d,%d,%d), stride %d, padding %d, "
           "against finite differences\n",
           s.N, s.C, s.H, s.W, s.OC, s.C, s.KH, s.KW, s.stride, s.padding);
    // x sits between two guard zones of NaN: a read outside the image shows up as nan, not as a crash.
    float *x_guarded = random_floats(3 * n_x, 0, 0, rng), *x = x_guarded + n_x;
    for (size_t i = 0; i < n_x; i++) x_guarded[i] = x_guarded[2 * n_x + i] = NAN;
    for (size_t i = 0; i < n_x; i++) x[i] = 2 * rng_uniform(rng) - 1;
    float *w = random_floats(n_w, -1, 1, rng), *dout = random_floats(n_out, -1, 1, rng),
          *out = random_floats(n_out, 0, 0, rng), *dw = random_floats(n_w, EARLIER, EARLIER, rng);
    Conv c = {x, w, dout, &s, out};
    double *fd = scratch(n_w);
    finite_differences(fd, w, n_w, weighted_conv, &c, 0.5);

    my_conv2d_weight_grad(dw, dout, x, &s);

    ConvShape no_stride = s, no_padding = s, one_image = s;
    no_stride.stride = 1, no_padding.padding = 0, one_image.N = 1;
    Mistake slips[] = {
        {plus(scratch(n_w), n_w, EARLIER), "nothing was added into dw: the blank is still empty."},
        {fd,
         "dw was overwritten instead of added to: backward adds (+=), and this weight meets many pixels."},
        {reference(dout, x, &no_stride, n_w), "the stride is missing: output pixel (i, j) reads input row "
                                              "i * stride - padding + kh, not i - padding + kh."},
        {reference(dout, x, &no_padding, n_w), "the padding is missing: output pixel (i, j) reads input row "
                                               "i * stride - padding + kh; the padding shifts every tap."},
        {reference(dout, x, &one_image, n_w), "only the first image counted: the same weights are used on "
                                              "every image of the batch, so their gradient sums over n too."},
        {plus(scaled(fd, n_w, -1), n_w, EARLIER), "the sign is flipped."},
    };
    bool ok = verdict(&(Layout){"dw", 4, {s.OC, s.C, s.KH, s.KW}}, dw, plus(fd, n_w, EARLIER), slips, 6);
    if (ok)
        printf("  You just wrote how a convolution's weights learn: each weight's gradient is the sum, over "
               "every image and every place the kernel visited, of input pixel times output gradient. conv.c "
               "computes the same sums as one matrix product (im2col + sgemm).\n");
    return ok;
}
