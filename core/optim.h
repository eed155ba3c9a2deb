// optim.h — optimisers: the update step, "a -= lr * a.grad", with the improvements people use.
//
// An Optimizer holds the list of parameters it updates and the buffers it keeps between steps
// (allocated once, at creation). A training step reads:
//
//     Optimizer *opt = sgd_create(params, n_params, 0.1f, 0.9f, 0.0f);
//     ...
//     backward(loss);
//     opt->lr = ...;  opt->momentum = ...;   // optional: a schedule (schedule.h) sets these each step
//     optimizer_step(opt);                  // runs with grad mode off: updates are not recorded
//     optimizer_zero_grad(opt);             // or the next backward() adds on top of these gradients
//
// SGD, as PyTorch's torch.optim.SGD (dampening 0, no Nesterov). For each parameter w with gradient g:
//     g   = g + wd * w            weight decay as L2 in the gradient: the loss gains wd/2 * |w|^2
//     buf = momentum * buf + g    momentum: a running sum that keeps moving in a steady direction
//     w   = w - lr * buf          (momentum 0: plain w -= lr * g, the lesson's update)
// AdamW, as PyTorch's torch.optim.AdamW (step t counts from 1):
//     w   = w - lr * wd * w       decoupled weight decay: shrink w, apart from the gradient
//     m   = beta1 * m + (1 - beta1) * g          a running mean of the gradient ...
//     v   = beta2 * v + (1 - beta2) * g^2        ... and of its square
//     w   = w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// The divisions by (1 - beta^t) undo the pull towards 0 of buffers that start at 0.
// For AdamW the `momentum` field is beta1, so one-cycle can move it the same way for both.
#ifndef SGDLAB_OPTIM_H
#define SGDLAB_OPTIM_H

#include "tensor.h"

typedef enum { OPTIM_SGD, OPTIM_ADAMW } OptimizerKind;

typedef struct {
    OptimizerKind kind;
    Tensor **params; // the parameters (not owned; the model frees them)
    int n_params;
    float lr;           // settable before every step
    float momentum;     // SGD momentum, or AdamW's beta1; settable before every step
    float beta2, eps;   // AdamW only
    float weight_decay; // SGD: L2 added to the gradient; AdamW: decoupled
    int t;              // steps taken so far
    float **state1;     // SGD: momentum buffer; AdamW: m. One per parameter, same size.
    float **state2;     // AdamW: v (NULL for SGD)
} Optimizer;

Optimizer *sgd_create(Tensor *const *params, int n_params, float lr, float momentum, float weight_decay);
// PyTorch's defaults are beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0.01.
Optimizer *adamw_create(Tensor *const *params, int n_params, float lr, float beta1, float beta2, float eps,
                        float weight_decay);
// One update of every parameter that has a gradient (parameters no gradient reached are left alone).
void optimizer_step(Optimizer *opt);
// Set every parameter's gradient to zero (PyTorch's optimizer.zero_grad()).
void optimizer_zero_grad(Optimizer *opt);
void optimizer_free(Optimizer *opt);

#endif
