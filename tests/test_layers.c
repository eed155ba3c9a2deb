// test_layers.c — every convnet layer: forward maths, gradcheck of backward, and the fast
// convolution (im2col + sgemm) against the naive one, forward and backward.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "check.h"
#include "conv.h"
#include "gradcheck.h"
#include "layers.h"

static Rng rng;

// A random tensor that requires grad (a stand-in for a parameter or an input we differentiate).
static Tensor *param(int rank, const int *shape) {
    Tensor *t = tensor_normal(rank, shape, 0.0f, 1.0f, &rng);
    t->requires_grad = true;
    return t;
}

// ---- a scalar loss from any output: sum(y * r) with fixed random r, so every output number
// gets its own weight and a wrong gradient anywhere shows up.
static float loss_weights[8192];

static void weighted_sum_backward(Node *node) { // dY += dLoss * r
    float g = node->out->grad->data[0];
    float *dy = grad_of(node->in[0]);
    for (size_t i = 0; i < node->in[0]->numel; i++) dy[i] += g * loss_weights[i];
}

static Tensor *weighted_sum(Tensor *y) {
    if (y->numel > sizeof loss_weights / sizeof *loss_weights) sgd_panic("test output too large");
    Tensor *loss = step_tensor(0, NULL);
    double acc = 0;
    for (size_t i = 0; i < y->numel; i++) acc += (double)y->data[i] * loss_weights[i];
    loss->data[0] = (float)acc;
    tape_record("weighted_sum", loss, weighted_sum_backward, 1, &y);
    return loss;
}

static const GradCheckOptions opts = {0};

static void expect_gradcheck(const char *name, LossFn f, Tensor *const *in, int n, void *ctx) {
    CHECK(gradcheck(name, f, in, n, ctx, opts, stdout), "gradcheck %s", name);
}

// ---------------------------------------------------------------------------------------------
// linear

static Tensor *linear_loss(Tensor *const *in, void *ctx) {
    return weighted_sum(linear(in[0], in[1], in[2]));
}

static void test_linear(void) {
    Tensor *x = param(SHAPE(3, 4)), *w = param(SHAPE(5, 4)), *b = param(SHAPE(5));
    // Forward against the definition y[n,o] = b[o] + sum_i x[n,i] w[o,i].
    Tensor *y = linear(x, w, b);
    double worst = 0;
    for (int n = 0; n < 3; n++)
        for (int o = 0; o < 5; o++) {
            double acc = b->data[o];
            for (int i = 0; i < 4; i++) acc += (double)x->data[n * 4 + i] * w->data[o * 4 + i];
            worst = fmax(worst, fabs(acc - y->data[n * 5 + o]));
        }
    CHECK(worst < 1e-5, "linear forward differs from the definition by %g", worst);
    tape_reset();
    expect_gradcheck("linear", linear_loss, (Tensor *[]){x, w, b}, 3, NULL);
    tensor_free(x), tensor_free(w), tensor_free(b);
}

// ---------------------------------------------------------------------------------------------
// convolution: the fast path against the naive one, then gradcheck through the tape op

static void fill_normal(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = rng_normal(&rng);
}

// overwrite: the fast path writes dx over garbage, the naive one adds to zeros.
static void conv_agrees_with_naive(int N, int C, int H, int W, int OC, int K, int stride, int padding,
                                   bool bias, bool overwrite) {
    ConvShape s = conv_shape(N, C, H, W, OC, K, K, stride, padding);
    size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * C * K * K, ny = (size_t)N * OC * s.OH * s.OW;
    float *x = step_alloc(4 * nx), *w = step_alloc(4 * nw), *b = step_alloc(4 * (size_t)OC),
          *dy = step_alloc(4 * ny);
    fill_normal(x, nx), fill_normal(w, nw), fill_normal(b, (size_t)OC), fill_normal(dy, ny);
    float *y_fast = step_alloc(4 * ny), *y_ref = step_alloc(4 * ny);
    conv2d_forward(y_fast, x, w, bias ? b : NULL, &s);
    conv2d_forward_naive(y_ref, x, w, bias ? b : NULL, &s);
    // Gradients start from the same non-zero values, checking that both paths add (+=).
    float *g[2][3];
    for (int v = 0; v < 2; v++) {
        g[v][0] = step_alloc(4 * nx), g[v][1] = step_alloc(4 * nw), g[v][2] = step_alloc(4 * (size_t)OC);
        for (size_t i = 0; i < nx; i++) g[v][0][i] = overwrite ? (v ? 0.0f : 1e30f) : 0.5f;
        for (size_t i = 0; i < nw; i++) g[v][1][i] = 0.5f;
        for (int i = 0; i < OC; i++) g[v][2][i] = 0.5f;
    }
    conv2d_backward(g[0][0], g[0][1], bias ? g[0][2] : NULL, dy, x, w, &s, overwrite);
    conv2d_backward_naive(g[1][0], g[1][1], bias ? g[1][2] : NULL, dy, x, w, &s);
    // Sums of up to C*K*K (forward, dx) or N*OH*OW (dw) products of N(0,1) numbers: float32
    // rounding grows like sqrt(terms) * 1e-7 * |term|, far below 1e-3 for these sizes.
    float tol = 1e-3f;
    float e_y = max_abs_diff(y_fast, y_ref, ny, NULL), e_dx = max_abs_diff(g[0][0], g[1][0], nx, NULL),
          e_dw = max_abs_diff(g[0][1], g[1][1], nw, NULL),
          e_db = max_abs_diff(g[0][2], g[1][2], (size_t)OC, NULL);
    CHECK(e_y < tol && e_dx < tol && e_dw < tol && e_db < tol,
          "conv N%d C%d %dx%d OC%d k%d s%d p%d bias %d: |fast-naive| y %g dx %g dw %g db %g", N, C, H, W, OC,
          K, stride, padding, bias, e_y, e_dx, e_dw, e_db);
    tape_reset();
}

