// test_grad_ops — every recording op against finite differences (gradcheck), every broadcasting
// form's forward against an explicit index formula, matmul against the naive reference, and a
// deliberately broken backward that gradcheck must reject.
//
// Run with a case name to run one case (ctest registers each as its own test), or with none for all.
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "check.h"
#include "grad_ops.h"
#include "gradcheck.h"
#include "ops.h"

static Rng rng;

static Tensor *param(int rank, const int *shape) {
    Tensor *t = tensor_uniform(rank, shape, -1.0f, 1.0f, &rng);
    t->requires_grad = true;
    return t;
}

// ---- gradchecks ----
// A loss must weigh each output differently, or a backward that mixes up elements could still
// pass: loss = sum(op(...) * w) with fixed random weights w, so d loss / d out = w.

typedef struct {
    Tensor *(*op)(Tensor *, Tensor *);
    Tensor *weights;
} BinaryCtx;

static Tensor *binary_loss(Tensor *const *in, void *ctx) {
    BinaryCtx *c = ctx;
    return sum(mul(c->op(in[0], in[1]), c->weights));
}

static void check_binary(const char *name, Tensor *(*op)(Tensor *, Tensor *), int a_rank, const int *a_shape,
                         int b_rank, const int *b_shape, int out_rank, const int *out_shape) {
    Tensor *in[2] = {param(a_rank, a_shape), param(b_rank, b_shape)};
    BinaryCtx ctx = {op, tensor_uniform(out_rank, out_shape, -1.0f, 1.0f, &rng)};
    CHECK(gradcheck(name, binary_loss, in, 2, &ctx, (GradCheckOptions){0}, stdout), "%s", name);
    tensor_free(in[0]), tensor_free(in[1]), tensor_free(ctx.weights);
}

// Each element-wise op in each broadcasting form the header promises; the output has a's shape.
#define ELEMENTWISE_CASES(op)                                                                                \
    static void case_##op##_same(void) {                                                                     \
        check_binary(#op "_same", op, SHAPE(3, 4), SHAPE(3, 4), SHAPE(3, 4));                                \
    }                                                                                                        \
    static void case_##op##_scalar(void) {                                                                   \
        check_binary(#op "_scalar", op, SHAPE(3, 4), SHAPE(1), SHAPE(3, 4));                                 \
    }                                                                                                        \
    static void case_##op##_row(void) {                                                                      \
        check_binary(#op "_row", op, SHAPE(3, 4), SHAPE(4), SHAPE(3, 4));                                    \
    }                                                                                                        \
    static void case_##op##_trailing(void) {                                                                 \
        check_binary(#op "_trailing", op, SHAPE(2, 3, 2, 2), SHAPE(3, 2, 2), SHAPE(2, 3, 2, 2));             \
    }                                                                                                        \
    static void case_##op##_channel(void) {                                                                  \
        check_binary(#op "_channel", op, SHAPE(2, 3, 2, 2), SHAPE(1, 3, 1, 1), SHAPE(2, 3, 2, 2));           \
    }
ELEMENTWISE_CASES(add)
ELEMENTWISE_CASES(sub)
ELEMENTWISE_CASES(mul)

static void case_matmul(void) {
    check_binary("matmul", matmul, SHAPE(5, 3), SHAPE(3, 4), SHAPE(5, 4));
}
static void case_matmul_vector(void) {
    check_binary("matmul_vector", matmul, SHAPE(5, 3), SHAPE(3), SHAPE(5));
}

// An input used twice must get both shares: d(a*a)/da = 2a, d(a+a)/da = 2.
static Tensor *self_loss(Tensor *const *in, void *ctx) {
    BinaryCtx *c = ctx;
    return sum(mul(c->op(in[0], in[0]), c->weights));
}

static void check_self(const char *name, Tensor *(*op)(Tensor *, Tensor *)) {
    Tensor *in[1] = {param(SHAPE(3, 4))};
    BinaryCtx ctx = {op, tensor_uniform(SHAPE(3, 4), -1.0f, 1.0f, &rng)};
    CHECK(gradcheck(name, self_loss, in, 1, &ctx, (GradCheckOptions){0}, stdout), "%s", name);
    tensor_free(in[0]), tensor_free(ctx.weights);
}
static void case_add_self(void) {
    check_self("add_self", add);
}
static void case_mul_self(void) {
    check_self("mul_self", mul);
}

