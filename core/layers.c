// layers.c — linear, batchnorm, relu, pooling, dropout and cross-entropy: forward + backward pairs.
// (conv2d lives in conv.c.) Each backward adds d loss / d input into the inputs' gradients.
#include "layers.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "autograd.h"

// Element-wise loops smaller than this stay on one thread: waking the team costs more.
#define PARALLEL_MIN 32768

static void check_rank(const char *what, const Tensor *t, int rank) {
    tensor_check_rank(what, t, rank);
}

// max(v, 0) as a compare and select: fmaxf would be a library call inside these loops.
static inline float relu1(float v) {
    return v > 0.0f ? v : 0.0f;
}

// Plane reductions keep SUM_LANES partial sums (4 AVX-512 vectors): with one vector of partial
// sums every add waits for the previous one (4 cycles), slower than L2/L3 deliver the data.
enum { SUM_LANES = 64 };

static float lanes_total(const float *acc) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < SUM_LANES; j++) s += acc[j];
    return s;
}

static float plane_sum(const float *x, size_t n) {
    float acc[SUM_LANES] = {0}, s = 0;
    size_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
#pragma omp simd
        for (int j = 0; j < SUM_LANES; j++) acc[j] += x[i + j];
    for (; i < n; i++) s += x[i];
    return s + lanes_total(acc);
}

// Batchnorm sums run in float over blocks of one channel's planes: one plane, or as many whole
// planes as fit in BN_BLOCK values (a 64x64 plane), then in double across blocks. The float sums
// stay as short as one big plane's, and small planes (8x8) do not each pay a reduction of the
// partial sums and a few double-precision steps.
enum { BN_BLOCK = 4096 };

static int planes_per_block(size_t HW) {
    return HW >= BN_BLOCK ? 1 : (int)(BN_BLOCK / HW);
}

// sum(x - m) and sum((x - m)^2) over `planes` planes of n values, plane p at x + p*stride
static void dev_sums(const float *x, size_t stride, int planes, size_t n, float m, float *sum_d,
                     float *sum_dd) {
    float a[SUM_LANES] = {0}, b[SUM_LANES] = {0}, ta = 0, tb = 0;
    for (int p = 0; p < planes; p++) {
        const float *xp = x + (size_t)p * stride;
        size_t i = 0;
        for (; i + SUM_LANES <= n; i += SUM_LANES)
#pragma omp simd
            for (int j = 0; j < SUM_LANES; j++) {
                float d = xp[i + j] - m;
                a[j] += d;
                b[j] += d * d;
            }
        for (; i < n; i++) {
            float d = xp[i] - m;
            ta += d;
            tb += d * d;
        }
    }
    *sum_d = ta + lanes_total(a);
    *sum_dd = tb + lanes_total(b);
}

static inline int imin(int a, int b) {
    return a < b ? a : b;
}

static bool wants_grad(const Tensor *t) {
    return t && t->requires_grad;
}

float *grad_to_fill(Tensor *t, bool *fresh) {
    *fresh = !t->grad && t->in_arena;
    if (*fresh) t->grad = step_tensor(t->rank, t->shape);
    return *fresh ? t->grad->data : grad_of(t);
}

// ---------------------------------------------------------------------------------------------
// linear

static void linear_backward(Node *node) {
    Tensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    const float *dy = node->out->grad->data;
    // dX += dY @ W          (N,out) @ (out,in)
    if (wants_grad(x)) {
        bool fresh;
        float *dx = grad_to_fill(x, &fresh);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IN, OUT, 1.0f, dy, OUT, w->data, IN,
                    fresh ? 0.0f : 1.0f, dx, IN);
    }
    // dW += dY^T @ X        (out,N) @ (N,in)
    if (wants_grad(w))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, N, 1.0f, dy, OUT, x->data, IN, 1.0f,
                    grad_of(w), IN);
    // db += sum over the batch of dY
    if (wants_grad(b)) {
        float *db = grad_of(b);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) db[o] += dy[(size_t)n * OUT + o];
    }
}

