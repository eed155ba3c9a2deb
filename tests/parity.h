// parity.h — compare a tensor we computed with a reference: PyTorch's (the parity tests of bearnet-s and
// ResNet), or the CPU op's (the GPU backend's parity test).
//
// Tolerance: |ours - torch| <= 1e-4 * max|torch| over the tensor. Float32 keeps ~7 digits and
// the rounding error of a sum grows with the size of its terms, so it scales with the tensor's
// magnitude, not with each element (elements near 0 come from cancellation and carry the same
// absolute error). Our sums run over up to 1152 products (conv) and 4096 values (BN statistics,
// weight gradients): errors near 1e-6 of the scale are typical, and 1e-4 leaves room for BN
// dividing by small variances. A wrong index or a missing term is off by far more. (Gradients
// here are ~1e-4 in size, so a fixed absolute tolerance like 1e-4 would accept all zeros.)
#ifndef SGDLAB_TESTS_PARITY_H
#define SGDLAB_TESTS_PARITY_H

#include <math.h>
#include <stdio.h>

#include "check.h"
#include "tensor.h"

static const double PARITY_TOL = 1e-4;

// ours against a reference (PyTorch's numbers, or the CPU op's for the GPU one), within tol * max|ref|.
static inline void compare_within(const char *what, const Tensor *ours, const Tensor *ref, double tol) {
    CHECK(ours && ref && ours->numel == ref->numel, "%s: missing or sizes differ", what);
    if (!ours || !ref || ours->numel != ref->numel) return;
    double scale = 0, worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < ref->numel; i++) scale = fmax(scale, fabs(ref->data[i]));
    for (size_t i = 0; i < ours->numel; i++) {
        double d = fabs((double)ours->data[i] - ref->data[i]);
        if (!(d <= worst)) worst = d, at = i; // NaN lands here too
    }
    printf("%-36s %7zu numbers, max |ref| %.2e, worst |diff| %.2e (%.1e of max)\n", what, ours->numel, scale,
           worst, worst / scale);
    CHECK(scale > 0, "%s: the reference is all zeros, the comparison would prove nothing", what);
    CHECK(worst <= tol * scale, "%s differs from the reference by %g at [%zu]: %.8g vs %.8g (max |ref| %g)",
          what, worst, at, (double)ours->data[at], (double)ref->data[at], scale);
}

static inline void compare(const char *what, const Tensor *ours, const Tensor *torch) {
    compare_within(what, ours, torch, PARITY_TOL);
}

#endif
