// exercises.h — the functions you write in exercises/ex*.c, and what the checker calls.
//
// Each exercise is a copy of real sgdlab code with its key lines blanked as /* YOUR CODE HERE */.
// The blanks compile and give zeros, so the checker always runs and tells you what is missing:
//     build/bin/check-exercise 1          (notes/exercises.md says more)
#ifndef SGDLAB_EXERCISES_H
#define SGDLAB_EXERCISES_H

#include <stddef.h>

#include "conv.h"
#include "rng.h"
#include "tensor.h"

// ---- 1. lab01: the gradient of the line fit, and the update ----
// x is (n,2) (column 1 all ones), y is (n), a is (2): grad = d mean((x@a - y)^2) / d a.
void linear_gradient(const float *x, const float *y, const float *a, int n, float grad[2]);
// a -= lr * grad, in place.
void linear_update(float a[2], const float grad[2], float lr);

// ---- 2. MSE as a tape op (grad_ops.c's mse) ----
// mean((pred - target)^2) -> a scalar, recorded on the tape so backward() reaches pred and target.
Tensor *my_mse(Tensor *pred, Tensor *target);

// ---- 3. matmul's backward as loops (grad_ops.c's matmul_backward_naive) ----
// a (M,K), b (K,N), dc (M,N): da += dc @ b^T, db += a^T @ dc.
void my_matmul_backward(float *da, float *db, const float *dc, const float *a, const float *b, int M, int K,
                        int N);

// ---- 4. ReLU's and cross-entropy's backward (layers.c) ----
// y = relu(x) (n numbers), dy = d loss / d y: dx += d loss / d x.
void my_relu_backward(float *dx, const float *y, const float *dy, size_t n);
// loss = dloss_scale * mean over the N rows of -log softmax(z)[label]; softmax (N,C) of the logits z.
// dz += d loss / d z.
void my_cross_entropy_backward(float *dz, const float *softmax, const int *labels, int N, int C,
                               float dloss_scale);

// ---- 5. one epoch of minibatch SGD (lab04's train loop) ----
// Given (the checker supplies it, as lab04's update): one step of a from the m points idx[0..m).
void sgd_update(float a[2], const float *x1, const float *y, const int *idx, int m, float lr);
// One epoch over the n points: shuffle order (n indices) with rng, then one sgd_update per
// minibatch of bs points taken from order.
void sgd_epoch(float a[2], const float *x1, const float *y, int *order, int n, int bs, float lr, Rng *rng);

// ---- 6. conv2d's backward with respect to the weights, as loops (conv.c's naive reference) ----
// dout (N,OC,OH,OW), x (N,C,H,W): dw (OC,C,KH,KW) += d loss / d w.
void my_conv2d_weight_grad(float *dw, const float *dout, const float *x, const ConvShape *s);

#endif
