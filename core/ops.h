// ops.h — forward maths on tensors, no gradients (autograd.h records these for backward).
//
// Two layers, the llm.c way:
//   * kernels on plain float arrays with the shape letters as arguments, e.g.
//       matmul_forward(out, a, b, M, K, N)   // a is (M,K), b is (K,N), out is (M,N)
//     with a naive reference next to the fast one (matmul_forward_naive) and a test that they agree;
//   * tensor functions that check shapes and allocate the result, e.g. tensor_matmul(x, a).
#ifndef SGDLAB_OPS_H
#define SGDLAB_OPS_H

#include "tensor.h"

// ---- kernels on float arrays ----
// out (M,N) = a (M,K) @ b (K,N), through cblas_sgemm: the one call where nearly all time goes.
void matmul_forward(float *out, const float *a, const float *b, int M, int K, int N);
// The same product with three loops: slow, obviously right, the reference the tests trust.
void matmul_forward_naive(float *out, const float *a, const float *b, int M, int K, int N);
// From now on every product runs on its caller's thread alone (OpenBLAS starts no threads of its
// own): for a server whose threads each answer one request on one core, where OpenBLAS's pool
// would only be fought over. Process-wide; call it before the threads start.
void blas_single_threaded(void);

// ---- element-wise (same shapes; a new tensor) ----
Tensor *tensor_add(const Tensor *a, const Tensor *b);
Tensor *tensor_sub(const Tensor *a, const Tensor *b);
Tensor *tensor_mul(const Tensor *a, const Tensor *b);
Tensor *tensor_scale(const Tensor *a, float s);
// In place: a += s * b (the "axpy" every optimiser step is made of: a -= lr * grad is s = -lr).
void tensor_axpy_(Tensor *a, float s, const Tensor *b);

// ---- matrix products ----
// (M,K) @ (K,N) -> (M,N). A rank-1 right operand (K) is treated as (K,1) and gives (M).
Tensor *tensor_matmul(const Tensor *a, const Tensor *b);
// Transpose of a rank-2 tensor (a copy).
Tensor *tensor_transpose(const Tensor *a);

// ---- reductions ----
float tensor_sum(const Tensor *t);
float tensor_mean(const Tensor *t);
// Index of the largest element (first one on ties), of the whole tensor.
size_t tensor_argmax(const Tensor *t);
// Index of the largest of n floats (first one on ties): which class a row of scores picks.
int argmax(const float *values, int n);
// Per row of an (N, C) tensor: the column of the largest value; out has N ints.
void tensor_argmax_rows(const Tensor *t, int *out);

// ---- losses and metrics ----
// Mean squared error: mean((pred - target)^2).
float mse_loss(const Tensor *pred, const Tensor *target);
// Fraction of rows of (N, C) scores whose argmax equals the label, and 1 - that.
float accuracy(const Tensor *scores, const int *labels);
float error_rate(const Tensor *scores, const int *labels);

#endif
