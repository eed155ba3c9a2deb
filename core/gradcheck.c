// gradcheck.c — central differences against backward(), in double precision where it counts.
// Read first: autograd.c (the backward() it checks).
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"

static double loss_at(LossFn f, Tensor *const *inputs, void *ctx) {
    bool previous = set_grad_enabled(false);
    Tensor *loss = f(inputs, ctx);
    double value = loss->data[0];
    tape_reset();
    set_grad_enabled(previous);
    return value;
}

bool gradcheck(const char *name, LossFn f, Tensor *const *inputs, int n_inputs, void *ctx,
               GradCheckOptions opt, FILE *report) {
    float eps = opt.eps > 0 ? opt.eps : 1e-2f;
    float tol = opt.rel_tol > 0 ? opt.rel_tol : 2e-2f;

    // The tape's answer.
    for (int k = 0; k < n_inputs; k++)
        if (inputs[k]->requires_grad) zero_grad(&inputs[k], 1);
    tape_reset();
    backward(f(inputs, ctx));
    if (n_inputs <= 0) return true;
    float **analytic = calloc((size_t)n_inputs, sizeof(float *));
    for (int k = 0; k < n_inputs; k++) {
        if (!inputs[k]->requires_grad) continue;
        analytic[k] = malloc(inputs[k]->numel * sizeof(float));
        memcpy(analytic[k], grad_of(inputs[k]), inputs[k]->numel * sizeof(float));
    }
    tape_reset();

    // The slow answer, one number at a time.
    bool ok = true;
    for (int k = 0; k < n_inputs; k++) {
        Tensor *t = inputs[k];
        if (!t->requires_grad) continue;
        size_t stride =
            opt.max_checks > 0 && t->numel > (size_t)opt.max_checks ? t->numel / (size_t)opt.max_checks : 1;
        double worst = 0;
        size_t worst_at = 0, checked = 0;
        for (size_t i = 0; i < t->numel; i += stride, checked++) {
            float saved = t->data[i];
            t->data[i] = saved + eps;
            double up = loss_at(f, inputs, ctx);
            t->data[i] = saved - eps;
            double down = loss_at(f, inputs, ctx);
            t->data[i] = saved;
            double numeric = (up - down) / (2.0 * eps);
            double a = analytic[k][i];
            double err = fabs(a - numeric) / fmax(1.0, fmax(fabs(a), fabs(numeric)));
            if (!(err <= worst)) worst = err, worst_at = i; // also catches NaN
        }
        bool pass = worst <= tol;
        ok &= pass;
        if (report)
            fprintf(
                report,
                "gradcheck %-20s input %d: %zu numbers, worst relative error %.2e at [%zu] (tape %.6g) %s\n",
                name, k, checked, worst, worst_at, analytic[k][worst_at], pass ? "ok" : "MISMATCH");
    }
    for (int k = 0; k < n_inputs; k++) free(analytic[k]);
    free(analytic);
    return ok;
}
