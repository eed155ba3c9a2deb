// math.cuh — what each of the backend's own kernels computes for one element (or one row, one channel),
// as __host__ __device__ functions. The kernels in ops.cu are a loop over these; tests/cuda_math.cu runs
// the same functions on the CPU over every index and compares with the CPU ops, so the index arithmetic
// (which channel an element belongs to, where a split of a channel starts) is checked without a GPU.
// The formulas are the CPU files' (core/batchnorm.c, core/layers.c, core/optim.c); see there for the maths.
#ifndef SGDLAB_CUDA_MATH_CUH
#define SGDLAB_CUDA_MATH_CUH

#include <math.h>
#include <stddef.h>

#define SGD_HD __host__ __device__ inline

SGD_HD float relu_value(float v) {
    return v < 0.0f ? 0.0f : v; // a NaN goes through, as relu1 (core/layer_loops.h)
}

// ---- NCHW indexing ----
// In 32 bits (the ops refuse tensors of 2^31 elements or more): a 64-bit division costs a GPU tens of
// instructions, and these run once per element.
// The channel of element i of an (N,C,H,W) tensor with HW = H*W.
SGD_HD int nchw_channel(size_t i, int C, size_t HW) {
    return (int)(((unsigned)i / (unsigned)HW) % (unsigned)C);
}
// Element j (0 <= j < N*HW) of channel c, counting through the batch: picture j / HW, pixel j % HW.
SGD_HD size_t channel_element(int c, size_t j, int C, size_t HW) {
    unsigned n = (unsigned)j / (unsigned)HW, pixel = (unsigned)j - n * (unsigned)HW;
    return ((size_t)n * (size_t)C + (size_t)c) * HW + pixel;
}
// A channel's M values are cut into `splits` runs of nearly equal length, one block each: run s is
// [*begin, *end). The runs cover [0, M) exactly once.
SGD_HD void split_range(size_t M, int splits, int s, size_t *begin, size_t *end) {
    size_t chunk = (M + (size_t)splits - 1) / (size_t)splits;
    *begin = chunk * (size_t)s < M ? chunk * (size_t)s : M;
    *end = *begin + chunk < M ? *begin + chunk : M;
}

// ---- batchnorm ----
// Blocks per channel: enough for the whole GPU to take part on big planes (16 values per thread at
// least), one on small ones.
SGD_HD int bn_splits(size_t M, int threads) {
    size_t s = M / ((size_t)threads * 16);
    return (int)(s < 1 ? 1 : s > 128 ? 128 : s);
}
// From sum(x - centre) and sum((x - centre)^2) over a channel's M values (centre: one of them, so the
// sums do not cancel): the mean, the biased variance (normalisation) and the unbiased one (running var).
SGD_HD void bn_stats(double s1, double s2, double M, float centre, float *mean, float *var,
                     float *var_unbiased) {
    double d = s1 / M, sq = s2 - M * d * d;
    if (sq < 0) sq = 0; // rounding, when every value is the same
    *mean = (float)(centre + d);
    *var = (float)(sq / M);
    *var_unbiased = (float)(sq / (M - 1));
}
// y = (x - mean) * invstd * weight + bias as one multiply-add y = x*k + shift.
SGD_HD void bn_fold(float weight, float bias, float mean, float var, float eps, float *invstd, float *k,
                    float *shift) {
    *invstd = 1.0f / sqrtf(var + eps);
    *k = weight * *invstd;
    *shift = bias - mean * *k;
}
SGD_HD float bn_running(float running, float batch, float momentum) {
    return (1 - momentum) * running + momentum * batch;
}
// Output element i: the affine, then + skip (the residual join) and relu when asked.
SGD_HD float bn_forward_at(size_t i, const float *x, const float *k, const float *shift, const float *skip,
                           bool relu, int C, size_t HW) {
    int c = nchw_channel(i, C, HW);
    float v = x[i] * k[c] + shift[c];
    if (skip) v += skip[i];
    return relu ? relu_value(v) : v;
}
// dY at element i through the fused relu: after a join the mask is the output's sign (y given), else the
// sign of the affine, recomputed from x as the CPU backward does.
SGD_HD float bn_grad_at(size_t i, const float *x, const float *dy, const float *y, bool relu, float k,
                        float shift) {
    if (y) return y[i] > 0.0f ? dy[i] : 0.0f;
    return relu && x[i] * k + shift <= 0.0f ? 0.0f : dy[i];
}
// From sum(g) and sum(g*(x - mean)) of a channel: the parameter gradients and the three coefficients of
// dX = kg*g + kx*(x - mean) + k0 (training: mean and var depend on x; eval: only kg*g is left).
SGD_HD void bn_backward_coefficients(double sum_g, double sum_gx, double M, float weight, float invstd,
                                     bool training, float *dweight, float *dbias, float *kg, float *kx,
                                     float *k0) {
    double sum_g_xhat = sum_gx * invstd;
    *dweight = (float)sum_g_xhat;
    *dbias = (float)sum_g;
    *kg = weight * invstd;
    *kx = training ? -*kg * invstd * (float)(sum_g_xhat / M) : 0.0f;
    *k0 = training ? -*kg * (float)(sum_g / M) : 0.0f;
}