Tensor *linear(Tensor *x, Tensor *w, Tensor *b) {
    check_rank("linear input", x, 2);
    check_rank("linear weight", w, 2);
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    if (w->shape[1] != IN) {
        char sx[64], sw[64];
        sgd_panic("linear: input %s does not fit weight %s (in features %d vs %d)",
                  tensor_shape_str(x, sx, 64), tensor_shape_str(w, sw, 64), IN, w->shape[1]);
    }
    if (b && (b->rank != 1 || b->shape[0] != OUT)) sgd_panic("linear: bias must have shape [%d]", OUT);
    Tensor *y = step_tensor(SHAPE(N, OUT));
    // y = x @ w^T (+ b, broadcast to every row first so sgemm can add onto it)
    float beta = 0.0f;
    if (b) {
        for (int n = 0; n < N; n++) memcpy(y->data + (size_t)n * OUT, b->data, sizeof(float) * (size_t)OUT);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1.0f, x->data, IN, w->data, IN, beta,
                y->data, OUT);
    tape_record("linear", y, linear_backward, 3, (Tensor *[]){x, w, b});
    return y;
}

// ---------------------------------------------------------------------------------------------
// batch normalisation
//
// Forward (training), per channel c over its M = N*H*W values:
//     mean = sum(x)/M, var = sum((x-mean)^2)/M, invstd = 1/sqrt(var+eps)
//     xhat = (x-mean)*invstd,  y = weight*xhat + bias
// Backward: with g = dY*weight,
//     dX = invstd/M * (M*g - sum(g) - xhat*sum(g*xhat))    (training: mean and var depend on x)
//     dX = g*invstd                                         (eval: they are constants)
//     dweight += sum(dY*xhat),  dbias += sum(dY)
// The node saves mean, invstd and the folded affine y = x*k + shift (C floats each) and
// recomputes xhat from x, which is still alive.

typedef struct {
    float *mean, *invstd, *k, *shift;
} BatchNormSaved;

// The value before the fused relu. Backward takes the relu's mask from x through this same
// expression rather than reading y: x and dY are read anyway, so this saves reading y. (The same
// bits as forward, since -std=c11 keeps gcc from contracting x*k + shift into an fma in one place
// and not the other.)
static inline float bn_affine(float x, float k, float shift) {
    return x * k + shift;
}

// dY through the fused relu (if any). After a residual join (relu(bn(x) + skip)) the mask needs
// skip too, so it is taken from the output instead: y is passed, and y <= 0 masks.
static inline float bn_grad(float x, float dy, bool relu, float k, float shift, const float *y, size_t i) {
    if (y) return y[i] > 0.0f ? dy : 0.0f;
    return relu && bn_affine(x, k, shift) <= 0.0f ? 0.0f : dy;
}

// sum(g) and sum(g*(x - mean)) over a block of planes (as dev_sums), g = dY through the fused relu
static void bn_grad_sums(const float *x, const float *dy, const float *y, size_t stride, int planes, size_t n,
                         float mean, bool relu, float k, float shift, float *sum_g, float *sum_gx) {
    float a[SUM_LANES] = {0}, b[SUM_LANES] = {0}, ta = 0, tb = 0;
    for (int p = 0; p < planes; p++) {
        const float *xp = x + (size_t)p * stride, *dyp = dy + (size_t)p * stride;
        const float *yp = y ? y + (size_t)p * stride : NULL;
        size_t i = 0;
        for (; i + SUM_LANES <= n; i += SUM_LANES)
#pragma omp simd
            for (int j = 0; j < SUM_LANES; j++) {
                float g = bn_grad(xp[i + j], dyp[i + j], relu, k, shift, yp, i + j);
                a[j] += g;
                b[j] += g * (xp[i + j] - mean);
            }
        for (; i < n; i++) {
            float g = bn_grad(xp[i], dyp[i], relu, k, shift, yp, i);
            ta += g;
            tb += g * (xp[i] - mean);
        }
    }
    *sum_g = ta + lanes_total(a);
    *sum_gx = tb + lanes_total(b);
}

