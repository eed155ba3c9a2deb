// cuda_math.cu — the GPU kernels' per-element maths (core/cuda/math.cuh), run on the CPU, against the CPU
// ops. No GPU is needed: the kernels of core/cuda/ops.cu are loops over exactly these functions, so what
// this checks (each element's channel, the splits of a channel covering it once, the order of an
// update's terms, which row a label belongs to) is what the kernels compute, short of the launch itself.
// Each check loops over every index the way a grid-stride kernel would, with the same arguments the op
// passes; linear's cuBLAS products run through cblas_sgemm in column-major order, the same call on the CPU.
// Odd shapes throughout, so a swapped H and W or C and N lands on other numbers.
#include <initializer_list>
#include <stdlib.h>
#include <string.h>

#include "math.cuh"

extern "C" {
#include <cblas.h>

#include "autograd.h"
#include "check.h"
#include "layers.h"
#include "optim.h"
#include "parity.h"
}

static Rng rng;

static Tensor *normal(int rank, const int *shape, float mean, float std) {
    return tensor_normal(rank, shape, mean, std, &rng);
}

static Tensor *like(const Tensor *t) {
    return tensor_zeros(t->rank, t->shape);
}

// ---- batchnorm: forward statistics, folding, the fused epilogues, and backward ----

struct BnEmulated {
    float mean[16], invstd[16], k[16], shift[16], running_mean[16], running_var[16];
};

// What bn_stats_kernel + bn_finalize_kernel + bn_apply_kernel compute, block by block.
static void emulate_bn_forward(const Tensor *x, const BatchNorm2d *bn, bool training, bool relu,
                               const Tensor *skip, BnEmulated *e, Tensor *y, Tensor *visits) {
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
    int splits = bn_splits(M, 256);
    for (int c = 0; c < C; c++) {
        float mean, var;
        if (training) {
            float centre = x->data[channel_element(c, 0, C, HW)];
            double s1 = 0, s2 = 0;
            for (int s = 0; s < splits; s++) {
                size_t begin, end;
                split_range(M, splits, s, &begin, &end);
                for (size_t j = begin; j < end; j++) {
                    size_t i = channel_element(c, j, C, HW);
                    visits->data[i] += 1;
                    float d = x->data[i] - centre;
                    s1 += d, s2 += (double)d * d;
                }
            }
            float var_unbiased;
            bn_stats(s1, s2, (double)M, centre, &mean, &var, &var_unbiased);
            e->running_mean[c] = bn_running(bn->running_mean->data[c], mean, BN_MOMENTUM);
            e->running_var[c] = bn_running(bn->running_var->data[c], var_unbiased, BN_MOMENTUM);
        } else {
            mean = bn->running_mean->data[c], var = bn->running_var->data[c];
        }
        e->mean[c] = mean;
        bn_fold(bn->weight->data[c], bn->bias->data[c], mean, var, BN_EPS, &e->invstd[c], &e->k[c],
                &e->shift[c]);
    }
    for (size_t i = 0; i < x->numel; i++)
        y->data[i] = bn_forward_at(i, x->data, e->k, e->shift, skip ? skip->data : NULL, relu, C, HW);
}

// What bn_grad_stats_kernel + bn_grad_finalize_kernel + bn_grad_apply_kernel compute.
static void emulate_bn_backward(const Tensor *x, const Tensor *dy, const Tensor *y_after_join, bool relu,
                                const float *weight, bool training, const BnEmulated *e, Tensor *dx,
                                Tensor *dskip, float *dweight, float *dbias) {
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
    const float *y = y_after_join ? y_after_join->data : NULL;
    int splits = bn_splits(M, 256);
    float coef[3 * 16];
    for (int c = 0; c < C; c++) {
        double sum_g = 0, sum_gx = 0;
        for (int s = 0; s < splits; s++) {
            size_t begin, end;
            split_range(M, splits, s, &begin, &end);
            for (size_t j = begin; j < end; j++) {
                size_t i = channel_element(c, j, C, HW);
                float g = bn_grad_at(i, x->data, dy->data, y, relu, e->k[c], e->shift[c]);
                sum_g += g, sum_gx += (double)g * (x->data[i] - e->mean[c]);
            }
        }
        bn_backward_coefficients(sum_g, sum_gx, (double)M, weight[c], e->invstd[c], training, &dweight[c],
                                 &dbias[c], &coef[c], &coef[C + c], &coef[2 * C + c]);
    }
    for (size_t i = 0; i < x->numel; i++) {
        int c = nchw_channel(i, C, HW);
        float g = bn_grad_at(i, x->data, dy->data, y, relu, e->k[c], e->shift[c]);
        dx->data[i] = coef[c] * g + coef[C + c] * (x->data[i] - e->mean[c]) + coef[2 * C + c];
        if (dskip) dskip->data[i] = g;
    }
}