static Tensor *scale_loss(Tensor *const *in, void *ctx) {
    return sum(mul(scale(in[0], -2.5f), ctx));
}
static Tensor *sum_loss(Tensor *const *in, void *ctx) {
    return scale(sum(in[0]), 3.0f);
}
static Tensor *mean_loss(Tensor *const *in, void *ctx) {
    return scale(mean(in[0]), 3.0f);
}
static Tensor *mse_loss_fn(Tensor *const *in, void *ctx) {
    return mse(in[0], in[1]);
}

static void case_scale(void) {
    Tensor *in[1] = {param(SHAPE(5, 3))}, *w = tensor_uniform(SHAPE(5, 3), -1.0f, 1.0f, &rng);
    CHECK(gradcheck("scale", scale_loss, in, 1, w, (GradCheckOptions){0}, stdout), "scale");
    tensor_free(in[0]), tensor_free(w);
}

static void case_sum(void) {
    Tensor *in[1] = {param(SHAPE(2, 3, 4))};
    CHECK(gradcheck("sum", sum_loss, in, 1, NULL, (GradCheckOptions){0}, stdout), "sum");
    tensor_free(in[0]);
}

static void case_mean(void) {
    Tensor *in[1] = {param(SHAPE(7))};
    CHECK(gradcheck("mean", mean_loss, in, 1, NULL, (GradCheckOptions){0}, stdout), "mean");
    tensor_free(in[0]);
}

static void case_mse(void) {
    Tensor *in[2] = {param(SHAPE(6, 2)), param(SHAPE(6, 2))}; // both sides: pred and target
    CHECK(gradcheck("mse", mse_loss_fn, in, 2, NULL, (GradCheckOptions){0}, stdout), "mse");
    tensor_free(in[0]), tensor_free(in[1]);
}

// ---- the check must be able to fail ----
// out = a^2 with a backward that forgets the 2 of d(a^2)/da = 2a.
static void broken_square_backward(Node *node) {
    Tensor *a = node->in[0];
    float *da = grad_of(a);
    for (size_t i = 0; i < a->numel; i++) da[i] += node->out->grad->data[i] * a->data[i]; // should be 2 * a
}

static Tensor *broken_square_loss(Tensor *const *in, void *ctx) {
    Tensor *a = in[0], *out = step_tensor(a->rank, a->shape);
    for (size_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] * a->data[i];
    tape_record("broken_square", out, broken_square_backward, 1, &a);
    return sum(out);
}

static void case_broken_backward(void) {
    Tensor *in[1] = {param(SHAPE(4, 3))};
    bool passed = gradcheck("broken_square", broken_square_loss, in, 1, NULL, (GradCheckOptions){0}, stdout);
    CHECK(!passed, "gradcheck accepted a backward that is off by a factor of 2");
    tensor_free(in[0]);
}

// ---- forward of each broadcasting form against its index formula, written out ----
static void case_broadcast_forward(void) {
    Tensor *a = param(SHAPE(2, 3, 2, 2)), *s = param(SHAPE(1)), *c = param(SHAPE(1, 3, 1, 1));
    Tensor *t = param(SHAPE(3, 2, 2)), *m = param(SHAPE(4, 3)), *r = param(SHAPE(3));
    Tensor *plus_s = add(a, s), *minus_c = sub(a, c), *times_t = mul(a, t), *times_r = mul(m, r);
    float worst = 0;
    for (int n = 0; n < 2; n++)
        for (int ch = 0; ch < 3; ch++)
            for (int hw = 0; hw < 4; hw++) {
                int i = (n * 3 + ch) * 4 + hw; // element (n, ch, h, w) of a (2,3,2,2) tensor
                worst = fmaxf(worst, fabsf(plus_s->data[i] - (a->data[i] + s->data[0])));
                worst = fmaxf(worst, fabsf(minus_c->data[i] - (a->data[i] - c->data[ch])));
                worst = fmaxf(worst, fabsf(times_t->data[i] - a->data[i] * t->data[ch * 4 + hw]));
            }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            worst = fmaxf(worst, fabsf(times_r->data[i * 3 + j] - m->data[i * 3 + j] * r->data[j]));
    printf("broadcast forward: largest difference from the index formulas %g\n", worst);
    CHECK(worst == 0.0f, "broadcast forward differs by %g", worst);
    tape_reset();
    tensor_free(a), tensor_free(s), tensor_free(c), tensor_free(t), tensor_free(m), tensor_free(r);
}

// ---- matmul: BLAS forward and backward against three plain loops ----
static float max_diff(const float *x, const float *y, size_t n) {
    float worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmaxf(worst, fabsf(x[i] - y[i]));
    return worst;
}

