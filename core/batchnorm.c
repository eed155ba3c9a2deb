// batchnorm.c — batch normalisation, alone and fused with the relu (and the residual join) that follow
// it in nearly every block: forward and backward in as few passes over memory as the maths allows.
// Read layers.h for what it computes; this file is about doing it fast on planes of any size.
#include <math.h>
#include <string.h>

#include "autograd.h"
#include "cuda/cuda.h"
#include "layer_loops.h"
#include "layers.h"

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

void channel_moments(ChannelMoments *mo, int b, int c, const float *x, size_t stride, int planes, size_t n,
                     float centre) {
    // The block's mean and squared deviations follow from the sums without cancelling while its mean lies
    // within a few of its std of the centre (the variance stays exact for any offset, as two passes did);
    // a block further off is summed again about its own mean, from cache.
    float d, dd;
    double nb = (double)planes * (double)n;
    dev_sums(x, stride, planes, n, centre, &d, &dd);
    double off = d / nb; // block mean - centre
    if (off * off > 16 * (dd / nb - off * off)) {
        centre = (float)(centre + off);
        dev_sums(x, stride, planes, n, centre, &d, &dd);
    }
    size_t i = (size_t)b * mo->C + c;
    mo->centre[i] = centre, mo->sum_d[i] = d, mo->sum_dd[i] = dd;
}

// Channel c's mean and sum of squared deviations from its blocks, combined in double (Chan et al.): the
// sum of squares is the sum over blocks of (q_b + n_b*(m_b - mean)^2), block means taken relative to the
// first one's.
static void moments_total(const ChannelMoments *mo, int c, size_t HW, double *mean, double *sq) {
    double M = 0, sum_nu = 0, sum_nuu = 0, q = 0, m0 = 0;
    for (int b = 0; b < mo->blocks; b++) {
        size_t i = (size_t)b * mo->C + c;
        double nb = (double)mo->planes[b] * (double)HW, off = mo->sum_d[i] / nb;
        if (b == 0) m0 = mo->centre[i] + off;
        double u = mo->centre[i] + off - m0;
        M += nb, sum_nu += nb * u, sum_nuu += nb * u * u, q += mo->sum_dd[i] - mo->sum_d[i] * off;
    }
    double dm = sum_nu / M; // mean - m0
    *mean = m0 + dm;
    *sq = q + sum_nuu - M * dm * dm;
    if (*sq < 0) *sq = 0; // rounding, when every value is the same
}

void channel_moments_init(ChannelMoments *mo, int blocks, int C) {
    size_t n = (size_t)blocks * C;
    *mo = (ChannelMoments){blocks,
                           C,
                           step_alloc(sizeof(int) * (size_t)blocks),
                           step_alloc(sizeof(float) * n),
                           step_alloc(sizeof(float) * n),
                           step_alloc(sizeof(float) * n)};
}

// The batch's moments in blocks of per_block planes, one pass over memory: the centre is the first
// image's mean of the channel.
static ChannelMoments *batch_moments(const Tensor *x) {
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    int per_block = planes_per_block(HW), blocks = (N + per_block - 1) / per_block;
    ChannelMoments *mo = step_alloc(sizeof *mo);
    channel_moments_init(mo, blocks, C);
    for (int b = 0; b < blocks; b++) mo->planes[b] = imin(per_block, N - b * per_block);
#pragma omp parallel for schedule(static) if ((size_t)N * C * HW > PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        float centre = plane_sum(x->data + (size_t)c * HW, HW) / (float)HW;
        for (int b = 0; b < blocks; b++)
            channel_moments(mo, b, c, x->data + ((size_t)b * per_block * C + c) * HW, (size_t)C * HW,
                            mo->planes[b], HW, centre);
    }
    return mo;
}