static void test_batchnorm(int N, int C, int H, int W) {
    int shape[4] = {N, C, H, W}, cshape[1] = {C};
    for (int training = 0; training < 2; training++)
        for (int kind = 0; kind < 3; kind++) {
            bool relu = kind > 0, join = kind == 2;
            Tensor *x = normal(4, shape, 2.0f, 1.5f), *skip = join ? normal(4, shape, 0, 1) : NULL;
            Tensor *dy = normal(4, shape, 0, 1);
            BatchNorm2d bn = {tensor_uniform(1, cshape, 0.5f, 1.5f, &rng), normal(1, cshape, 0, 1),
                              normal(1, cshape, 0, 1), tensor_uniform(1, cshape, 0.5f, 2.0f, &rng)};
            BnEmulated e;
            Tensor *y = like(x), *visits = like(x), *dx = like(x), *dskip = join ? like(x) : NULL;
            float dweight[16], dbias[16];
            emulate_bn_forward(x, &bn, training, relu, skip, &e, y, visits);
            // the CPU op, on copies of the running statistics (it updates them in place)
            BatchNorm2d cpu = {bn.weight, bn.bias, tensor_copy(bn.running_mean), tensor_copy(bn.running_var)};
            x->requires_grad = bn.weight->requires_grad = bn.bias->requires_grad = true;
            if (skip) skip->requires_grad = true;
            Tensor *ref = join   ? batchnorm2d_add_relu(x, &cpu, skip, training)
                          : relu ? batchnorm2d_relu(x, &cpu, training)
                                 : batchnorm2d(x, &cpu, training);
            char what[96];
            snprintf(what, sizeof what, "bn %s%s %dx%dx%dx%d forward", training ? "train" : "eval",
                     join   ? "+add+relu"
                     : relu ? "+relu"
                            : "",
                     N, C, H, W);
            compare_within(what, y, ref, 1e-5);
            if (training) {
                bool once = true;
                for (size_t i = 0; i < x->numel; i++) once &= visits->data[i] == 1.0f;
                CHECK(once, "%s: the channel splits visit every element exactly once", what);
                Tensor *rm = tensor_from(1, cshape, e.running_mean),
                       *rv = tensor_from(1, cshape, e.running_var);
                compare_within("  running mean", rm, cpu.running_mean, 1e-5);
                compare_within("  running var", rv, cpu.running_var, 1e-5);
                tensor_free(rm), tensor_free(rv);
            }
            emulate_bn_backward(x, dy, join ? y : NULL, relu, bn.weight->data, training, &e, dx, dskip,
                                dweight, dbias);
            backward_with(ref, dy);
            compare_within("  dx", dx, x->grad, 1e-4);
            if (dskip) compare_within("  dskip", dskip, skip->grad, 1e-5);
            Tensor *dw = tensor_from(1, cshape, dweight), *db = tensor_from(1, cshape, dbias);
            compare_within("  dweight", dw, bn.weight->grad, 1e-4);
            compare_within("  dbias", db, bn.bias->grad, 1e-4);
            tape_reset();
            tensor_free(dw), tensor_free(db), tensor_free(cpu.running_mean), tensor_free(cpu.running_var);
            Tensor *all[] = {x, skip,   dy, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                             y, visits, dx, dskip};
            for (Tensor *t : all) tensor_free(t);
        }
}

// ---- relu, pooling, linear's bias, cross-entropy ----