typedef struct {
    int stride, padding;
    bool bias; // inputs are (x, w, b) or (x, w)
} ConvCtx;

static Tensor *conv_loss(Tensor *const *in, void *ctx) {
    const ConvCtx *c = ctx;
    return weighted_sum(conv2d(in[0], in[1], c->bias ? in[2] : NULL, c->stride, c->padding));
}

static void test_conv(void) {
    // The shapes bearnet-s uses (3x3 s1/s2 p1, 1x1 s2 p0), plus odd sizes, non-square images,
    // padding wider than the kernel's reach, a 1x1 s1 conv (which skips im2col), and a batch of 3
    // split over 2 threads.
    conv_agrees_with_naive(3, 3, 8, 8, 4, 3, 1, 1, false, false);
    conv_agrees_with_naive(3, 4, 9, 7, 5, 3, 2, 1, true, false);
    conv_agrees_with_naive(2, 4, 8, 8, 6, 1, 2, 0, false, false);
    conv_agrees_with_naive(2, 3, 6, 5, 2, 1, 1, 0, true, false);
    conv_agrees_with_naive(1, 2, 5, 5, 3, 5, 1, 2, true, false);
    conv_agrees_with_naive(2, 2, 4, 6, 3, 3, 3, 2, false, false);
    conv_agrees_with_naive(2, 1, 7, 7, 2, 3, 1, 0, true, false);
    // On AVX-512 and AVX2, convs whose output has the size of the input's stride phases take the implicit
    // path (masked reads, no im2col), with the register-blocked products where the channels are
    // multiples of 8; the rest stay on im2col + sgemm. 7x7 = 48 + 1 and 5x5 = 16 + 9 pixels
    // leave partial column blocks; 40x40 sums more pixels than one weight-gradient chunk (1024).
    conv_agrees_with_naive(2, 8, 7, 7, 16, 3, 1, 1, false, false);
    conv_agrees_with_naive(3, 8, 5, 5, 8, 3, 1, 1, true, false);
    conv_agrees_with_naive(2, 8, 6, 6, 16, 1, 1, 0, false, false);
    conv_agrees_with_naive(2, 8, 10, 10, 8, 5, 1, 2, false, false);
    conv_agrees_with_naive(2, 3, 40, 40, 5, 3, 1, 1, true, false);
    conv_agrees_with_naive(1, 16, 40, 40, 16, 3, 1, 1, false, true); // batch 1: threads split pixels
    conv_agrees_with_naive(1, 8, 40, 40, 16, 3, 2, 1, true, false);
    conv_agrees_with_naive(1, 8, 20, 20, 8, 1, 2, 0, false, false);
#pragma omp parallel num_threads(2)
#pragma omp single
    conv_agrees_with_naive(1, 16, 40, 40, 16, 3, 1, 1, false, true); // batch 1 inside a parallel region
    // batch 1 with few pixels (at most 256): dW by the forward's product over the pixels, the threads taking
    // 48-column blocks of K: several blocks and a partial one (576, 288, 216 = 4 x 48 + 24, 40), K in two
    // slices (196 pixels), stride 2 and a 1x1 downsample
    conv_agrees_with_naive(1, 64, 7, 7, 32, 3, 1, 1, false, false);
    conv_agrees_with_naive(1, 32, 14, 14, 16, 3, 2, 1, true, true);
    conv_agrees_with_naive(1, 24, 14, 14, 8, 3, 1, 1, false, true);
    conv_agrees_with_naive(1, 40, 10, 10, 16, 1, 2, 0, false, false);
    // 24 or more rows build a panel of col, in equal slices of at most K_BLOCK taps: 160 on AVX2 (K = 288
    // as 2 x 144 and 216 as 2 x 108 here; 360 as 3 x 120 and dX's 40 * 9 = 360 below), 768 on AVX-512
    // (the last three: K = 864 as 2 x 432, 783 as 392 + 391, and dX's 96 * 9 = 864)
    conv_agrees_with_naive(2, 32, 8, 8, 32, 3, 1, 1, false, true);
    conv_agrees_with_naive(2, 24, 8, 8, 32, 3, 2, 1, true, false);
    conv_agrees_with_naive(2, 40, 10, 10, 24, 3, 1, 1, false, true);
    conv_agrees_with_naive(2, 24, 10, 10, 40, 3, 2, 1, true, false);
    conv_agrees_with_naive(2, 96, 6, 6, 16, 3, 1, 1, false, true);
    conv_agrees_with_naive(2, 87, 7, 7, 24, 3, 2, 1, true, false);
    conv_agrees_with_naive(2, 16, 6, 6, 96, 3, 1, 1, false, false);
    // the weight gradient's last tile of channels 6, 4 or 2 wide: 20 = 6+6+6+2, 10 = 6+4, 5 in one
    conv_agrees_with_naive(2, 20, 8, 8, 16, 3, 1, 1, false, false);
    conv_agrees_with_naive(2, 10, 8, 8, 8, 3, 2, 1, true, false);
    conv_agrees_with_naive(3, 5, 12, 12, 8, 3, 1, 1, false, true);
    // ResNet's stem, 7x7 stride 2 padding 3 on 3 channels, and its 1x1 stride-2 downsample
    conv_agrees_with_naive(2, 3, 16, 16, 16, 7, 2, 3, false, false);
    // dW by whole patches (64 output channels, rows of 21 floats): the stem, an odd-sided picture, and 5
    // channels of a 5x5 stride 1
    conv_agrees_with_naive(2, 3, 16, 16, 64, 7, 2, 3, false, false);
    conv_agrees_with_naive(3, 3, 14, 14, 64, 7, 2, 3, false, true);
    conv_agrees_with_naive(2, 5, 9, 9, 64, 5, 1, 2, true, false);
    conv_agrees_with_naive(2, 24, 8, 8, 16, 1, 2, 0, false, true);
    // stride 2: even sides split into 4 phases (a row of 20 = 16 + 4 lanes), 1x1 reading one
    // phase, and stride 3 (the plain loops)
    conv_agrees_with_naive(2, 16, 8, 8, 8, 3, 2, 1, false, false);
    conv_agrees_with_naive(3, 8, 40, 40, 8, 3, 2, 1, true, false);
    conv_agrees_with_naive(3, 8, 40, 40, 8, 3, 2, 1, false, true);
    conv_agrees_with_naive(2, 8, 12, 12, 16, 1, 2, 0, false, true);
    conv_agrees_with_naive(2, 8, 9, 9, 8, 3, 3, 1, false, true);
    conv_agrees_with_naive(2, 8, 9, 9, 8, 3, 3, 1, true, false);
    // phases that no tap reads get no product, only zeros: 1x1 s3 reads 1 of 9, 2x2 s3 4 of 9 (both
    // ways of writing dX, batches and batch 1); stride 5 is past the phase split's limit (col2im dX)
    conv_agrees_with_naive(2, 8, 9, 9, 8, 1, 3, 0, false, true);
    conv_agrees_with_naive(1, 8, 9, 9, 8, 1, 3, 0, false, false);
    conv_agrees_with_naive(2, 8, 12, 12, 8, 2, 3, 0, true, false);
    conv_agrees_with_naive(1, 8, 12, 12, 16, 2, 3, 0, false, true);
    conv_agrees_with_naive(2, 8, 10, 10, 8, 1, 5, 0, false, true);
    // small images in groups, evenly and unevenly split over 2 threads
    conv_agrees_with_naive(6, 16, 4, 4, 8, 3, 1, 1, true, false);
    conv_agrees_with_naive(7, 16, 4, 4, 8, 3, 1, 1, false, true);
    conv_agrees_with_naive(6, 8, 12, 12, 16, 1, 2, 0, false, false);
    conv_agrees_with_naive(5, 16, 8, 8, 16, 3, 2, 1, false, true);
    // not aligned (im2col + sgemm): odd sides with stride 2, no padding, padding past the kernel
    conv_agrees_with_naive(2, 8, 4, 4, 8, 3, 1, 0, true, false);
    conv_agrees_with_naive(2, 8, 9, 11, 16, 3, 2, 1, true, false);
    conv_agrees_with_naive(2, 8, 9, 9, 16, 1, 2, 0, false, true);
    conv_agrees_with_naive(2, 16, 10, 6, 8, 3, 1, 0, false, true);
    conv_agrees_with_naive(2, 3, 12, 12, 16, 5, 2, 2, false, false);
    // Writing dX instead of adding where C is not a multiple of 8 (col2im, 1x1 s1).
    conv_agrees_with_naive(2, 3, 6, 6, 4, 3, 2, 1, false, true);
    conv_agrees_with_naive(2, 3, 6, 6, 4, 1, 1, 0, false, true);

    Tensor *x = param(SHAPE(2, 3, 5, 6)), *w = param(SHAPE(4, 3, 3, 3)), *b = param(SHAPE(4));
    expect_gradcheck("conv2d s1 p1", conv_loss, (Tensor *[]){x, w, b}, 3, &(ConvCtx){1, 1, true});
    expect_gradcheck("conv2d s2 p1", conv_loss, (Tensor *[]){x, w, b}, 3, &(ConvCtx){2, 1, true});
    expect_gradcheck("conv2d s2 p0", conv_loss, (Tensor *[]){x, w, b}, 3, &(ConvCtx){2, 0, true});
    Tensor *x8 = param(SHAPE(2, 8, 4, 5)), *w8 = param(SHAPE(8, 8, 3, 3));
    expect_gradcheck("conv2d 8->8 s1 p1", conv_loss, (Tensor *[]){x8, w8}, 2, &(ConvCtx){1, 1, false});
    tensor_free(x8), tensor_free(w8);
    Tensor *w1 = param(SHAPE(4, 3, 1, 1));
    expect_gradcheck("conv2d 1x1 s2", conv_loss, (Tensor *[]){x, w1}, 2, &(ConvCtx){2, 0, false});
    tensor_free(x), tensor_free(w), tensor_free(b), tensor_free(w1);
}