static void batchnorm_backward(Node *node) {
    Tensor *x = node->in[0], *weight = node->in[1], *bias = node->in[2],
           *skip = node->n_in > 3 ? node->in[3] : NULL;
    const BatchNormSaved *s = node->saved;
    bool training = node->i[0], fused_relu = node->i[1];
    const float *y = skip ? node->out->data : NULL; // the relu's mask, after the join
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    double M = (double)N * (double)HW;
    const float *dy = node->out->grad->data;
    bool fresh = false;
    float *dx = wants_grad(x) ? grad_to_fill(x, &fresh) : NULL;
    float *dweight = wants_grad(weight) ? grad_of(weight) : NULL;
    float *dbias = wants_grad(bias) ? grad_of(bias) : NULL;
    bool skip_fresh = false; // the join passes dY (masked) to skip unchanged
    float *dskip = wants_grad(skip) ? grad_to_fill(skip, &skip_fresh) : NULL;
    int per_block = planes_per_block(HW);
#pragma omp parallel for schedule(static) if ((size_t)N * C * HW > PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        float mean = s->mean[c], invstd = s->invstd[c], w = weight->data[c];
        float k = s->k[c], shift = s->shift[c];
        // Pass 1: sum(g) and sum(g*xhat), g = dY masked by the fused relu.
        double sum_dy = 0, sum_dy_xhat = 0;
        for (int n = 0; n < N; n += per_block) {
            size_t base = ((size_t)n * C + c) * HW;
            float a, b;
            bn_grad_sums(x->data + base, dy + base, y ? y + base : NULL, (size_t)C * HW,
                         imin(per_block, N - n), HW, mean, fused_relu, k, shift, &a, &b);
            sum_dy += a, sum_dy_xhat += (double)b * invstd;
        }
        if (dweight) dweight[c] += (float)sum_dy_xhat;
        if (dbias) dbias[c] += (float)sum_dy;
        if (!dx && !dskip) continue;
        // Pass 2: dX = w*invstd * (g - mean(g) - xhat*mean(g*xhat)); in eval mean and var are
        // constants, and only the first term is left.
        float kg = w * invstd;
        float kx = training ? -kg * invstd * (float)(sum_dy_xhat / M) : 0.0f;
        float k0 = training ? -kg * (float)(sum_dy / M) : 0.0f;
        for (int n = 0; n < N; n++) {
            size_t base = ((size_t)n * C + c) * HW;
            const float *xc = x->data + base, *dyc = dy + base;
            float *dxc = dx ? dx + base : NULL;
            if (y) { // after the join: skip's gradient is g itself
                const float *yc = y + base;
                float *dsc = dskip ? dskip + base : NULL;
#pragma omp simd
                for (size_t i = 0; i < HW; i++) {
                    float g = bn_grad(xc[i], dyc[i], fused_relu, k, shift, yc, i);
                    if (dxc) {
                        float d = kg * g + kx * (xc[i] - mean) + k0;
                        dxc[i] = fresh ? d : dxc[i] + d;
                    }
                    if (dsc) dsc[i] = skip_fresh ? g : dsc[i] + g;
                }
            } else if (fresh) {
#pragma omp simd
                for (size_t i = 0; i < HW; i++)
                    dxc[i] =
                        kg * bn_grad(xc[i], dyc[i], fused_relu, k, shift, NULL, i) + kx * (xc[i] - mean) + k0;
            } else {
#pragma omp simd
                for (size_t i = 0; i < HW; i++)
                    dxc[i] +=
                        kg * bn_grad(xc[i], dyc[i], fused_relu, k, shift, NULL, i) + kx * (xc[i] - mean) + k0;
            }
        }
    }
}

