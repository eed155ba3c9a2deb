// test_bearnet_folded — inference with batchnorm folded into the convs (core/bearnet_eval.c) answers
// as the layer-by-layer eval forward does, and a change to the weights is never answered from the old
// folded copy. Also the conv epilogue (bias, residual skip, relu) against the naive conv, on shapes the
// fast path takes and on shapes it declines.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "bearnet.h"
#include "check.h"
#include "conv.h"
#include "optim.h"

// Batchnorm parameters and statistics away from their initial 1/0, so that folding them changes the
// weights (with weight 1, bias 0, mean 0, var 1 the fold is nearly the identity and proves little).
static void randomise_batchnorms(BearNet *m, Rng *rng) {
    for (int i = 0; i < m->sd.n_state; i++) {
        const char *name = m->sd.names[i];
        Tensor *t = m->sd.state[i];
        if (!strstr(name, "bn.") && !strstr(name, "bn1.") && !strstr(name, "bn2.")) continue;
        bool var = strstr(name, "running_var") != NULL, weight = strstr(name, ".weight") != NULL;
        for (size_t k = 0; k < t->numel; k++)
            t->data[k] = var      ? 0.2f + 2.0f * rng_uniform(rng)
                         : weight ? 0.5f + rng_uniform(rng)
                                  : rng_uniform(rng) - 0.5f;
        tensor_changed(t);
    }
}

// The eval forward (or the features before fc) layer by layer (grad on: the tape path) and folded
// (grad off), on the same x.
static float *eval_pass(BearNet *m, Tensor *x, bool folded, bool features) {
    bool was = set_grad_enabled(!folded);
    m->training = false;
    Tensor *y = features ? bearnet_features(m, x) : bearnet_forward(m, x);
    float *out = malloc(sizeof(float) * y->numel);
    memcpy(out, y->data, sizeof(float) * y->numel);
    tape_reset();
    set_grad_enabled(was);
    return out;
}

static float *eval_logits(BearNet *m, Tensor *x, bool folded) {
    return eval_pass(m, x, folded, false);
}

// Folded and plain agree within 1e-5 (of the logits' scale, when it is above 1) at batch 1 and 3 and at
// several sizes (one image goes straight into the output with the epilogue, a group of them through
// one more pass).
static void test_folded_equals_plain(void) {
    Rng rng;
    rng_seed(&rng, 7, 0);
    BearNet *m = bearnet_new(3, &rng);
    randomise_batchnorms(m, &rng);
    // batch 1 on one thread is `bears serve`'s case; on more threads they split the pixels
    int threads_before = omp_get_max_threads();
    const int sizes[] = {24, 40, 64}, batches[] = {1, 1, 3}, threads[] = {1, 2, 2};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            int S = sizes[a], N = batches[b];
            omp_set_num_threads(threads[b]);
            Tensor *x = tensor_normal(SHAPE(N, 3, S, S), 0, 1, &rng);
            float *plain = eval_logits(m, x, false), *folded = eval_logits(m, x, true), scale;
            float d = max_abs_diff(plain, folded, (size_t)N * 3, &scale);
            printf("%dx%d batch %d, %d threads: max |logit| %.3f, folded vs plain %.2e\n", S, S, N,
                   threads[b], scale, d);
            CHECK(scale > 0.1f,
                  "the logits are not all near zero (max %g), so the comparison means something", scale);
            CHECK(d <= 1e-5f * fmaxf(1.0f, scale), "%dx%d batch %d: folded differs from plain by %g", S, S, N,
                  d);
            free(plain), free(folded);
            // the features the cleaner compares (bearnet_features) take the folded pass too
            plain = eval_pass(m, x, false, true), folded = eval_pass(m, x, true, true);
            d = max_abs_diff(plain, folded, (size_t)N * BEARNET_FEATURES, &scale);
            CHECK(scale > 0.1f && d <= 1e-5f * fmaxf(1.0f, scale),
                  "%dx%d batch %d: folded features off by %g (max %g)", S, S, N, d, scale);
            free(plain), free(folded);
            tensor_free(x);
        }
    omp_set_num_threads(threads_before);
    bearnet_free(m);
}