// ---------------------------------------------------------------------------------------------
// batch normalisation

static BatchNorm2d bn_new(int C) {
    BatchNorm2d bn = {param(SHAPE(C)), param(SHAPE(C)), tensor_zeros(SHAPE(C)), tensor_ones(SHAPE(C))};
    return bn;
}

static void bn_free(BatchNorm2d *bn) {
    tensor_free(bn->weight), tensor_free(bn->bias), tensor_free(bn->running_mean),
        tensor_free(bn->running_var);
}

typedef struct {
    BatchNorm2d *bn;
    bool training, fused_relu;
} BnCtx;

static Tensor *bn_loss(Tensor *const *in, void *ctx) {
    const BnCtx *c = ctx;
    BatchNorm2d bn = *c->bn;
    bn.weight = in[1], bn.bias = in[2];
    return weighted_sum(c->fused_relu ? batchnorm2d_relu(in[0], &bn, c->training)
                                      : batchnorm2d(in[0], &bn, c->training));
}

// A fused op against its unfused composition (fused = false) on the same inputs in[0..n_in):
// the output (x's shape) and every input's gradient must agree. held: the last input's gradient
// starts at 0.25 rather than 0, so the op must add to it.
typedef Tensor *(*FusedPair)(Tensor *const *in, const BatchNorm2d *bn, bool fused);