// skip: NULL, or the residual branch joined before the relu (fused_relu must then be set).
static Tensor *batchnorm_op(Tensor *x, const BatchNorm2d *bn, bool training, bool fused_relu, Tensor *skip) {
    check_rank("batchnorm2d input", x, 4);
    if (skip) tensor_check_same_shape("batchnorm2d_add_relu", x, skip);
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    size_t M = (size_t)N * HW;
    if (bn->weight->numel != (size_t)C || bn->bias->numel != (size_t)C ||
        bn->running_mean->numel != (size_t)C || bn->running_var->numel != (size_t)C)
        sgd_panic("batchnorm2d: input has %d channels but the layer's tensors have %zu", C,
                  bn->weight->numel);
    if (training && M < 2) sgd_panic("batchnorm2d: training needs more than one value per channel");
    Tensor *y = step_tensor(4, x->shape);
    BatchNormSaved *s = step_alloc(sizeof *s);
    s->mean = step_alloc(sizeof(float) * (size_t)C);
    s->invstd = step_alloc(sizeof(float) * (size_t)C);
    s->k = step_alloc(sizeof(float) * (size_t)C);
    s->shift = step_alloc(sizeof(float) * (size_t)C);
    int per_block = planes_per_block(HW);
#pragma omp parallel for schedule(static) if (M * C > PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        float mean, var;
        if (training) {
            // One pass over memory. Each block of planes (see BN_BLOCK) gives sum(d) and
            // sum(d^2), d = x - centre, the centre being the first plane's mean: the block's mean
            // and squared deviations follow without cancelling while its mean lies within a few
            // of its std of the centre (the variance stays exact for any offset, as two passes
            // did); a block further off is summed again about its own mean, from L1. Blocks
            // combine in double (Chan et al.): sum of squares = sum over blocks of
            // (q_b + n_b*(m_b - mean)^2), block means taken relative to the first one's.
            float centre = plane_sum(x->data + (size_t)c * HW, HW) / (float)HW;
            double sum_nu = 0, sum_nuu = 0, q = 0, m0 = 0;
            for (int n = 0; n < N; n += per_block) {
                const float *xc = x->data + ((size_t)n * C + c) * HW;
                int planes = imin(per_block, N - n);
                double nb = (double)planes * (double)HW;
                float m = centre, d, dd;
                dev_sums(xc, (size_t)C * HW, planes, HW, m, &d, &dd);
                double off = d / nb; // block mean - m
                if (off * off > 16 * (dd / nb - off * off)) {
                    m = (float)(m + off);
                    dev_sums(xc, (size_t)C * HW, planes, HW, m, &d, &dd);
                    off = d / nb;
                }
                if (n == 0) m0 = m + off;
                double u = m + off - m0;
                sum_nu += nb * u, sum_nuu += nb * u * u, q += dd - d * off;
            }
            double dm = sum_nu / (double)M; // mean - m0
            double sq = q + sum_nuu - (double)M * dm * dm;
            if (sq < 0) sq = 0; // rounding, when every value is the same
            mean = (float)(m0 + dm);
            var = (float)(sq / (double)M);
            // PyTorch keeps the unbiased variance (divide by M-1) in the running estimate.
            bn->running_mean->data[c] = (1 - BN_MOMENTUM) * bn->running_mean->data[c] + BN_MOMENTUM * mean;
            bn->running_var->data[c] =
                (1 - BN_MOMENTUM) * bn->running_var->data[c] + BN_MOMENTUM * (float)(sq / (double)(M - 1));
        } else {
            mean = bn->running_mean->data[c];
            var = bn->running_var->data[c];
        }
        float invstd = 1.0f / sqrtf(var + BN_EPS);
        s->mean[c] = mean, s->invstd[c] = invstd;
        // y = xhat*weight + bias folded into one multiply-add: y = x*k + (bias - mean*k)
        float k = bn->weight->data[c] * invstd, shift = bn->bias->data[c] - mean * k;
        s->k[c] = k, s->shift[c] = shift;
        for (int n = 0; n < N; n++) {
            size_t base = ((size_t)n * C + c) * HW;
            const float *xc = x->data + base;
            float *yc = y->data + base;
            if (skip) {
                const float *sc = skip->data + base;
#pragma omp simd
                for (size_t i = 0; i < HW; i++) yc[i] = relu1(bn_affine(xc[i], k, shift) + sc[i]);
            } else if (fused_relu) {
#pragma omp simd
                for (size_t i = 0; i < HW; i++) yc[i] = relu1(bn_affine(xc[i], k, shift));
            } else {
#pragma omp simd
                for (size_t i = 0; i < HW; i++) yc[i] = bn_affine(xc[i], k, shift);
            }
        }
    }
    const char *name = skip ? "batchnorm2d_add_relu" : fused_relu ? "batchnorm2d_relu" : "batchnorm2d";
    Node *node =
        tape_record(name, y, batchnorm_backward, skip ? 4 : 3, (Tensor *[]){x, bn->weight, bn->bias, skip});
    if (node) {
        node->saved = s;
        node->i[0] = training;
        node->i[1] = fused_relu;
    }
    return y;
}

Tensor *batchnorm2d(Tensor *x, const BatchNorm2d *bn, bool training) {
    return batchnorm_op(x, bn, training, false, NULL);
}

Tensor *batchnorm2d_relu(Tensor *x, const BatchNorm2d *bn, bool training) {
    return batchnorm_op(x, bn, training, true, NULL);
}

Tensor *batchnorm2d_add_relu(Tensor *x, const BatchNorm2d *bn, Tensor *skip, bool training) {
    return batchnorm_op(x, bn, training, true, skip);
}

// ---------------------------------------------------------------------------------------------
// relu and the residual join

// dX += dY where y > 0 (the output tells us which inputs were positive)
static void relu_backward(Node *node) {
    const float *y = node->out->data, *dy = node->out->grad->data;
    size_t n = node->out->numel;
    for (int k = 0; k < node->n_in; k++) {
        if (!wants_grad(node->in[k])) continue;
        bool fresh;
        float *dx = grad_to_fill(node->in[k], &fresh);
        if (fresh) {
#pragma omp parallel for simd if (n > PARALLEL_MIN)
            for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        } else {
#pragma omp parallel for simd if (n > PARALLEL_MIN)
            for (size_t i = 0; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
        }
    }
}

Tensor *relu(Tensor *x) {
    Tensor *y = step_tensor(x->rank, x->shape);
    // Local pointers: through x->data the compiler must assume each store may move the pointer,
    // and the loop stays scalar.
    const float *xd = x->data;
    float *yd = y->data;
    size_t n = x->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) yd[i] = relu1(xd[i]);
    tape_record("relu", y, relu_backward, 1, &x);
    return y;
}

