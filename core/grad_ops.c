// grad_ops.c — forward and backward of the recording ops, in the order of the header.
// Read first: autograd.c (the tape these ops record onto).
//
// Every op has the same three parts, micrograd-style:
//   1. check shapes and compute the result into a step tensor,
//   2. tape_record() the inputs and the backward function (nothing is recorded in no-grad mode or
//      when no input requires grad),
//   3. a backward that reads d loss / d out from out->grad and adds its share into each input.
#include "grad_ops.h"

#include <cblas.h>
#include <string.h>

#include "autograd.h"
#include "ops.h"

// Below this many elements a loop is faster on one thread than the cost of waking the others.
enum { PARALLEL_MIN = 1 << 16 };

// ---- broadcasting: which element of b pairs with element i of a ----

typedef struct {
    bool same;                      // b has a's shape: element i pairs with element i
    int shape[TENSOR_MAX_RANK];     // a's shape (trailing entries 1)
    size_t stride[TENSOR_MAX_RANK]; // how far b's index moves per step along each axis of a; 0 = repeated
} Broadcast;

static Broadcast broadcast(const char *op, const Tensor *a, const Tensor *b) {
    Broadcast bc = {.same = tensor_same_shape(a, b)};
    memcpy(bc.shape, a->shape, sizeof bc.shape);
    if (bc.same || b->numel == 1) return bc; // a scalar b: every stride stays 0
    // Line the axes up from the right: b's last axis against a's last axis, and so on.
    int offset = a->rank - b->rank;
    bool ok = offset >= 0;
    size_t stride = 1;
    for (int d = a->rank - 1; ok && d >= 0; d--) {
        int size = d >= offset ? b->shape[d - offset] : 1;
        ok = size == 1 || size == a->shape[d];
        bc.stride[d] = size == 1 ? 0 : stride;
        stride *= (size_t)size;
    }
    if (!ok) {
        char sa[64], sb[64];
        sgd_panic("%s: %s cannot be broadcast to %s (each size of b, lined up from the right, must match "
                  "a's or be 1)",
                  op, tensor_shape_str(b, sb, sizeof sb), tensor_shape_str(a, sa, sizeof sa));
    }
    return bc;
}

// Turn the flat index i into per-axis indices of a's shape and collect b's offset from them.
static inline size_t b_index(const Broadcast *bc, size_t i) {
    if (bc->same) return i;
    size_t at = 0;
    for (int d = TENSOR_MAX_RANK - 1; d >= 0; d--) {
        at += i % (size_t)bc->shape[d] * bc->stride[d];
        i /= (size_t)bc->shape[d];
    }
    return at;
}

// ---- add, sub, mul ----

// dA += dC;  dB += dC, summed over the axes where b was repeated
static void add_backward(Node *node) {
    Tensor *a = node->in[0], *b = node->in[1];
    const float *dc = node->out->grad->data;
    Broadcast bc = broadcast("add", a, b);
    if (a->requires_grad) {
        float *da = grad_of(a);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
        for (size_t i = 0; i < a->numel; i++) da[i] += dc[i];
    }
    if (b->requires_grad) {
        float *db = grad_of(b);
        // A repeated b gathers many dc into one db: threads would collide, so only `same` goes parallel.
#pragma omp parallel for if (bc.same && a->numel > PARALLEL_MIN)
        for (size_t i = 0; i < a->numel; i++) db[b_index(&bc, i)] += dc[i];
    }
}

// out = a + b: shape of a
Tensor *add(Tensor *a, Tensor *b) {
    Broadcast bc = broadcast("add", a, b);
    Tensor *out = step_tensor(a->rank, a->shape);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
    for (size_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] + b->data[b_index(&bc, i)];
    tape_record("add", out, add_backward, 2, (Tensor *[]){a, b});
    return out;
}

// dA += dC;  dB -= dC, summed over the axes where b was repeated
static void sub_backward(Node *node) {
    Tensor *a = node->in[0], *b = node->in[1];
    const float *dc = node->out->grad->data;
    Broadcast bc = broadcast("sub", a, b);
    if (a->requires_grad) {
        float *da = grad_of(a);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
        for (size_t i = 0; i < a->numel; i++) da[i] += dc[i];
    }
    if (b->requires_grad) {
        float *db = grad_of(b);
#pragma omp parallel for if (bc.same && a->numel > PARALLEL_MIN)
        for (size_t i = 0; i < a->numel; i++) db[b_index(&bc, i)] -= dc[i];
    }
}

