// Exercise 5 — one epoch of minibatch SGD (lab04's training loop).
//
// Full-batch gradient descent looks at all n points before each step. SGD shuffles the points,
// cuts them into minibatches of bs, and takes one step per minibatch: many cheap, noisy steps per
// epoch instead of one exact one. An epoch still sees every point exactly once.
// sgd_update(a, x1, y, idx, m, lr) is given: one step of a from the m points idx[0..m).
// Check it: build/bin/check-exercise 5
#include "exercises.h"

void sgd_epoch(float a[2], const float *x1, const float *y, int *order, int n, int bs, float lr, Rng *rng) {
    // 1. Put order (the n point indices) in a new random order: rng.h has a shuffle.
    /* YOUR CODE HERE */
    // 2. Walk through order bs points at a time and take one sgd_update per minibatch.
    //    n need not be a multiple of bs: the last minibatch may be shorter.
    /* YOUR CODE HERE */
}