// y = relu(a + b); both inputs get dY where y > 0 (the same backward as relu, once per input)
Tensor *add_relu(Tensor *a, Tensor *b) {
    tensor_check_same_shape("add_relu", a, b);
    Tensor *y = step_tensor(a->rank, a->shape);
    const float *ad = a->data, *bd = b->data; // local pointers, as in relu(), so the loop vectorises
    float *yd = y->data;
    size_t n = a->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) yd[i] = relu1(ad[i] + bd[i]);
    tape_record("add_relu", y, relu_backward, 2, (Tensor *[]){a, b});
    return y;
}

// ---------------------------------------------------------------------------------------------
// pooling

// dX[argmax of the window] += dY  (only the winner of each window moved the output)
static void max_pool_backward(Node *node) {
    const int *argmax = node->saved;
    const float *dy = node->out->grad->data;
    float *dx = grad_of(node->in[0]);
    for (size_t i = 0; i < node->out->numel; i++) dx[argmax[i]] += dy[i];
}

Tensor *max_pool2d(Tensor *x, int k, int stride, int padding) {
    check_rank("max_pool2d input", x, 4);
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    // padding <= k/2 (PyTorch's rule) keeps at least one real pixel in every window
    if (k < 1 || stride < 1 || padding < 0 || 2 * padding > k || H + 2 * padding < k || W + 2 * padding < k)
        sgd_panic("max_pool2d: window %d stride %d padding %d on %dx%d", k, stride, padding, H, W);
    int OH = (H + 2 * padding - k) / stride + 1, OW = (W + 2 * padding - k) / stride + 1;
    Tensor *y = step_tensor(SHAPE(N, C, OH, OW));
    int *argmax = step_alloc(sizeof(int) * y->numel); // index into x of each window's winner
#pragma omp parallel for schedule(static) if (x->numel > PARALLEL_MIN)
    for (int plane = 0; plane < N * C; plane++) {
        const float *xp = x->data + (size_t)plane * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                // The window clipped to the picture: padding counts as -infinity, it never wins.
                int h0 = oh * stride - padding, w0 = ow * stride - padding;
                int i0 = h0 < 0 ? 0 : h0, i1 = imin(h0 + k, H), j0 = w0 < 0 ? 0 : w0, j1 = imin(w0 + k, W);
                int best = i0 * W + j0;
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++)
                        if (xp[i * W + j] > xp[best]) best = i * W + j;
                size_t o = ((size_t)plane * OH + oh) * OW + ow;
                y->data[o] = xp[best];
                argmax[o] = (int)((size_t)plane * H * W + (size_t)best);
            }
    }
    Node *node = tape_record("max_pool2d", y, max_pool_backward, 1, &x);
    if (node) node->saved = argmax;
    return y;
}

// dX += dY / (H*W), spread evenly over the plane each mean came from
static void global_avg_pool_backward(Node *node) {
    Tensor *x = node->in[0];
    size_t planes = (size_t)x->shape[0] * x->shape[1], HW = (size_t)x->shape[2] * x->shape[3];
    const float *dy = node->out->grad->data;
    bool fresh;
    float *dx = grad_to_fill(x, &fresh);
#pragma omp parallel for schedule(static) if (planes * HW > PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) {
        float g = dy[p] / (float)HW, *dxp = dx + p * HW;
        if (fresh) {
#pragma omp simd
            for (size_t i = 0; i < HW; i++) dxp[i] = g;
        } else {
#pragma omp simd
            for (size_t i = 0; i < HW; i++) dxp[i] += g;
        }
    }
}

Tensor *global_avg_pool(Tensor *x) {
    check_rank("global_avg_pool input", x, 4);
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    Tensor *y = step_tensor(SHAPE(N, C));
    const float *xd = x->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) if (x->numel > PARALLEL_MIN)
    for (int p = 0; p < N * C; p++) yd[p] = plane_sum(xd + (size_t)p * HW, HW) / (float)HW;
    tape_record("global_avg_pool", y, global_avg_pool_backward, 1, &x);
    return y;
}