// out = a - b: shape of a
Tensor *sub(Tensor *a, Tensor *b) {
    Broadcast bc = broadcast("sub", a, b);
    Tensor *out = step_tensor(a->rank, a->shape);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
    for (size_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] - b->data[b_index(&bc, i)];
    tape_record("sub", out, sub_backward, 2, (Tensor *[]){a, b});
    return out;
}

// dA += dC * b;  dB += dC * a, summed over the axes where b was repeated
static void mul_backward(Node *node) {
    Tensor *a = node->in[0], *b = node->in[1];
    const float *dc = node->out->grad->data;
    Broadcast bc = broadcast("mul", a, b);
    if (a->requires_grad) {
        float *da = grad_of(a);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
        for (size_t i = 0; i < a->numel; i++) da[i] += dc[i] * b->data[b_index(&bc, i)];
    }
    if (b->requires_grad) {
        float *db = grad_of(b);
#pragma omp parallel for if (bc.same && a->numel > PARALLEL_MIN)
        for (size_t i = 0; i < a->numel; i++) db[b_index(&bc, i)] += dc[i] * a->data[i];
    }
}

// out = a * b: shape of a
Tensor *mul(Tensor *a, Tensor *b) {
    Broadcast bc = broadcast("mul", a, b);
    Tensor *out = step_tensor(a->rank, a->shape);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
    for (size_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] * b->data[b_index(&bc, i)];
    tape_record("mul", out, mul_backward, 2, (Tensor *[]){a, b});
    return out;
}

// ---- scale ----

// dA += s * dC
static void scale_backward(Node *node) {
    Tensor *a = node->in[0];
    const float *dc = node->out->grad->data;
    float s = node->f[0], *da = grad_of(a);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
    for (size_t i = 0; i < a->numel; i++) da[i] += s * dc[i];
}

// out = s * a: shape of a
Tensor *scale(Tensor *a, float s) {
    Tensor *out = step_tensor(a->rank, a->shape);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
    for (size_t i = 0; i < a->numel; i++) out->data[i] = s * a->data[i];
    Node *node = tape_record("scale", out, scale_backward, 1, (Tensor *[]){a});
    if (node) node->f[0] = s;
    return out;
}

// ---- matmul ----

// A is (M,K), B is (K,N), dC is (M,N):
// dA (M,K) += dC (M,N) @ B^T (N,K)     how much each a[m][k] moved each output of row m
// dB (K,N) += A^T (K,M) @ dC (M,N)     summed over the M rows that used b[k][n]
// The loops say it one number at a time; this is the version to read.
void matmul_backward_naive(float *da, float *db, const float *dc, const float *a, const float *b, int M,
                           int K, int N) {
    if (da)
        for (int m = 0; m < M; m++)
            for (int k = 0; k < K; k++) {
                double acc = 0; // c[m][n] = sum_k a[m][k] b[k][n], so d c[m][n] / d a[m][k] = b[k][n]
                for (int n = 0; n < N; n++) acc += (double)dc[m * N + n] * b[k * N + n];
                da[m * K + k] += (float)acc;
            }
    if (db)
        for (int k = 0; k < K; k++)
            for (int n = 0; n < N; n++) {
                double acc = 0; // d c[m][n] / d b[k][n] = a[m][k], for every row m
                for (int m = 0; m < M; m++) acc += (double)a[m * K + k] * dc[m * N + n];
                db[k * N + n] += (float)acc;
            }
}

// The same two products through sgemm, which is what training runs. beta = 1 is the "+=": sgemm
// adds the product to what the gradient already holds. lda/ldb/ldc are the row lengths.
void matmul_backward(float *da, float *db, const float *dc, const float *a, const float *b, int M, int K,
                     int N) {
    if (da) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, dc, N, b, N, 1.0f, da, K);
    if (db) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, a, K, dc, N, 1.0f, db, N);
}