static void test_relu_pool(void) {
    int shape[4] = {3, 5, 7, 9};
    Tensor *x = normal(4, shape, 0, 1), *dy = normal(4, shape, 0, 1), *dx = like(x);
    x->requires_grad = true;
    Tensor *y = relu(x);
    for (size_t i = 0; i < x->numel; i++) dx->data[i] = relu_grad_at(i, y->data, dy->data);
    backward_with(y, dy);
    compare_within("relu backward", dx, x->grad, 0);
    tape_reset();
    tensor_free(x->grad), x->grad = NULL;
    Tensor *pooled = global_avg_pool(x), *dp = normal(pooled->rank, pooled->shape, 0, 1);
    for (size_t i = 0; i < x->numel; i++) dx->data[i] = avg_pool_grad_at(i, dp->data, 7 * 9);
    backward_with(pooled, dp);
    compare_within("global_avg_pool backward", dx, x->grad, 1e-6);
    tape_reset();
    tensor_free(x), tensor_free(dy), tensor_free(dx), tensor_free(dp);
}

static void test_linear_bias(void) {
    int xs[2] = {5, 7}, ws[2] = {3, 7}, bs[1] = {3};
    Tensor *x = normal(2, xs, 0, 1), *w = normal(2, ws, 0, 1), *b = normal(1, bs, 0, 1);
    b->requires_grad = true;
    bool grad = set_grad_enabled(false);
    Tensor *no_bias = tensor_copy(linear(x, w, NULL));
    set_grad_enabled(grad);
    Tensor *y = linear(x, w, b), *dy = normal(2, y->shape, 0, 1), *emulated = like(y), *db = like(b);
    for (size_t i = 0; i < y->numel; i++) emulated->data[i] = no_bias->data[i] + bias_row_at(i, b->data, 3);
    compare_within("linear bias rows", emulated, y, 1e-6);
    for (int o = 0; o < 3; o++) db->data[o] = column_sum(dy->data, 5, 3, o);
    backward_with(y, dy);
    compare_within("linear db column sums", db, b->grad, 1e-6);
    tape_reset();
    Tensor *all[] = {x, w, b, no_bias, dy, emulated, db};
    for (Tensor *t : all) tensor_free(t);
}

// cblas_sgemm in column-major order means what cublasSgemm means: the same Gemm, run on the CPU.
static void run_gemm(const Gemm &g, const float *A, const float *B, float *C, float beta) {
    cblas_sgemm(CblasColMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
                g.m, g.n, g.k, 1.0f, A, g.lda, B, g.ldb, beta, C, g.ldc);
}

// linear's three products as the GPU asks for them (transposes, leading dimensions) against the CPU op.
static void test_linear_gemms(void) {
    enum { N = 5, IN = 7, OUT = 3 };
    int xs[2] = {N, IN}, ws[2] = {OUT, IN};
    Tensor *x = normal(2, xs, 0, 1), *w = normal(2, ws, 0, 1);
    x->requires_grad = w->requires_grad = true;
    Tensor *y = linear(x, w, NULL), *dy = normal(2, y->shape, 0, 1);
    Tensor *gy = like(y), *gdx = like(x), *gdw = like(w);
    run_gemm(linear_forward_gemm(N, IN, OUT), w->data, x->data, gy->data, 0.0f);
    run_gemm(linear_dx_gemm(N, IN, OUT), w->data, dy->data, gdx->data, 0.0f);
    run_gemm(linear_dw_gemm(N, IN, OUT), x->data, dy->data, gdw->data, 1.0f);
    compare_within("linear forward as cuBLAS asks", gy, y, 1e-6);
    backward_with(y, dy);
    compare_within("linear dx as cuBLAS asks", gdx, x->grad, 1e-6);
    compare_within("linear dw as cuBLAS asks", gdw, w->grad, 1e-6);
    tape_reset();
    Tensor *all[] = {x, w, dy, gy, gdx, gdw};
    for (Tensor *t : all) tensor_free(t);
}

