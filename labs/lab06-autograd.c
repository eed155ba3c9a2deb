// lab06-autograd — lab01's line fit again, but backward() finds the gradient for us.
//
// lab01 worked out d loss / d a on paper: 2/n X^T (Xa - y). That is fine for two numbers and one
// formula; for a model with millions of numbers in dozens of layers nobody does it by hand. Here
// the same fit is written the way the lesson's PyTorch notebook writes it:
//     loss = mse(matmul(x, a), y);    forward: each op records itself on the tape (autograd.h)
//     backward(loss);                 the tape run in reverse: a->grad = d loss / d a
//     a -= lr * a->grad               the update, with grad mode off
//     zero_grad(a)                    or the next backward() adds to this gradient
// At the first step the lab prints the tape and puts its gradient beside lab01's formula.
// --no-zero-grad leaves out the last line, the most common bug in a hand-written training loop.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "autograd.h"
#include "cli.h"
#include "diverge.h"
#include "grad_ops.h"
#include "ops.h"
#include "outfile.h"
#include "plot.h"
#include "tensor.h"

// The tape after one forward pass, and its gradient beside the one worked out on paper.
static void explain_first_step(const Tensor *x, const Tensor *a, const Tensor *y) {
    printf("the tape after the first forward pass, oldest node first:\n");
    tape_print(stdout);
    // lab01's formula with forward-only ops (ops.h), which the tape never sees.
    int n = x->shape[0];
    Tensor *y_hat = tensor_matmul(x, a), *residual = tensor_sub(y_hat, y), *xt = tensor_transpose(x);
    Tensor *xt_residual = tensor_matmul(xt, residual); // X^T (Xa - y)
    Tensor *hand = tensor_scale(xt_residual, 2.0f / (float)n);
    const float *tape = a->grad->data;
    float diff = fmaxf(fabsf(tape[0] - hand->data[0]), fabsf(tape[1] - hand->data[1]));
    printf("\nthe gradient at the guess a = (%g, %g):\n", a->data[0], a->data[1]);
    printf("  tape: backward(loss)  d loss/d a = (%.6f, %.6f)\n", tape[0], tape[1]);
    printf("  hand: 2/n X^T (Xa-y)  d loss/d a = (%.6f, %.6f)\n", hand->data[0], hand->data[1]);
    printf("  largest difference %.2g: %s\n\n", diff,
           diff <= 1e-4f * fmaxf(1.0f, fabsf(hand->data[0]) + fabsf(hand->data[1]))
               ? "the same numbers, only float rounding apart"
               : "THEY DISAGREE: a backward function is wrong");
    tensor_free(y_hat), tensor_free(residual), tensor_free(xt), tensor_free(xt_residual), tensor_free(hand);
}

// Gradient descent on a with the tape's gradients: `steps` updates, or fewer when it diverges.
// losses[k] is the loss after k updates; returns the last k. Verbose is the run the learner asked
// for, told step by step; the quiet one is the plot's other curve.
static int fit(Tensor *x, Tensor *y, Tensor *a, float lr, int steps, bool zero_each_step, bool verbose,
               FILE *log, float *losses, bool *diverged) {
    if (log) fprintf(log, "step,loss,a1,a2,grad1,grad2\n");
    DivergenceWatch watch = divergence_watch(5);
    *diverged = false;
    int step = 0;
    for (;; step++) {
        // Forward and backward at the current a (after `step` updates). The last pass, after the
        // last update, only measures where the updates got to.
        Tensor *loss = mse(matmul(x, a), y);
        backward(loss);
        const float L = loss->data[0], *g = a->grad->data;
        if (step == 0 && verbose) {
            explain_first_step(x, a, y);
            printf("%6s %12s %10s %10s %12s %12s\n", "step", "loss", "a1", "a2", "grad1", "grad2");
        }
        losses[step] = L;
        if (log) fprintf(log, "%d,%.9g,%.9g,%.9g,%.9g,%.9g\n", step, L, a->data[0], a->data[1], g[0], g[1]);
        *diverged = divergence_check(&watch, L);
        // Every step at first without zero_grad, so the pile-up shows; every 10th step after that.
        if (verbose && (step % 10 == 0 || step == steps || *diverged || (!zero_each_step && step < 20)))
            printf("%6d %12.6g %10.4f %10.4f %12.4g %12.4g\n", step, L, a->data[0], a->data[1], g[0], g[1]);
        if (*diverged && verbose) divergence_report(&watch, step, L, lr);
        if (*diverged || step == steps) break;

        // The update. Grad mode is off because "a = a - lr * grad" is bookkeeping, not part of the
        // model: recorded, it would make the next backward() differentiate through old updates.
        // (tensor_axpy_ is a plain op that never records; the scope says what PyTorch's no_grad says.)
        bool previous = set_grad_enabled(false);
        tensor_axpy_(a, -lr, a->grad); // a -= lr * a.grad
        set_grad_enabled(previous);
        if (zero_each_step) zero_grad(&a, 1); // a.grad.zero_(): the next backward() starts from 0
        tape_reset();                         // this step's nodes and step tensors are done with
    }
    tape_reset();
    return step;
}

