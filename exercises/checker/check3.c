// Exercise 3: matmul's backward for both inputs, as loops.
#include <stdio.h>

#include "exercises.h"
#include "ops.h"
#include "verdict.h"

enum { M = 4, K = 3, N = 5 };
#define EARLIER 0.5f // what da and db held before: backward must add to it

typedef struct {
    const float *a, *b, *dc;
} Product;

// loss = sum over m, n of dc[m][n] * (a @ b)[m][n], so d loss / d (a @ b) = dc.
static double weighted_product(void *ctx) {
    const Product *q = ctx;
    float c[M * N];
    matmul_forward_naive(c, q->a, q->b, M, K, N);
    double sum = 0;
    for (int i = 0; i < M * N; i++) sum += (double)q->dc[i] * c[i];
    return sum;
}

bool check_exercise_3(Rng *rng) {
    printf("exercise 3: matmul's backward, a (%d,%d) @ b (%d,%d), against finite differences\n", M, K, K, N);
    float *a = random_floats(M * K, -1, 1, rng), *b = random_floats(K * N, -1, 1, rng),
          *dc = random_floats(M * N, -1, 1, rng);
    Product q = {a, b, dc};
    double *fd_a = scratch(M * K), *fd_b = scratch(K * N);
    finite_differences(fd_a, a, M * K, weighted_product, &q, 0.5); // linear in a: any nudge is exact
    finite_differences(fd_b, b, K * N, weighted_product, &q, 0.5);
    double *want_a = plus(fd_a, M * K, EARLIER), *want_b = plus(fd_b, K * N, EARLIER);

    float da[M * K], db[K * N];
    for (int i = 0; i < M * K; i++) da[i] = EARLIER;
    for (int i = 0; i < K * N; i++) db[i] = EARLIER;
    my_matmul_backward(da, db, dc, a, b, M, K, N);

    // Reading b (K,N) as if it were stored transposed: b[n * K + k] instead of b[k * N + n].
    double *a_wrong_stride = plus(scratch(M * K), M * K, EARLIER),
           *b_wrong_stride = plus(scratch(K * N), K * N, EARLIER);
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++)
            for (int n = 0; n < N; n++) a_wrong_stride[m * K + k] += (double)dc[m * N + n] * b[n * K + k];
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++)
            for (int m = 0; m < M; m++) b_wrong_stride[k * N + n] += (double)a[k * M + m] * dc[m * N + n];
    Mistake a_slips[] = {
        {plus(scratch(M * K), M * K, EARLIER), "nothing was added into da: the first loop's blank is still "
                                               "empty."},
        {fd_a, "da was overwritten instead of added to: backward adds (+=), so that a "
               "tensor used twice gets both gradients."},
        {a_wrong_stride, "b was read as b[n][k] at b[n * K + k], but b is (K,N): b[k][n] is b[k * N + n]. "
                         "dA = dC @ B^T uses b's row k."},
        {plus(scaled(fd_a, M * K, -1), M * K, EARLIER), "the sign is flipped: c rises with a[m][k] "
                                                        "where b[k][n] > 0, and dA says how."},
    };
    Mistake b_slips[] = {
        {plus(scratch(K * N), K * N, EARLIER), "nothing was added into db: the second loop's blank is still "
                                               "empty."},
        {fd_b, "db was overwritten instead of added to: backward adds (+=)."},
        {b_wrong_stride, "a was read as a[k][m] at a[k * M + m], but a is (M,K): a[m][k] is a[m * K + k]. "
                         "dB = A^T @ dC uses a's column k."},
        {plus(scaled(fd_b, K * N, -1), K * N, EARLIER), "the sign is flipped."},
    };
    bool ok = verdict(&(Layout){"da", 2, {M, K}}, da, want_a, a_slips, 4);
    ok &= verdict(&(Layout){"db", 2, {K, N}}, db, want_b, b_slips, 4);
    if (ok)
        printf("  You just wrote matmul's backward: dA = dC @ B^T and dB = A^T @ dC. Every Linear layer's "
               "gradient is these two products; training runs them through sgemm (grad_ops.c).\n");
    return ok;
}