// skip: NULL, or the residual branch joined before the relu (fused_relu must then be set). mo: the
// batch's moments when the conv before gathered them (training). in_place: y is written over x.
static Tensor *batchnorm_op(Tensor *x, const BatchNorm2d *bn, bool training, bool fused_relu, Tensor *skip,
                            const ChannelMoments *mo, bool in_place) {
    tensor_check_rank("batchnorm2d input", x, 4);
    if (skip) tensor_check_same_shape("batchnorm2d_add_relu", x, skip);
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    size_t M = (size_t)N * HW;
    if (bn->weight->numel != (size_t)C || bn->bias->numel != (size_t)C ||
        bn->running_mean->numel != (size_t)C || bn->running_var->numel != (size_t)C)
        sgd_panic("batchnorm2d: input has %d channels but the layer's tensors have %zu", C,
                  bn->weight->numel);
    if (training && M < 2) sgd_panic("batchnorm2d: training needs more than one value per channel");
    if (x->device == DEVICE_CUDA)
        return cuda_batchnorm(x, bn, training, fused_relu, skip); // core/cuda/ops.cu
    if (training && (!mo || !mo->blocks)) mo = batch_moments(x);
    if (training && mo->C != C) sgd_panic("batchnorm2d: moments of %d channels for an input of %d", mo->C, C);
    Tensor *y = in_place ? x : step_tensor(4, x->shape);
    BatchNormSaved *s = step_alloc(sizeof *s);
    s->mean = step_alloc(sizeof(float) * (size_t)C);
    s->invstd = step_alloc(sizeof(float) * (size_t)C);
    s->k = step_alloc(sizeof(float) * (size_t)C);
    s->shift = step_alloc(sizeof(float) * (size_t)C);
#pragma omp parallel for schedule(static) if (M * C > PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        float mean, var;
        if (training) {
            double m, sq;
            moments_total(mo, c, HW, &m, &sq);
            mean = (float)m;
            var = (float)(sq / (double)M);
            // PyTorch keeps the unbiased variance (divide by M-1) in the running estimate.
            bn->running_mean->data[c] = (1 - BN_MOMENTUM) * bn->running_mean->data[c] + BN_MOMENTUM * mean;
            bn->running_var->data[c] =
                (1 - BN_MOMENTUM) * bn->running_var->data[c] + BN_MOMENTUM * (float)(sq / (double)(M - 1));
        } else {
            mean = bn->running_mean->data[c];
            var = bn->running_var->data[c];
        }
        // y = xhat*weight + bias folded into one multiply-add: y = x*k + (bias - mean*k)
        float invstd, k, shift;
        batchnorm_affine(bn, c, mean, var, &invstd, &k, &shift);
        s->mean[c] = mean, s->invstd[c] = invstd, s->k[c] = k, s->shift[c] = shift;
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
    if (training) tensor_changed(bn->running_mean), tensor_changed(bn->running_var);
    const char *name = skip ? "batchnorm2d_add_relu" : fused_relu ? "batchnorm2d_relu" : "batchnorm2d";
    Node *node =
        tape_record(name, y, batchnorm_backward, skip ? 4 : 3, (Tensor *[]){x, bn->weight, bn->bias, skip});
    if (node && in_place) sgd_panic("%s: written over its input, which its backward needs", name);
    if (node) {
        node->saved = s;
        node->i[0] = training;
        node->i[1] = fused_relu;
    }
    return y;
}

Tensor *batchnorm2d(Tensor *x, const BatchNorm2d *bn, bool training) {
    return batchnorm_op(x, bn, training, false, NULL, NULL, false);
}

Tensor *batchnorm2d_relu(Tensor *x, const BatchNorm2d *bn, bool training) {
    return batchnorm_op(x, bn, training, true, NULL, NULL, false);
}

Tensor *batchnorm2d_add_relu(Tensor *x, const BatchNorm2d *bn, Tensor *skip, bool training) {
    return batchnorm_op(x, bn, training, true, skip, NULL, false);
}

Tensor *batchnorm2d_from(Tensor *x, const BatchNorm2d *bn, bool training, bool relu, Tensor *skip,
                         const ChannelMoments *mo, bool in_place) {
    return batchnorm_op(x, bn, training, relu || skip, skip, mo, in_place);
}