static Tensor *bn_relu_pair(Tensor *const *in, const BatchNorm2d *bn, bool fused) {
    return fused ? batchnorm2d_relu(in[0], bn, true) : relu(batchnorm2d(in[0], bn, true));
}

static Tensor *bn_add_relu_pair(Tensor *const *in, const BatchNorm2d *bn, bool fused) {
    return fused ? batchnorm2d_add_relu(in[0], bn, in[3], true)
                 : add_relu(batchnorm2d(in[0], bn, true), in[3]);
}

static void expect_fused_matches(const char *what, FusedPair pair, Tensor **in, int n_in,
                                 const BatchNorm2d *bn, bool held) {
    enum { MAX = 128 };
    static float saved[2][5][MAX]; // the output, then each input's gradient
    CHECK(in[0]->numel <= MAX && n_in <= 4, "%s: the saved copies hold 4 inputs of %d numbers", what, MAX);
    for (int fused = 0; fused < 2; fused++) {
        for (int k = 0; k < n_in; k++) zero_grad(&in[k], 1);
        if (held) tensor_fill_(in[n_in - 1]->grad, 0.25f);
        Tensor *out = pair(in, bn, fused);
        memcpy(saved[fused][0], out->data, sizeof(float) * out->numel);
        backward(weighted_sum(out));
        for (int k = 0; k < n_in; k++)
            memcpy(saved[fused][k + 1], in[k]->grad->data, sizeof(float) * in[k]->numel);
        tape_reset();
    }
    for (int k = 0; k <= n_in; k++) {
        float e = max_abs_diff(saved[0][k], saved[1][k], in[k ? k - 1 : 0]->numel, NULL);
        CHECK(e < 1e-5f, "%s: tensor %d differs by %g", what, k, e);
    }
}

static void test_batchnorm(void) {
    int N = 3, C = 2, H = 3, W = 4, M = N * H * W;
    Tensor *x = param(SHAPE(N, C, H, W));
    for (size_t i = 0; i < x->numel; i++) x->data[i] = 2.0f + 3.0f * x->data[i]; // mean 2, std 3
    BatchNorm2d bn = bn_new(C);
    tensor_fill_(bn.weight, 1.0f), tensor_fill_(bn.bias, 0.0f);

    // Training: each channel comes out with mean 0 and (biased) variance 1, and the running
    // statistics take 10% of the step toward the batch's mean and unbiased variance.
    Tensor *y = batchnorm2d(x, &bn, true);
    for (int c = 0; c < C; c++) {
        double sx = 0, sxx = 0, sy = 0, syy = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < H * W; i++) {
                double xv = x->data[(n * C + c) * H * W + i], yv = y->data[(n * C + c) * H * W + i];
                sx += xv, sxx += xv * xv, sy += yv, syy += yv * yv;
            }
        double mean = sx / M, unbiased = (sxx - M * mean * mean) / (M - 1);
        CHECK_NEAR(sy / M, 0.0, 1e-5);
        CHECK_NEAR(syy / M, 1.0 / (1.0 + BN_EPS / ((sxx / M) - mean * mean)), 1e-4);
        CHECK_NEAR(bn.running_mean->data[c], 0.1 * mean, 1e-5);
        CHECK_NEAR(bn.running_var->data[c], 0.9 + 0.1 * unbiased, 1e-4);
    }
    // Eval: the running statistics, nothing else, and they stay put.
    float rm = bn.running_mean->data[0], rv = bn.running_var->data[0];
    y = batchnorm2d(x, &bn, false);
    CHECK_NEAR(y->data[0], (x->data[0] - rm) / sqrtf(rv + BN_EPS), 1e-5);
    CHECK(bn.running_mean->data[0] == rm && bn.running_var->data[0] == rv,
          "eval must not move running stats");
    tape_reset();

    tensor_normal_(bn.weight, 1.0f, 0.5f, &rng);
    tensor_normal_(bn.bias, 0.0f, 0.5f, &rng);
    Tensor *in[3] = {x, bn.weight, bn.bias};
    expect_gradcheck("batchnorm2d train", bn_loss, in, 3, &(BnCtx){&bn, true, false});
    expect_gradcheck("batchnorm2d eval", bn_loss, in, 3, &(BnCtx){&bn, false, false});

    // The fused BN+ReLU must equal relu(batchnorm2d(x)), value for value and gradient for gradient.
    // (A finite-difference check would straddle relu's kink for outputs near 0.)
    expect_fused_matches("fused BN+ReLU vs BN then ReLU", bn_relu_pair, in, 3, &bn, false);
    // The same for the residual join: batchnorm2d_add_relu(x, skip) = add_relu(batchnorm2d(x), skip),
    // with the gradients of x, weight, bias and skip; skip's gradient starting at zero and holding
    // something already (added to). bearnet's parity test covers a freshly written one.
    Tensor *skip = param(SHAPE(N, C, H, W));
    Tensor *in4[4] = {x, bn.weight, bn.bias, skip};
    expect_fused_matches("fused BN+add+ReLU vs BN, add_relu (skip grad fresh)", bn_add_relu_pair, in4, 4, &bn,
                         false);
    expect_fused_matches("fused BN+add+ReLU vs BN, add_relu (skip grad held)", bn_add_relu_pair, in4, 4, &bn,
                         true);
    tensor_free(skip);
    tensor_free(x);
    bn_free(&bn);
}