static void test_cross_entropy(void) {
    enum { N = 9, C = 4 };
    int shape[2] = {N, C}, labels[N];
    for (int n = 0; n < N; n++) labels[n] = (int)rng_below(&rng, C);
    Tensor *z = normal(2, shape, 0, 3), *p = like(z), *dz = like(z);
    z->requires_grad = true;
    double total = 0;
    for (int n = 0; n < N; n++) total += cross_entropy_row(z->data + n * C, C, labels[n], p->data + n * C);
    Tensor *loss = cross_entropy(z, labels);
    CHECK_NEAR(total / N, loss->data[0], 1e-6);
    float g = 0.7f; // d loss / d loss-value, as the kernel reads it
    for (size_t i = 0; i < z->numel; i++) dz->data[i] = cross_entropy_grad_at(i, p->data, labels, C, g / N);
    Tensor *seed = tensor_full(0, NULL, g);
    backward_with(loss, seed);
    compare_within("cross_entropy backward", dz, z->grad, 1e-6);
    tape_reset();
    tensor_free(z), tensor_free(p), tensor_free(dz), tensor_free(seed);
}

// ---- optimisers: three steps of the kernel's update against optimizer_step ----

static void test_optimizers(void) {
    for (int kind = 0; kind < 2; kind++) {
        int shape[2] = {37, 5};
        Tensor *w = normal(2, shape, 0, 1), *g = normal(2, shape, 0, 1);
        float *ew = (float *)malloc(sizeof(float) * w->numel), *m = (float *)calloc(w->numel, sizeof(float)),
              *v = (float *)calloc(w->numel, sizeof(float));
        memcpy(ew, w->data, sizeof(float) * w->numel);
        w->requires_grad = true;
        w->grad = tensor_copy(g);
        Optimizer *opt = kind ? adamw_create(&w, 1, 1e-2f, 0.9f, 0.99f, 1e-5f, 0.01f)
                              : sgd_create(&w, 1, 0.1f, 0.9f, 5e-4f);
        for (int t = 1; t <= 3; t++) {
            optimizer_step(opt);
            float c1 = (float)(1.0 - pow(0.9, t)), c2 = (float)(1.0 - pow(0.99, t));
            for (size_t i = 0; i < w->numel; i++) {
                if (kind)
                    adamw_at(i, ew, g->data, m, v, 1e-2f, 0.9f, 0.99f, 1e-5f, 0.01f, c1, c2);
                else
                    sgd_at(i, ew, g->data, m, 0.1f, 0.9f, 5e-4f);
            }
        }
        Tensor *emulated = tensor_from(2, shape, ew);
        compare_within(kind ? "adamw 3 steps" : "sgd 3 steps", emulated, w, 1e-6);
        optimizer_free(opt);
        free(ew), free(m), free(v);
        tensor_free(w), tensor_free(g), tensor_free(emulated);
    }
}

// ---- the index helpers on their own ----

static void test_indexing(void) {
    const int N = 3, C = 5, H = 7, W = 9;
    size_t HW = H * W, wrong = 0;
    for (int c = 0; c < C; c++)
        for (size_t j = 0; j < (size_t)N * HW; j++) {
            size_t i = channel_element(c, j, C, HW);
            wrong += nchw_channel(i, C, HW) != c || i != ((j / HW) * C + c) * HW + j % HW;
        }
    CHECK(wrong == 0, "channel_element and nchw_channel agree with NCHW layout (%zu wrong)", wrong);
    size_t gaps = 0;
    for (size_t M : {1ul, 7ul, 4096ul, 100003ul})
        for (int splits = 1; splits <= 130; splits += 43) {
            size_t next = 0;
            for (int s = 0; s < splits; s++) {
                size_t begin, end;
                split_range(M, splits, s, &begin, &end);
                gaps += begin != next || end < begin;
                next = end;
            }
            gaps += next != M;
        }
    CHECK(gaps == 0, "split_range tiles [0, M) without gaps or overlaps (%zu faults)", gaps);
}

int main(void) {
    rng_seed(&rng, 11, 0);
    test_indexing();
    test_batchnorm(3, 5, 7, 9);
    test_batchnorm(64, 3, 17, 19); // several splits per channel
    test_relu_pool();
    test_linear_bias();
    test_linear_gemms();
    test_cross_entropy();
    test_optimizers();
    return check_done("test_cuda_math");
}
