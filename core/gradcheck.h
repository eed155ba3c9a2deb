// gradcheck.h — compare the tape's gradients with finite differences.
//
// The definition of a derivative, computed the slow way: nudge one input number by ±eps, run the
// function again, and see how much the loss moved: (f(x+eps) - f(x-eps)) / 2eps. If backward()
// agrees with that for every number of every input, the backward code is right. Every op in
// sgdlab passes this check (tests/test_grad_ops.c), and learners can call it on their own ops.
#ifndef SGDLAB_GRADCHECK_H
#define SGDLAB_GRADCHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "tensor.h"

// Build the loss (a one-element tensor) from the inputs, recording on the tape.
typedef Tensor *(*LossFn)(Tensor *const *inputs, void *ctx);

typedef struct {
    float eps;      // nudge size (default 1e-2 when 0: float32 needs a large step)
    float rel_tol;  // allowed |analytic - numeric| / max(1, |analytic|, |numeric|) (default 2e-2)
    int max_checks; // check at most this many numbers per input, spread evenly (0 = all)
} GradCheckOptions;

// Checks d loss / d inputs[k] for every input with requires_grad. Prints one line per input to
// `report` (NULL for silence) and returns true when every checked number agrees.
bool gradcheck(const char *name, LossFn f, Tensor *const *inputs, int n_inputs, void *ctx,
               GradCheckOptions opt, FILE *report);

#endif