// A rank-1 B (K) is the column (K,1), so N = 1.
static void matmul_node_backward(Node *node) {
    Tensor *a = node->in[0], *b = node->in[1];
    int M = a->shape[0], K = a->shape[1], N = b->rank == 1 ? 1 : b->shape[1];
    matmul_backward(a->requires_grad ? grad_of(a) : NULL, b->requires_grad ? grad_of(b) : NULL,
                    node->out->grad->data, a->data, b->data, M, K, N);
}

// (M,K) @ (K,N) -> (M,N);  (M,K) @ (K) -> (M)
Tensor *matmul(Tensor *a, Tensor *b) {
    tensor_check_rank("matmul (left)", a, 2);
    if (b->rank != 1) tensor_check_rank("matmul (right)", b, 2);
    int M = a->shape[0], K = a->shape[1], N = b->rank == 1 ? 1 : b->shape[1];
    if (b->shape[0] != K) {
        char sa[64], sb[64];
        sgd_panic("matmul: %s @ %s, inner sizes %d and %d differ", tensor_shape_str(a, sa, sizeof sa),
                  tensor_shape_str(b, sb, sizeof sb), K, b->shape[0]);
    }
    Tensor *out = b->rank == 1 ? step_tensor(SHAPE(M)) : step_tensor(SHAPE(M, N));
    matmul_forward(out->data, a->data, b->data, M, K, N);
    tape_record("matmul", out, matmul_node_backward, 2, (Tensor *[]){a, b});
    return out;
}

// ---- reductions to a scalar ----
// Sums run on one thread in double: the same bits every run (a parallel sum adds in varying order).

// dA += dC: every element moves the sum one for one
static void sum_backward(Node *node) {
    Tensor *a = node->in[0];
    float dc = node->out->grad->data[0], *da = grad_of(a);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
    for (size_t i = 0; i < a->numel; i++) da[i] += dc;
}

// (any shape) -> scalar
Tensor *sum(Tensor *a) {
    Tensor *out = step_tensor(0, NULL);
    double acc = 0;
    for (size_t i = 0; i < a->numel; i++) acc += a->data[i];
    out->data[0] = (float)acc;
    tape_record("sum", out, sum_backward, 1, (Tensor *[]){a});
    return out;
}

// dA += dC / n
static void mean_backward(Node *node) {
    Tensor *a = node->in[0];
    float g = node->out->grad->data[0] / (float)a->numel, *da = grad_of(a);
#pragma omp parallel for if (a->numel > PARALLEL_MIN)
    for (size_t i = 0; i < a->numel; i++) da[i] += g;
}

// (any shape, at least one element) -> scalar
Tensor *mean(Tensor *a) {
    if (a->numel == 0) sgd_panic("mean of an empty tensor");
    Tensor *out = step_tensor(0, NULL);
    double acc = 0;
    for (size_t i = 0; i < a->numel; i++) acc += a->data[i];
    out->data[0] = (float)(acc / (double)a->numel);
    tape_record("mean", out, mean_backward, 1, (Tensor *[]){a});
    return out;
}

// loss = 1/n sum (p - t)^2, so  dP += dC * 2/n (p - t)  and  dT -= the same
static void mse_backward(Node *node) {
    Tensor *p = node->in[0], *t = node->in[1];
    float g = node->out->grad->data[0] * 2.0f / (float)p->numel;
    float *dp = p->requires_grad ? grad_of(p) : NULL, *dt = t->requires_grad ? grad_of(t) : NULL;
    for (size_t i = 0; i < p->numel; i++) {
        float d = g * (p->data[i] - t->data[i]);
        if (dp) dp[i] += d;
        if (dt) dt[i] -= d;
    }
}

// pred and target have the same shape (at least one element) -> scalar
Tensor *mse(Tensor *pred, Tensor *target) {
    tensor_check_same_shape("mse", pred, target);
    if (pred->numel == 0) sgd_panic("mse of empty tensors");
    Tensor *out = step_tensor(0, NULL);
    double acc = 0;
    for (size_t i = 0; i < pred->numel; i++) {
        double d = (double)pred->data[i] - target->data[i];
        acc += d * d;
    }
    out->data[0] = (float)(acc / (double)pred->numel);
    tape_record("mse", out, mse_backward, 2, (Tensor *[]){pred, target});
    return out;
}