// ---------------------------------------------------------------------------------------------
// flatten and dropout

// dX += dY: flatten moves no numbers, it only renames the axes
static void flatten_backward(Node *node) {
    const float *dy = node->out->grad->data;
    float *dx = grad_of(node->in[0]);
    for (size_t i = 0; i < node->out->numel; i++) dx[i] += dy[i];
}

Tensor *flatten(Tensor *x) {
    if (x->rank < 1) sgd_panic("flatten needs a batch axis, got a scalar");
    Tensor *y = step_alloc(sizeof(Tensor)); // a header only: the data stays x's
    memset(y, 0, sizeof *y);
    y->data = x->data;
    y->rank = 2;
    y->shape[0] = x->shape[0];
    y->shape[1] = x->shape[0] ? (int)(x->numel / (size_t)x->shape[0]) : 0;
    y->shape[2] = y->shape[3] = 1;
    y->numel = x->numel;
    y->in_arena = true;
    tape_record("flatten", y, flatten_backward, 1, &x);
    return y;
}

// dX += dY * mask, the same mask (0 or 1/(1-p)) the forward pass multiplied by
static void dropout_backward(Node *node) {
    const float *mask = node->saved, *dy = node->out->grad->data;
    float *dx = grad_of(node->in[0]);
    for (size_t i = 0; i < node->out->numel; i++) dx[i] += dy[i] * mask[i];
}

Tensor *dropout(Tensor *x, float p, Rng *rng, bool training) {
    if (!(p >= 0.0f && p < 1.0f)) sgd_panic("dropout: p = %g must be in [0, 1)", (double)p);
    if (!training || p == 0.0f) return x;
    Tensor *y = step_tensor(x->rank, x->shape);
    float *mask = step_alloc(sizeof(float) * x->numel);
    float keep_scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < x->numel; i++) {
        mask[i] = rng_uniform(rng) < p ? 0.0f : keep_scale;
        y->data[i] = x->data[i] * mask[i];
    }
    Node *node = tape_record("dropout", y, dropout_backward, 1, &x);
    if (node) node->saved = mask;
    return y;
}

// ---------------------------------------------------------------------------------------------
// cross-entropy
//
// loss = mean_n( logsumexp(z_n) - z_n[label_n] ), with logsumexp(z) = max + log(sum exp(z - max))
// so no exp overflows. Its gradient is the softmax minus the one-hot label:
//     dZ_n += dLoss / N * (softmax(z_n) - onehot(label_n))
// The node saves the softmax (N,C) and the labels.

typedef struct {
    float *softmax;
    int *labels;
} CrossEntropySaved;

static void cross_entropy_backward(Node *node) {
    const CrossEntropySaved *s = node->saved;
    Tensor *z = node->in[0];
    int N = z->shape[0], C = z->shape[1];
    float g = node->out->grad->data[0] / (float)N;
    float *dz = grad_of(z);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            dz[(size_t)n * C + c] += g * (s->softmax[(size_t)n * C + c] - (c == s->labels[n] ? 1.0f : 0.0f));
}

Tensor *cross_entropy(Tensor *logits, const int *labels) {
    check_rank("cross_entropy logits", logits, 2);
    int N = logits->shape[0], C = logits->shape[1];
    if (N < 1) sgd_panic("cross_entropy: empty batch");
    CrossEntropySaved *s = step_alloc(sizeof *s);
    s->softmax = step_alloc(sizeof(float) * (size_t)N * C);
    s->labels = step_alloc(sizeof(int) * (size_t)N);
    double total = 0;
    for (int n = 0; n < N; n++) {
        if (labels[n] < 0 || labels[n] >= C)
            sgd_panic("cross_entropy: label %d of row %d is outside [0,%d)", labels[n], n, C);
        const float *z = logits->data + (size_t)n * C;
        float *p = s->softmax + (size_t)n * C;
        float max = -FLT_MAX;
        for (int c = 0; c < C; c++) max = fmaxf(max, z[c]);
        double sum = 0;
        for (int c = 0; c < C; c++) sum += (p[c] = expf(z[c] - max));
        for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
        total += (double)max + log(sum) - (double)z[labels[n]];
        s->labels[n] = labels[n];
    }
    Tensor *loss = step_tensor(0, NULL);
    loss->data[0] = (float)(total / N);
    Node *node = tape_record("cross_entropy", loss, cross_entropy_backward, 1, &logits);
    if (node) node->saved = s;
    return loss;
}
