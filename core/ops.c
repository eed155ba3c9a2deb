// ops.c — element-wise maths, matrix products (OpenBLAS), reductions, MSE and accuracy.
// Read first: tensor.c.
#include "ops.h"

#include <cblas.h>
#include <stdlib.h>

void matmul_forward(float *out, const float *a, const float *b, int M, int K, int N) {
    // Row-major C = 1.0 * A @ B + 0.0 * C. lda/ldb/ldc are the row lengths.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, out, N);
}

void blas_single_threaded(void) {
#ifdef SGDLAB_OPENBLAS
    openblas_set_num_threads(1);
#endif // another CBLAS: its own threading settings (environment variables) apply
}

void matmul_forward_naive(float *out, const float *a, const float *b, int M, int K, int N) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0; // double keeps the reference more exact than the thing it checks
            for (int k = 0; k < K; k++) acc += (double)a[i * K + k] * b[k * N + j];
            out[i * N + j] = (float)acc;
        }
}

static Tensor *new_like(const Tensor *t) {
    return tensor_zeros(t->rank, t->shape);
}

Tensor *tensor_add(const Tensor *a, const Tensor *b) {
    tensor_check_same_shape("tensor_add", a, b);
    Tensor *out = new_like(a);
#pragma omp parallel for simd if (a->numel > 65536)
    for (size_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] + b->data[i];
    return out;
}

Tensor *tensor_sub(const Tensor *a, const Tensor *b) {
    tensor_check_same_shape("tensor_sub", a, b);
    Tensor *out = new_like(a);
#pragma omp parallel for simd if (a->numel > 65536)
    for (size_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] - b->data[i];
    return out;
}

Tensor *tensor_mul(const Tensor *a, const Tensor *b) {
    tensor_check_same_shape("tensor_mul", a, b);
    Tensor *out = new_like(a);
#pragma omp parallel for simd if (a->numel > 65536)
    for (size_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] * b->data[i];
    return out;
}

Tensor *tensor_scale(const Tensor *a, float s) {
    Tensor *out = new_like(a);
    for (size_t i = 0; i < a->numel; i++) out->data[i] = s * a->data[i];
    return out;
}

void tensor_axpy_(Tensor *a, float s, const Tensor *b) {
    tensor_check_same_shape("tensor_axpy_", a, b);
    for (size_t i = 0; i < a->numel; i++) a->data[i] += s * b->data[i];
}

Tensor *tensor_matmul(const Tensor *a, const Tensor *b) {
    tensor_check_rank("tensor_matmul (left)", a, 2);
    if (b->rank != 1 && b->rank != 2) tensor_check_rank("tensor_matmul (right)", b, 2);
    int M = a->shape[0], K = a->shape[1], N = b->rank == 1 ? 1 : b->shape[1];
    if (b->shape[0] != K) {
        char sa[64], sb[64];
        sgd_panic("tensor_matmul: %s @ %s, inner sizes %d and %d differ", tensor_shape_str(a, sa, sizeof sa),
                  tensor_shape_str(b, sb, sizeof sb), K, b->shape[0]);
    }
    Tensor *out = b->rank == 1 ? tensor_zeros(SHAPE(M)) : tensor_zeros(SHAPE(M, N));
    matmul_forward(out->data, a->data, b->data, M, K, N);
    return out;
}

Tensor *tensor_transpose(const Tensor *a) {
    tensor_check_rank("tensor_transpose", a, 2);
    int R = a->shape[0], C = a->shape[1];
    Tensor *out = tensor_zeros(SHAPE(C, R));
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) out->data[(size_t)j * R + i] = a->data[(size_t)i * C + j];
    return out;
}

float tensor_sum(const Tensor *t) {
    double acc = 0; // a float accumulator loses digits once the sum is large
    for (size_t i = 0; i < t->numel; i++) acc += t->data[i];
    return (float)acc;
}

float tensor_mean(const Tensor *t) {
    return t->numel ? tensor_sum(t) / (float)t->numel : 0.0f;
}

size_t tensor_argmax(const Tensor *t) {
    size_t best = 0;
    for (size_t i = 1; i < t->numel; i++)
        if (t->data[i] > t->data[best]) best = i;
    return best;
}

int argmax(const float *values, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (values[i] > values[best]) best = i;
    return best;
}

void tensor_argmax_rows(const Tensor *t, int *out) {
    tensor_check_rank("tensor_argmax_rows", t, 2);
    int N = t->shape[0], C = t->shape[1];
    for (int i = 0; i < N; i++) {
        out[i] = argmax(t->data + (size_t)i * C, C);
    }
}

float mse_loss(const Tensor *pred, const Tensor *target) {
    tensor_check_same_shape("mse_loss", pred, target);
    double acc = 0;
    for (size_t i = 0; i < pred->numel; i++) {
        double d = (double)pred->data[i] - target->data[i];
        acc += d * d;
    }
    return pred->numel ? (float)(acc / (double)pred->numel) : 0.0f;
}

float accuracy(const Tensor *scores, const int *labels) {
    tensor_check_rank("accuracy", scores, 2);
    int N = scores->shape[0];
    if (N == 0) return 0.0f;
    int *pred = sgd_malloc(sizeof(int) * (size_t)N);
    tensor_argmax_rows(scores, pred);
    int correct = 0;
    for (int i = 0; i < N; i++) correct += pred[i] == labels[i];
    free(pred);
    return (float)correct / (float)N;
}

float error_rate(const Tensor *scores, const int *labels) {
    return 1.0f - accuracy(scores, labels);
}