// Planes longer than the kernels' blocks of partial sums (81 = 64 + a tail of 17), and training
// statistics that stay exact with a large offset, and with one image far from the others.
static void test_batchnorm_big_planes(void) {
    int N = 4, C = 2, H = 9, W = 9, HW = H * W;
    Tensor *x = param(SHAPE(N, C, H, W));
    BatchNorm2d bn = bn_new(C);
    tensor_normal_(bn.weight, 1.0f, 0.5f, &rng);
    tensor_normal_(bn.bias, 0.0f, 0.5f, &rng);
    Tensor *in[3] = {x, bn.weight, bn.bias};
    expect_gradcheck("batchnorm2d train 9x9", bn_loss, in, 3, &(BnCtx){&bn, true, false});
    expect_gradcheck("batchnorm2d eval 9x9", bn_loss, in, 3, &(BnCtx){&bn, false, false});

    // Statistics over 64 images: x = 10000 + N(0,1), and in the second round image 0 is another
    // 1000 higher, far from all the others (the variance is then mostly between images).
    enum { SN = 64 };
    int SM = SN * HW;
    Tensor *noise = tensor_normal(SHAPE(SN, C, H, W), 0.0f, 1.0f, &rng), *xs = tensor_copy(noise);
    for (int shifted = 0; shifted < 2; shifted++) {
        for (size_t i = 0; i < xs->numel; i++)
            xs->data[i] = 1e4f + noise->data[i] + (shifted && i < (size_t)C * HW ? 1000.0f : 0.0f);
        tensor_fill_(bn.running_mean, 0.0f), tensor_fill_(bn.running_var, 0.0f);
        batchnorm2d(xs, &bn, true);
        tape_reset();
        for (int c = 0; c < C; c++) {
            double mean = 0, sq = 0; // two passes in double over the same floats
            for (int n = 0; n < SN; n++)
                for (int i = 0; i < HW; i++) mean += xs->data[(n * C + c) * HW + i];
            mean /= SM;
            for (int n = 0; n < SN; n++)
                for (int i = 0; i < HW; i++) {
                    double d = xs->data[(n * C + c) * HW + i] - mean;
                    sq += d * d;
                }
            double unbiased = sq / (SM - 1);
            CHECK_NEAR(bn.running_mean->data[c], 0.1 * mean, 1e-3);
            CHECK_NEAR(bn.running_var->data[c], 0.1 * unbiased, 1e-6 * 0.1 * unbiased);
        }
    }
    tensor_free(noise);
    tensor_free(xs);
    tensor_free(x);
    bn_free(&bn);
}

