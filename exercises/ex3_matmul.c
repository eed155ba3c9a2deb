// Exercise 3 — matmul's backward, both inputs, as plain loops (grad_ops.c's matmul_backward_naive).
//
// c = a @ b with a (M,K), b (K,N), c (M,N):   c[m][n] = sum over k of a[m][k] * b[k][n].
// Given dc = d loss / d c, find how the loss moves with each a[m][k] and each b[k][n], and ADD it in.
// Row-major: a[m][k] is a[m * K + k], b[k][n] is b[k * N + n], dc[m][n] is dc[m * N + n].
// Check it: build/bin/check-exercise 3
#include "exercises.h"

void my_matmul_backward(float *da, float *db, const float *dc, const float *a, const float *b, int M, int K,
                        int N) {
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double acc = 0;
            // a[m][k] moved every c[m][n] of its row by b[k][n]: sum those, weighted by dc[m][n].
            /* YOUR CODE HERE */
            da[m * K + k] += (float)acc;
        }
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) {
            double acc = 0;
            // b[k][n] moved c[m][n] by a[m][k], in every row m.
            /* YOUR CODE HERE */
            db[k * N + n] += (float)acc;
        }
}
