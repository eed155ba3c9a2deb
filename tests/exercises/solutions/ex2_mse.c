// Exercise 2 — mean squared error as an op on the autograd tape (a copy of grad_ops.c's mse).
//
// An op has three parts: compute its result, tape_record() itself, and a backward function that
// reads d loss / d out from out->grad and ADDS (+=) its share into each input's gradient.
//     loss = 1/n * sum (p_i - t_i)^2
// Check it: build/bin/check-exercise 2
#include "autograd.h"
#include "exercises.h"

static void my_mse_backward(Node *node) {
    Tensor *p = node->in[0], *t = node->in[1];
    float *dp = p->requires_grad ? grad_of(p) : NULL, *dt = t->requires_grad ? grad_of(t) : NULL;
    float dout = node->out->grad->data[0]; // d loss / d (this op's output): the chain rule's first factor
    // For each i: d out / d p_i and d out / d t_i, times dout, added into dp[i] and dt[i]
    // (only when the pointer is not NULL: an input that needs no gradient has none).
    float g = dout * 2.0f / (float)p->numel;
    for (size_t i = 0; i < p->numel; i++) {
        float d = g * (p->data[i] - t->data[i]);
        if (dp) dp[i] += d;
        if (dt) dt[i] -= d;
    }
}

Tensor *my_mse(Tensor *pred, Tensor *target) {
    tensor_check_same_shape("my_mse", pred, target);
    if (pred->numel == 0) sgd_panic("my_mse of empty tensors");
    Tensor *out = step_tensor(0, NULL);
    double acc = 0;
    for (size_t i = 0; i < pred->numel; i++) {
        // Add this element's squared difference into acc (in double: a long sum of floats drifts).
        double d = (double)pred->data[i] - target->data[i];
        acc += d * d;
    }
    // The loss is the MEAN of the squares.
    out->data[0] = (float)(acc / (double)pred->numel);
    tape_record("my_mse", out, my_mse_backward, 2, (Tensor *[]){pred, target});
    return out;
}