// A conv that gathers its channels' moments (conv2d_moments) and the batchnorm that takes them
// (batchnorm2d_from) give what batchnorm2d_relu(conv2d(x)) gives, within float rounding: outputs, running
// statistics, and the same again written over the conv's output off the tape. Shapes where the fast conv
// takes one image per block (32x32) and groups of 12 (7x7, 14x14 at stride 2); image 0 lies far from the
// others (its input shifted by 100).
static void test_batchnorm_from_moments(void) {
    const int shapes[][5] = {{3, 8, 32, 16, 1}, {24, 8, 7, 16, 1}, {24, 8, 14, 16, 2}}; // N, C, S, OC, stride
    for (int c = 0; c < 3; c++) {
        int N = shapes[c][0], C = shapes[c][1], S = shapes[c][2], OC = shapes[c][3], stride = shapes[c][4];
        Tensor *x = tensor_normal(SHAPE(N, C, S, S), 0.0f, 1.0f, &rng);
        for (size_t i = 0; i < (size_t)C * S * S; i++) x->data[i] += 100.0f;
        Tensor *w = tensor_normal(SHAPE(OC, C, 3, 3), 0.0f, 0.2f, &rng);
        BatchNorm2d bn[2] = {bn_new(OC), bn_new(OC)};
        for (int k = 0; k < 2; k++) {
            Rng r;
            rng_seed(&r, 7, 0);
            tensor_normal_(bn[k].weight, 1.0f, 0.5f, &r), tensor_normal_(bn[k].bias, 0.0f, 0.5f, &r);
        }
        Tensor *want = batchnorm2d_relu(conv2d(x, w, NULL, stride, 1), &bn[0], true);
        ChannelMoments mo = {0};
        Tensor *h = conv2d_moments(x, w, NULL, stride, 1, &mo);
        Tensor *got = batchnorm2d_from(h, &bn[1], true, true, NULL, &mo, false);
        float scale, d = max_abs_diff(want->data, got->data, want->numel, &scale);
        // the running statistics against two passes in double over the conv's output (bn_new's start at
        // 0 and 1: one step moves them 10% of the way)
        int P = h->shape[2] * h->shape[3];
        double dm = 0, dv = 0, dv_plain = 0;
        for (int o = 0; o < OC; o++) {
            double mean = 0, sq = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < P; i++) mean += h->data[((size_t)n * OC + o) * P + i];
            mean /= (double)N * P;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < P; i++) sq += pow(h->data[((size_t)n * OC + o) * P + i] - mean, 2);
            double rv = 0.9 + 0.1 * sq / ((double)N * P - 1);
            dm = fmax(dm, fabs(bn[1].running_mean->data[o] - 0.1 * mean));
            dv = fmax(dv, fabs(bn[1].running_var->data[o] - rv) / rv);
            dv_plain = fmax(dv_plain, fabs(bn[0].running_var->data[o] - rv) / rv);
        }
        bool was = set_grad_enabled(false); // a frozen body's pass: over the conv's output
        Tensor *h2 = conv2d_moments(x, w, NULL, stride, 1, &mo);
        Tensor *over = batchnorm2d_from(h2, &bn[1], true, true, NULL, &mo, true);
        set_grad_enabled(was);
        float d2 = max_abs_diff(want->data, over->data, want->numel, NULL);
        printf("conv %dx%d stride %d batch %d: %d blocks of moments; output off by %g (max %g), running mean "
               "by %g, var by %.2g of it (batchnorm's own sums: %.2g); written over: off by %g\n",
               S, S, stride, N, mo.blocks, d, scale, dm, dv, dv_plain, d2);
        CHECK(scale > 1.0f && d < 1e-5f * scale,
              "conv %dx%d batch %d: batchnorm from the conv's moments off by %g", S, S, N, d);
        // (float sums over values near 100: batchnorm's own come to about 1e-5 of the variance)
        CHECK(dm < 1e-5 && dv < 1e-4 && dv <= 2 * dv_plain + 1e-6,
              "conv %dx%d batch %d: running statistics off by %g, and by %g of the variance (batchnorm's "
              "own: %g)",
              S, S, N, dm, dv, dv_plain);
        CHECK(over == h2 && d2 < 1e-5f * scale,
              "conv %dx%d batch %d: written over the conv's output (off by %g)", S, S, N, d2);
#if defined(__AVX512F__) || defined(__AVX2__)
        CHECK(mo.blocks > 0, "conv %dx%d batch %d: the fast conv gathered no moments", S, S, N);
#endif
        tape_reset();
        tensor_free(x), tensor_free(w), bn_free(&bn[0]), bn_free(&bn[1]);
    }
}

// ---------------------------------------------------------------------------------------------
// relu, add_relu, pools, flatten

static Tensor *relu_loss(Tensor *const *in, void *ctx) {
    return weighted_sum(relu(in[0]));
}
static Tensor *add_relu_loss(Tensor *const *in, void *ctx) {
    return weighted_sum(add_relu(in[0], in[1]));
}
static Tensor *max_pool_loss(Tensor *const *in, void *ctx) {
    const int *ks = ctx;
    return weighted_sum(max_pool2d(in[0], ks[0], ks[1], ks[2]));
}
static Tensor *avg_pool_loss(Tensor *const *in, void *ctx) {
    return weighted_sum(global_avg_pool(in[0]));
}
static Tensor *flatten_loss(Tensor *const *in, void *ctx) {
    return weighted_sum(flatten(in[0]));
}

// Keep values at least `margin` away from 0, so a finite-difference nudge never crosses relu's kink.
static void push_from_zero(Tensor *t, float margin) {
    for (size_t i = 0; i < t->numel; i++)
        if (fabsf(t->data[i]) < margin) t->data[i] = t->data[i] < 0 ? -margin : margin;
}