// After a folded forward, each way the weights change (a write with tensor_changed, an optimiser step,
// the running statistics of a training forward) makes the next folded forward follow.
static void test_changes_invalidate(void) {
    Rng rng;
    rng_seed(&rng, 8, 0);
    BearNet *m = bearnet_new(3, &rng);
    randomise_batchnorms(m, &rng);
    Tensor *x = tensor_normal(SHAPE(2, 3, 32, 32), 0, 1, &rng);
    float *before = eval_logits(m, x, true); // builds the folded copy

    // 1. a conv weight written by hand
    for (size_t k = 0; k < m->layer[3].conv2->numel; k++) m->layer[3].conv2->data[k] *= 1.5f;
    tensor_changed(m->layer[3].conv2);
    float *plain = eval_logits(m, x, false), *folded = eval_logits(m, x, true);
    CHECK(max_abs_diff(plain, before, 6, NULL) > 1e-3f, "the write moved the plain logits (by %g)",
          max_abs_diff(plain, before, 6, NULL));
    CHECK(max_abs_diff(plain, folded, 6, NULL) <= 1e-5f,
          "after a written weight, folded follows plain (off by %g)", max_abs_diff(plain, folded, 6, NULL));
    free(plain), free(before);
    before = folded;

    // 2. one SGD step (training mode, the tape), then eval again
    Optimizer *opt = sgd_create(m->sd.params, m->sd.n_params, 0.1f, 0.0f, 0.0f);
    int labels[2] = {0, 2};
    m->training = true;
    backward(cross_entropy(bearnet_forward(m, x), labels));
    optimizer_step(opt);
    optimizer_zero_grad(opt);
    tape_reset();
    plain = eval_logits(m, x, false), folded = eval_logits(m, x, true);
    CHECK(max_abs_diff(plain, before, 6, NULL) > 1e-4f, "the step moved the plain logits (by %g)",
          max_abs_diff(plain, before, 6, NULL));
    CHECK(max_abs_diff(plain, folded, 6, NULL) <= 1e-5f,
          "after an optimiser step, folded follows plain (off by %g)", max_abs_diff(plain, folded, 6, NULL));
    free(plain), free(before);
    before = folded;

    // 3. a training forward alone: only the batchnorms' running statistics move
    m->training = true;
    bool was = set_grad_enabled(false);
    bearnet_forward(m, x);
    tape_reset();
    set_grad_enabled(was);
    plain = eval_logits(m, x, false), folded = eval_logits(m, x, true);
    CHECK(max_abs_diff(plain, before, 6, NULL) > 1e-5f,
          "the running statistics moved the plain logits (by %g)", max_abs_diff(plain, before, 6, NULL));
    CHECK(max_abs_diff(plain, folded, 6, NULL) <= 1e-5f,
          "after new running statistics, folded follows plain (off by %g)",
          max_abs_diff(plain, folded, 6, NULL));
    free(plain), free(before), free(folded);
    optimizer_free(opt);
    tensor_free(x);
    bearnet_free(m);
}