static void matmul_against_naive(int M, int K, int N, bool vector) {
    Tensor *a = param(SHAPE(M, K)), *b = vector ? param(SHAPE(K)) : param(SHAPE(K, N));
    Tensor *w =
        vector ? tensor_uniform(SHAPE(M), -1.0f, 1.0f, &rng) : tensor_uniform(SHAPE(M, N), -1.0f, 1.0f, &rng);
    Tensor *out = matmul(a, b);
    float *want = malloc(sizeof(float) * (size_t)(M * N + M * K + K * N));
    matmul_forward_naive(want, a->data, b->data, M, K, N);
    float forward = max_diff(out->data, want, (size_t)M * N);
    // loss = sum(C * w), so dC = w; the tape's dA and dB (sgemm) against the three-loop backward.
    backward(sum(mul(out, w)));
    float *loop_da = calloc((size_t)M * K, sizeof(float)), *loop_db = calloc((size_t)K * N, sizeof(float));
    matmul_backward_naive(loop_da, loop_db, w->data, a->data, b->data, M, K, N);
    float grad_a = max_diff(a->grad->data, loop_da, (size_t)M * K);
    float grad_b = max_diff(b->grad->data, loop_db, (size_t)K * N);
    // And the loops against the definition: dA = w @ B^T and dB = A^T @ w, by the naive product.
    Tensor *b2 = tensor_reshape(b, SHAPE(K, N)), *bt = tensor_transpose(b2), *at = tensor_transpose(a);
    matmul_forward_naive(want, w->data, bt->data, M, N, K);
    float loop_a = max_diff(loop_da, want, (size_t)M * K);
    matmul_forward_naive(want, at->data, w->data, K, M, N);
    float loop_b = max_diff(loop_db, want, (size_t)K * N);
    char right[32];
    if (vector)
        snprintf(right, sizeof right, "(%d)", K);
    else
        snprintf(right, sizeof right, "(%d,%d)", K, N);
    printf("matmul (%d,%d) @ %s: largest difference, sgemm from loops: forward %.2g, dA %.2g, dB %.2g; "
           "loops from transposed products: dA %.2g, dB %.2g\n",
           M, K, right, forward, grad_a, grad_b, loop_a, loop_b);
    float tol = 1e-5f * (float)(K > M ? K : M);
    CHECK(forward <= tol && grad_a <= tol && grad_b <= tol, "matmul (%d,%d,%d): sgemm differs from loops", M,
          K, N);
    CHECK(loop_a <= tol && loop_b <= tol, "matmul (%d,%d,%d): backward loops differ from dC @ B^T, A^T @ dC",
          M, K, N);
    tape_reset();
    free(want), free(loop_da), free(loop_db);
    tensor_free(a), tensor_free(b), tensor_free(w), tensor_free(b2), tensor_free(bt), tensor_free(at);
}

static void case_matmul_reference(void) {
    matmul_against_naive(5, 3, 7, false); // non-square
    matmul_against_naive(1, 4, 6, false); // one row
    matmul_against_naive(6, 4, 1, false); // one column
    matmul_against_naive(9, 5, 1, true);  // matrix @ vector
    matmul_against_naive(1, 1, 1, false);
    for (int k = 0; k < 4; k++) // random shapes
        matmul_against_naive(1 + (int)rng_below(&rng, 40), 1 + (int)rng_below(&rng, 40),
                             1 + (int)rng_below(&rng, 40), false);
}

typedef struct {
    const char *name;
    void (*run)(void);
} Case;

#define CASE(name)                                                                                           \
    { #name, case_##name }
#define ELEMENTWISE_NAMES(op)                                                                                \
    CASE(op##_same), CASE(op##_scalar), CASE(op##_row), CASE(op##_trailing), CASE(op##_channel)
static const Case cases[] = {
    ELEMENTWISE_NAMES(add),
    ELEMENTWISE_NAMES(sub),
    ELEMENTWISE_NAMES(mul),
    CASE(add_self),
    CASE(mul_self),
    CASE(scale),
    CASE(matmul),
    CASE(matmul_vector),
    CASE(sum),
    CASE(mean),
    CASE(mse),
    CASE(broken_backward),
    CASE(broadcast_forward),
    CASE(matmul_reference),
};

int main(int argc, char **argv) {
    rng_seed(&rng, 2019, 0);
    int ran = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (argc < 2 || !strcmp(argv[1], cases[k].name)) cases[k].run(), ran++;
    CHECK(ran > 0, "no case named '%s'", argc > 1 ? argv[1] : "");
    return check_done(argc > 1 ? argv[1] : "test_grad_ops");
}