// max_pool2d with the tape (keeping each window's winner) and without it (inference) give the same values,
// on odd and even planes, with and without padding, and a window with a NaN anywhere gives NaN (PyTorch's
// rule); ties send the gradient to the first winner in reading order, as PyTorch does.
static void check_pool_paths(void) {
    const int shapes[][5] = {
        {7, 9, 3, 2, 1}, {8, 8, 3, 2, 1}, {5, 6, 2, 2, 0}, {9, 5, 3, 1, 1}, {112, 112, 3, 2, 1}};
    for (int c = 0; c < 5; c++) {
        int H = shapes[c][0], W = shapes[c][1], k = shapes[c][2], stride = shapes[c][3], pad = shapes[c][4];
        Tensor *x = param(SHAPE(2, 3, H, W));
        for (size_t i = 0; i < x->numel; i++) x->data[i] = (float)rng_below(&rng, 7) - 3.0f; // ties
        for (int i = 0; i < 6; i++) x->data[rng_below(&rng, (uint32_t)x->numel)] = NAN;
        x->data[(size_t)(H / 2) * W + W / 2 - 1] = NAN;
        Tensor *taped = max_pool2d(x, k, stride, pad);
        bool was = set_grad_enabled(false);
        Tensor *plain = max_pool2d(x, k, stride, pad);
        set_grad_enabled(was);
        size_t differ = 0, nans = 0;
        for (size_t i = 0; i < taped->numel; i++) {
            float a = taped->data[i], b = plain->data[i];
            nans += isnan(a);
            differ += isnan(a) != isnan(b) || (!isnan(a) && a != b);
        }
        CHECK(differ == 0,
              "max_pool2d %dx%d k%d s%d p%d without the tape: %zu of %zu values differ from the tape's", H, W,
              k, stride, pad, differ, taped->numel);
        int oh = (H / 2 + pad) / stride, ow = (W / 2 - 1 + pad) / stride; // a window over that NaN
        CHECK(isnan(taped->data[(size_t)oh * taped->shape[3] + ow]) && nans > 1,
              "max_pool2d %dx%d k%d s%d p%d: a window with a NaN gives NaN (%zu NaN outputs)", H, W, k,
              stride, pad, nans);
        tape_reset();
        tensor_free(x);
    }
    // With many ties (7 values) and no NaN, every window's gradient goes to its first maximum in reading
    // order, found here by scanning the window plainly.
    for (int c = 0; c < 5; c++) {
        int H = shapes[c][0], W = shapes[c][1], k = shapes[c][2], stride = shapes[c][3], pad = shapes[c][4];
        if (H > 20) continue; // weighted_sum's weights cover small outputs only
        Tensor *x = param(SHAPE(2, 3, H, W));
        for (size_t i = 0; i < x->numel; i++) x->data[i] = (float)rng_below(&rng, 7) - 3.0f;
        Tensor *y = max_pool2d(x, k, stride, pad);
        backward(weighted_sum(y));
        int OH = y->shape[2], OW = y->shape[3];
        float *want = calloc(x->numel, sizeof(float));
        for (int plane = 0; plane < 6; plane++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    int best = -1;
                    for (int i = oh * stride - pad; i < oh * stride - pad + k; i++)
                        for (int j = ow * stride - pad; j < ow * stride - pad + k; j++) {
                            if (i < 0 || i >= H || j < 0 || j >= W) continue;
                            int at = (plane * H + i) * W + j;
                            if (best < 0 || x->data[at] > x->data[best]) best = at;
                        }
                    want[best] += loss_weights[(plane * OH + oh) * OW + ow];
                }
        size_t wrong = 0;
        for (size_t i = 0; i < x->numel; i++) wrong += fabsf(x->grad->data[i] - want[i]) > 1e-6f;
        CHECK(wrong == 0,
              "max_pool2d %dx%d k%d s%d p%d: %zu of %zu input gradients differ from the first "
              "winner's in reading order",
              H, W, k, stride, pad, wrong, x->numel);
        free(want);
        tape_reset();
        tensor_free(x);
    }
    // One 3x3 window of zeros but for two 1s, at (1,0) and (0,2): the gradient goes to (0,2), read first.
    Tensor *x = param(SHAPE(1, 1, 3, 3));
    memset(x->data, 0, sizeof(float) * 9);
    x->data[3] = x->data[2] = 1.0f;
    backward(weighted_sum(max_pool2d(x, 3, 1, 0)));
    CHECK(x->grad->data[2] != 0 && x->grad->data[3] == 0,
          "a tie goes to the first winner read: dx = %g at (0,2), %g at (1,0)", x->grad->data[2],
          x->grad->data[3]);
    tape_reset();
    tensor_free(x);
}