int main(int argc, char **argv) {
    float lr = 0.1f;
    int steps = 100, seed = 42;
    bool no_zero_grad = false;
    const char *plot = "auto", *out = "out", *log_path = NULL;
    Flag flags[] = {
        {"--lr", FLAG_FLOAT, &lr, 0, 100, true, NULL, "learning rate: how far each step moves a"},
        {"--steps", FLAG_INT, &steps, 1, 1e6, false, NULL, "number of gradient descent updates"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL,
         "random seed (same seed, same data as lab01)"},
        {"--no-zero-grad", FLAG_BOOL, &no_zero_grad, 0, 0, false, NULL,
         "never clear a->grad: watch the gradients pile up"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none", "where plots go"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for PNG plots"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL, "write step,loss,a1,a2,grad1,grad2 as CSV"},
    };
    Cli cli = {"lab06-autograd",
               "lab01's fit with the gradient from the autograd tape instead of a formula",
               "\".backward() calculates the gradient for us\", and why the notebook calls grad.zero_()",
               NULL,
               "lab06-autograd --no-zero-grad --steps 40",
               flags,
               sizeof flags / sizeof flags[0]};
    cli_parse(&cli, argc, argv, NULL, 0);

    // The CSV goes to a temp file that replaces LOG only once complete: a failed run never empties it.
    OutFile log_file = {0};
    char log_err[512];
    if (log_path && !outfile_open(&log_file, log_path, log_err, sizeof log_err)) {
        fprintf(stderr, "lab06-autograd: %s\n", log_err);
        return 1;
    }
    FILE *log = log_file.f;

    // ---- the data: exactly lab01's, drawn in the same order from the same seed ----
    const int n = 100;
    const float noise = 0.25f;
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    Tensor *x = tensor_ones(SHAPE(n, 2));
    tensor_column_uniform_(x, 0, -1.0f, 1.0f, &rng); // x[:,0].uniform_(-1, 1)
    Tensor *a_true = tensor_from(SHAPE(2), (float[]){3.0f, 2.0f});
    Tensor *y = tensor_matmul(x, a_true);
    for (int i = 0; i < n; i++) y->data[i] += noise * rng_normal(&rng);
    printf("data: %d points, true a = (3, 2), noise std %g (the same data as lab01-linear --seed %d)\n", n,
           noise, seed);

    // ---- the parameter: requires_grad tells the tape to record every op that uses it ----
    Tensor *a = tensor_from(SHAPE(2), (float[]){-1.0f, 1.0f});
    a->requires_grad = true;
    if (no_zero_grad)
        printf("--no-zero-grad: a->grad is never cleared, so each backward() adds this step's gradient "
               "to the sum of all the earlier ones\n");
    printf("\n");

    // The run asked for, told step by step; then the other setting silently, for the plot beside it.
    float *losses = malloc(sizeof(float) * (size_t)(steps + 1)),
          *other = malloc(sizeof(float) * (size_t)(steps + 1)),
          *step_axis = malloc(sizeof(float) * (size_t)(steps + 1));
    if (!losses || !other || !step_axis) sgd_panic("out of memory");
    for (int k = 0; k <= steps; k++) step_axis[k] = (float)k;
    bool diverged;
    int step = fit(x, y, a, lr, steps, !no_zero_grad, true, log, losses, &diverged);
    if (!diverged)
        printf("\nfinal a = (%.4f, %.4f), loss %.4f (noise variance %.4f)\n", a->data[0], a->data[1],
               losses[step], noise * noise);
    if (no_zero_grad)
        printf(
            "\nwithout zero_grad, a->grad at step %d held the sum of %d gradients, not the gradient at a,\n"
            "so the steps stop pointing downhill. A lower lr only delays this; zero_grad is the fix.\n",
            step, step + 1);
    Tensor *a_other = tensor_from(SHAPE(2), (float[]){-1.0f, 1.0f});
    a_other->requires_grad = true;
    bool other_diverged;
    int other_steps = fit(x, y, a_other, lr, steps, no_zero_grad, false, NULL, other, &other_diverged);

    // ---- the picture: loss per step on a log scale, with and without zero_grad ----
    PlotConfig pc = plot_config(plot, out);
    pc.key = "bottom left"; // both curves start at the top left
    const float *with = no_zero_grad ? other : losses, *without = no_zero_grad ? losses : other;
    int with_steps = no_zero_grad ? other_steps : step, without_steps = no_zero_grad ? step : other_steps;
    PlotSeries series[] = {
        {"with zero_grad", step_axis, with, with_steps + 1, "linespoints pt 7 ps 0.4 lw 2 lc rgb '#1f77b4'"},
        {"without zero_grad: the gradients pile up", step_axis, without, without_steps + 1,
         "linespoints pt 7 ps 0.4 lw 2 lc rgb '#d62728'"},
    };
    plot_series(&pc, "lab06-loss",
                "lab06: loss per step, gradients from the tape, with and without zero_grad", "step",
                "mse loss (log scale)", false, true, series, 2);

    int status = 0; // every write to the log is checked here: a full disk is an error, not a 0-byte CSV
    if (log && !outfile_commit(&log_file, log_err, sizeof log_err))
        fprintf(stderr, "lab06-autograd: %s\n", log_err), status = 1;
    free(losses), free(other), free(step_axis);
    tensor_free(x), tensor_free(a_true), tensor_free(y), tensor_free(a), tensor_free(a_other);
    return status; // a diverged run is a finished experiment, not a crash
}