// conv2d_forward_fused with bias, skip and relu vs the naive conv and the epilogue written out here,
// on `threads` threads.
static void check_epilogue(int N, int C, int H, int W, int OC, int K, int stride, int threads, Rng *rng) {
    int pad = K / 2, threads_before = omp_get_max_threads();
    ConvShape s = conv_shape(N, C, H, W, OC, K, K, stride, pad);
    size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * C * K * K, ny = (size_t)N * OC * s.OH * s.OW;
    Tensor *x = tensor_normal(SHAPE((int)nx), 0, 1, rng), *w = tensor_normal(SHAPE((int)nw), 0, 0.3f, rng);
    Tensor *b = tensor_normal(SHAPE(OC), 0, 1, rng), *skip = tensor_normal(SHAPE((int)ny), 0, 1, rng);
    float *ref = malloc(sizeof(float) * ny), *got = malloc(sizeof(float) * ny);
    conv2d_forward_naive(ref, x->data, w->data, b->data, &s);
    size_t negative = 0;
    for (size_t i = 0; i < ny; i++) {
        ref[i] += skip->data[i];
        negative += ref[i] < 0;
        ref[i] = ref[i] > 0 ? ref[i] : 0;
    }
    float *packed = conv2d_pack(w->data, OC, C, K, K); // NULL without the fast path
    omp_set_num_threads(threads);
    conv2d_forward_fused(got, x->data, w->data, packed, &(ConvEpilogue){b->data, skip->data, true, NULL}, &s);
    omp_set_num_threads(threads_before);
    tape_reset();
    float scale, d = max_abs_diff(ref, got, ny, &scale);
    CHECK(negative > ny / 10, "N=%d C=%d %dx%d OC=%d %dx%d/%d: the relu clipped %zu of %zu values", N, C, H,
          W, OC, K, K, stride, negative, ny);
    CHECK(d <= 1e-5f * scale, "N=%d C=%d %dx%d OC=%d %dx%d/%d, %d threads: fused epilogue off by %g (max %g)",
          N, C, H, W, OC, K, K, stride, threads, d, scale);
    free(packed), free(ref), free(got);
    tensor_free(x), tensor_free(w), tensor_free(b), tensor_free(skip);
}

static void test_conv_epilogue(void) {
    Rng rng;
    rng_seed(&rng, 9, 0);
    check_epilogue(1, 16, 20, 20, 16, 3, 1, 1, &rng); // 400 pixels: a partial block of columns
    check_epilogue(3, 16, 12, 12, 32, 3, 2, 1, &rng); // a group of images, stride 2
    check_epilogue(1, 32, 16, 16, 64, 1, 2, 1, &rng); // a 1x1 shortcut
    check_epilogue(2, 64, 8, 8, 128, 3, 1, 1, &rng);  // K sliced in the panel (AVX2's slices)
    check_epilogue(2, 96, 8, 8, 32, 3, 1, 1, &rng);   // K = 864: two slices on AVX-512 too
    check_epilogue(1, 4, 9, 9, 12, 3, 1, 1, &rng);    // 12 channels, odd size: the fast path declines
}

// Batch 1 on 2 and 3 threads: they split the image's pixels in runs of whole vectors, each filling its
// own masks and the phase rows under it (core/cpu/implicit.c). Odd shapes, where an off-by-one in those
// splits would show: one-row planes, runs that end inside a row, a plane of fewer vectors than
// threads, channel counts that are not multiples of 16, and K in slices of unequal length.
static void test_batch1_threads(void) {
    Rng rng;
    rng_seed(&rng, 10, 0);
    for (int threads = 2; threads <= 3; threads++) {
        check_epilogue(1, 19, 1, 37, 24, 3, 1, threads, &rng);   // one row of 37 pixels (3 vectors)
        check_epilogue(1, 8, 2, 70, 8, 3, 2, threads, &rng);     // stride 2 down to one row; 8 rows
        check_epilogue(1, 24, 6, 6, 16, 1, 2, threads, &rng);    // 3x3 = 9 pixels: one vector
        check_epilogue(1, 40, 9, 13, 32, 3, 1, threads, &rng);   // K = 360: three slices on AVX2
        check_epilogue(1, 19, 20, 22, 24, 3, 2, threads, &rng);  // K = 171: slices of 86 and 85
        check_epilogue(1, 87, 9, 13, 32, 3, 1, threads, &rng);   // K = 783: 392 + 391 on AVX-512
        check_epilogue(1, 3, 34, 30, 16, 3, 1, threads, &rng);   // the stem's shape, odd sides
        check_epilogue(1, 64, 16, 16, 128, 3, 2, threads, &rng); // bearnet-s's layer 4 at 64 px
    }
}

int main(void) {
    test_folded_equals_plain();
    test_changes_invalidate();
    test_conv_epilogue();
    test_batch1_threads();
    return check_done("test_bearnet_folded");
}