static void test_elementwise_and_pools(void) {
    Tensor *x = param(SHAPE(2, 3, 4, 4));
    push_from_zero(x, 0.05f);
    expect_gradcheck("relu", relu_loss, &x, 1, NULL);

    Tensor *a = param(SHAPE(2, 3, 4, 4)), *b = param(SHAPE(2, 3, 4, 4));
    for (size_t i = 0; i < a->numel; i++) // keep a + b away from 0 too
        if (fabsf(a->data[i] + b->data[i]) < 0.05f) a->data[i] += 0.1f;
    Tensor *y = add_relu(a, b);
    CHECK(y->data[5] == fmaxf(a->data[5] + b->data[5], 0.0f), "add_relu forward");
    tape_reset();
    expect_gradcheck("add_relu", add_relu_loss, (Tensor *[]){a, b}, 2, NULL);

    // A NaN goes through a ReLU, as in PyTorch: a damaged weight shows in the loss instead of vanishing.
    Tensor *odd = tensor_from(SHAPE(1, 1, 1, 3), (float[]){NAN, -1, 2});
    Tensor *r = relu(odd);
    CHECK(isnan(r->data[0]) && r->data[1] == 0 && r->data[2] == 2, "relu passes NaN, zeroes -1, keeps 2");
    CHECK(isnan(add_relu(odd, odd)->data[0]), "add_relu passes NaN");
    tape_reset();
    tensor_free(odd);

    // Max pool: distinct values 0.1 apart (a shuffled ramp), so a 1e-2 nudge never changes a winner.
    Tensor *p = param(SHAPE(2, 2, 5, 5));
    int order[100];
    for (int i = 0; i < 100; i++) order[i] = i;
    rng_shuffle(&rng, order, 100);
    for (int i = 0; i < 100; i++) p->data[i] = 0.1f * (float)order[i] - 5.0f;
    y = max_pool2d(p, 2, 2, 0);
    CHECK(y->shape[2] == 2 && y->shape[3] == 2, "max_pool2d 5x5 k2 s2 -> 2x2, got %dx%d", y->shape[2],
          y->shape[3]);
    float m = fmaxf(fmaxf(p->data[0], p->data[1]), fmaxf(p->data[5], p->data[6]));
    CHECK(y->data[0] == m, "max_pool2d first window: %g vs %g", y->data[0], m);
    tape_reset();
    expect_gradcheck("max_pool2d k2 s2", max_pool_loss, &p, 1, (int[]){2, 2, 0});
    expect_gradcheck("max_pool2d k3 s1", max_pool_loss, &p, 1, (int[]){3, 1, 0});
    // ResNet's stem pool: 3x3, stride 2, padding 1 -> (5 + 2 - 3)/2 + 1 = 3; the corner window
    // covers only x[0..1, 0..1], the padding around it never wins.
    y = max_pool2d(p, 3, 2, 1);
    CHECK(y->shape[2] == 3 && y->shape[3] == 3, "max_pool2d 5x5 k3 s2 p1 -> 3x3, got %dx%d", y->shape[2],
          y->shape[3]);
    CHECK(y->data[0] == m, "max_pool2d padded corner window: %g vs %g", y->data[0], m);
    float last = fmaxf(fmaxf(p->data[18], p->data[19]), fmaxf(p->data[23], p->data[24]));
    CHECK(y->data[8] == last, "max_pool2d padded last window: %g vs %g", y->data[8], last);
    tape_reset();
    expect_gradcheck("max_pool2d k3 s2 p1", max_pool_loss, &p, 1, (int[]){3, 2, 1});
    check_pool_paths();

    y = global_avg_pool(x);
    double plane = 0;
    for (int i = 0; i < 16; i++) plane += x->data[16 + i]; // image 0, channel 1
    CHECK(y->rank == 2 && y->shape[0] == 2 && y->shape[1] == 3, "global_avg_pool shape");
    CHECK_NEAR(y->data[1], plane / 16, 1e-6);
    tape_reset();
    expect_gradcheck("global_avg_pool", avg_pool_loss, &x, 1, NULL);

    y = flatten(x);
    CHECK(y->rank == 2 && y->shape[0] == 2 && y->shape[1] == 48 && y->data == x->data,
          "flatten is a (2,48) view");
    tape_reset();
    expect_gradcheck("flatten", flatten_loss, &x, 1, NULL);
    tensor_free(x), tensor_free(a), tensor_free(b), tensor_free(p);
}

// ---------------------------------------------------------------------------------------------
// dropout

static Tensor *dropout_loss(Tensor *const *in, void *ctx) {
    Rng mask_rng; // the same seed on every call: the same mask, so the loss is a fixed function
    rng_seed(&mask_rng, 7, 0);
    return weighted_sum(dropout(in[0], *(float *)ctx, &mask_rng, true));
}

static void test_dropout(void) {
    Tensor *x = tensor_ones(SHAPE(100, 100));
    float p = 0.3f;
    Tensor *y = dropout(x, p, &rng, true);
    int zeros = 0, scaled = 0;
    for (size_t i = 0; i < y->numel; i++) {
        zeros += y->data[i] == 0.0f;
        scaled += fabsf(y->data[i] - 1.0f / (1.0f - p)) < 1e-6f;
    }
    // 10 000 draws: the zero fraction has std sqrt(0.3*0.7/1e4) ~ 0.005; allow 4 of those.
    CHECK(zeros + scaled == 10000, "every output is 0 or 1/(1-p): %d + %d", zeros, scaled);
    CHECK(fabs(zeros / 10000.0 - p) < 0.02, "dropped fraction %g, expected %g", zeros / 10000.0, p);
    CHECK(dropout(x, p, &rng, false) == x, "eval mode passes x through");
    tape_reset();
    tensor_free(x);

    Tensor *z = param(SHAPE(4, 6));
    expect_gradcheck("dropout p0.5", dropout_loss, &z, 1, &(float){0.5f});
    tensor_free(z);
}

// ---------------------------------------------------------------------------------------------
// cross-entropy

static const int ce_labels[4] = {2, 0, 1, 2};
static Tensor *ce_loss(Tensor *const *in, void *ctx) {
    return cross_entropy(in[0], ce_labels);
}

static void test_cross_entropy(void) {
    // Uniform logits: every class has probability 1/C, so the loss is log(C).
    Tensor *z = tensor_zeros(SHAPE(4, 3));
    CHECK_NEAR(cross_entropy(z, ce_labels)->data[0], log(3.0), 1e-6);
    // Huge logits must not overflow: the right class at +1000 costs ~0, a wrong one ~1000.
    Tensor *big = tensor_from(SHAPE(1, 3), (float[]){1000, 0, 0});
    CHECK_NEAR(cross_entropy(big, (int[]){0})->data[0], 0.0, 1e-6);
    CHECK_NEAR(cross_entropy(big, (int[]){1})->data[0], 1000.0, 1e-3);
    tape_reset();
    tensor_free(z), tensor_free(big);

    Tensor *logits = param(SHAPE(4, 3));
    expect_gradcheck("cross_entropy", ce_loss, &logits, 1, NULL);
    tensor_free(logits);
}

int main(void) {
    rng_seed(&rng, 42, 0);
    for (size_t i = 0; i < sizeof loss_weights / sizeof *loss_weights; i++)
        loss_weights[i] = rng_normal(&rng);
    test_linear();
    test_conv();
    test_batchnorm();
    test_batchnorm_big_planes();
    test_batchnorm_from_moments();
    test_elementwise_and_pools();
    test_dropout();
    test_cross_entropy();
    return check_done("test_layers");
}
