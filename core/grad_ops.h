// grad_ops.h — tensor ops that record themselves on the tape, so backward() can run them in reverse.
//
// These are the ops a training step is written with. They read like PyTorch:
//
//     Tensor *loss = mse(matmul(x, a), y);   // PyTorch: loss = mse(x @ a, y)
//     backward(loss);                        //          loss.backward()
//
// Each op computes its result into a step tensor (freed by tape_reset(), so never tensor_free it)
// and, when an input requires grad and grad mode is on, appends a node to the tape (autograd.h).
// Its backward function adds (+=) d loss / d input into input->grad for every input that
// requires grad: adding, not overwriting, is what makes a tensor used twice get both shares, and
// also why zero_grad() is needed between steps.
//
// Broadcasting in add / sub / mul: the second operand b may be smaller than a, and is repeated to
// a's shape; the result always has a's shape. Line the shapes up from the right (as PyTorch
// does): b's rank must be <= a's, and each of b's sizes must equal a's size on that axis or be 1.
// So these all work:
//     same shape          (N,C)     + (N,C)
//     a scalar            (N,C)     * (1)        any b with one element, any rank
//     a row vector        (N,C)     + (C)        a bias added to every row
//     trailing axes       (N,C,H,W) + (C,H,W)
//     per channel         (N,C,H,W) * (1,C,1,1)  or (C,1,1): a scale for each channel
// A smaller a with a bigger b is refused: write add(b, a), mul(b, a), or scale(sub(b, a), -1) for a - b.
// In backward, b's gradient is summed over the axes it was repeated along.
#ifndef SGDLAB_GRAD_OPS_H
#define SGDLAB_GRAD_OPS_H

#include "tensor.h"

Tensor *add(Tensor *a, Tensor *b);         // a + b   (b broadcasts to a's shape)
Tensor *sub(Tensor *a, Tensor *b);         // a - b   (b broadcasts to a's shape)
Tensor *mul(Tensor *a, Tensor *b);         // a * b, element by element (b broadcasts to a's shape)
Tensor *scale(Tensor *a, float s);         // s * a
Tensor *matmul(Tensor *a, Tensor *b);      // (M,K) @ (K,N) -> (M,N), and (M,K) @ (K) -> (M)
Tensor *sum(Tensor *a);                    // sum of all elements -> a scalar (rank 0)
Tensor *mean(Tensor *a);                   // mean of all elements -> a scalar (rank 0)
Tensor *mse(Tensor *pred, Tensor *target); // mean((pred - target)^2) -> a scalar; same shapes

// matmul's backward on plain arrays, a is (M,K), b is (K,N), dc is (M,N): da += dc @ b^T (M,K) and
// db += a^T @ dc (K,N); da or db may be NULL. The fast one (sgemm) is what the tape runs; the naive
// one is three loops to read, and the reference the tests compare the fast one with.
void matmul_backward(float *da, float *db, const float *dc, const float *a, const float *b, int M, int K,
                     int N);
void matmul_backward_naive(float *da, float *db, const float *dc, const float *a, const float *b, int M,
                           int K, int N);

#endif