// ---- relu, pooling ----
SGD_HD float relu_grad_at(size_t i, const float *y, const float *dy) {
    return y[i] > 0.0f ? dy[i] : 0.0f;
}
// Global average pool backward: every pixel of plane i / HW gets that plane's dY / HW.
SGD_HD float avg_pool_grad_at(size_t i, const float *dy, size_t HW) {
    return dy[(unsigned)i / (unsigned)HW] / (float)HW;
}

// ---- linear ----
// Its three products as column-major GEMMs, cuBLAS's convention: C (m,n) = op(A) (m,k) @ op(B) (k,n), each
// matrix with its leading dimension. A row-major (R,C) matrix is, read column-major, the (C,R) matrix: its
// transpose. So y = x @ w^T is asked for as y^T (OUT,N) = op_T(w read as (IN,OUT)) @ (x read as (IN,N)).
// The host test runs these with cblas_sgemm(CblasColMajor, ...), which means the same thing.
struct Gemm {
    bool trans_a, trans_b;
    int m, n, k, lda, ldb, ldc;
};
// y (N,OUT) = x (N,IN) @ w^T: A = w, B = x, C = y
SGD_HD Gemm linear_forward_gemm(int N, int IN, int OUT) {
    return Gemm{true, false, OUT, N, IN, IN, IN, OUT};
}
// dX (N,IN) (+)= dY @ W, as dX^T (IN,N) = (w read as (IN,OUT)) @ (dY read as (OUT,N)): A = w, B = dY, C = dX
SGD_HD Gemm linear_dx_gemm(int N, int IN, int OUT) {
    return Gemm{false, false, IN, N, OUT, IN, OUT, IN};
}
// dW (OUT,IN) += dY^T @ X, as dW^T (IN,OUT) = (x read as (IN,N)) @ op_T(dY read as (OUT,N)): A = x, B = dY, C
// = dW
SGD_HD Gemm linear_dw_gemm(int N, int IN, int OUT) {
    return Gemm{false, true, IN, OUT, N, IN, OUT, IN};
}
SGD_HD float bias_row_at(size_t i, const float *b, int OUT) {
    return b[i % (size_t)OUT];
}
// db[o] contribution: sum over the N rows of dY (N,OUT) in column o.
SGD_HD float column_sum(const float *dy, int N, int OUT, int o) {
    float s = 0;
    for (int n = 0; n < N; n++) s += dy[(size_t)n * OUT + o];
    return s;
}

// ---- cross-entropy ----
// Row z (C logits) with its label: the softmax into p, and the row's loss logsumexp(z) - z[label].
SGD_HD double cross_entropy_row(const float *z, int C, int label, float *p) {
    float max = z[0];
    for (int c = 1; c < C; c++) max = fmaxf(max, z[c]);
    double sum = 0;
    for (int c = 0; c < C; c++) sum += (p[c] = expf(z[c] - max));
    for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
    return (double)max + log(sum) - (double)z[label];
}
// dZ at element i of (N,C): g/N * (softmax - onehot), g = d loss / d loss-value.
SGD_HD float cross_entropy_grad_at(size_t i, const float *p, const int *labels, int C, float g_over_n) {
    int n = (int)(i / (size_t)C), c = (int)(i % (size_t)C);
    return g_over_n * (p[i] - (c == labels[n] ? 1.0f : 0.0f));
}

// ---- optimisers (core/optim.h has the formulas) ----
SGD_HD void sgd_at(size_t i, float *w, const float *g, float *buf, float lr, float momentum, float wd) {
    float grad = g[i] + wd * w[i];
    buf[i] = momentum * buf[i] + grad;
    w[i] -= lr * buf[i];
}
SGD_HD void adamw_at(size_t i, float *w, const float *g, float *m, float *v, float lr, float b1, float b2,
                     float eps, float wd, float correct1, float correct2) {
    w[i] -= lr * wd * w[i];
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    w[i] -= lr * (m[i] / correct1) / (sqrtf(v[i] / correct2) + eps);
}

#endif
