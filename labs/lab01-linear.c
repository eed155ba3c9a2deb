// lab01-linear — fit a line y = Xa by gradient descent, with the gradient written by hand.
//
// The lesson's whole "SGD from scratch" notebook in one screen of C:
//   data   x is (n, 2): column 0 ~ U(-1, 1), column 1 all ones, so y = a1*x1 + a2 is a line;
//          y = x@(3, 2) + noise
//   model  y_hat = x@a, starting from the guess a = (-1, 1)
//   loss   mean squared error: mean((y_hat - y)^2)
//   grad   d loss / d a = 2/n * X^T (Xa - y)         (the chain rule, done once on paper)
//   update a = a - lr * grad                          (why lr? try --lr 1.5 and watch)
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "diverge.h"
#include "ops.h"
#include "outfile.h"
#include "plot.h"
#include "tensor.h"

int main(int argc, char **argv) {
    float lr = 0.1f, noise = 0.25f;
    int steps = 100, n = 100, seed = 42;
    const char *plot = "auto", *out = "out", *log_path = NULL;
    Flag flags[] = {
        {"--lr", FLAG_FLOAT, &lr, 0, 100, true, NULL, "learning rate: how far each step moves a"},
        {"--steps", FLAG_INT, &steps, 1, 1e6, false, NULL, "number of gradient descent updates"},
        {"--n", FLAG_INT, &n, 2, 1e7, false, NULL, "number of data points"},
        {"--noise", FLAG_FLOAT, &noise, 0, 100, false, NULL, "standard deviation of the noise added to y"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed (same seed, same run)"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none", "where plots go"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for PNG plots"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL, "write step,loss,a1,a2 as CSV to this file"},
    };
    Cli cli = {"lab01-linear",
               "fit y = Xa with MSE and a hand-written gradient",
               "the linear regression notebook: y = Xa, mse, the update loop, lr",
               NULL,
               "lab01-linear --lr 0.7 --steps 30",
               flags,
               sizeof flags / sizeof flags[0]};
    cli_parse(&cli, argc, argv, NULL, 0);

    // The CSV goes to a temp file that replaces LOG only once complete: a failed run never empties it.
    OutFile log_file = {0};
    char log_err[512];
    if (log_path && !outfile_open(&log_file, log_path, log_err, sizeof log_err)) {
        fprintf(stderr, "lab01-linear: %s\n", log_err);
        return 1;
    }
    FILE *log = log_file.f;

    // ---- the data: n points near the line y = 3*x1 + 2 ----
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    Tensor *x = tensor_ones(SHAPE(n, 2));
    tensor_column_uniform_(x, 0, -1.0f, 1.0f, &rng); // x[:,0].uniform_(-1, 1)
    Tensor *a_true = tensor_from(SHAPE(2), (float[]){3.0f, 2.0f});
    Tensor *y = tensor_matmul(x, a_true);
    for (int i = 0; i < n; i++) y->data[i] += noise * rng_normal(&rng);
    printf("data: %d points, true a = (3, 2), noise std %g (so the best possible loss is about %.4f)\n", n,
           noise, noise * noise);

    // ---- the guess, and the loop ----
    Tensor *a = tensor_from(SHAPE(2), (float[]){-1.0f, 1.0f});
    Tensor *y_hat = tensor_matmul(x, a);
    float loss = mse_loss(y_hat, y);
    printf("guess a = (%g, %g), loss %.4f\n\n", a->data[0], a->data[1], loss);
    printf("%6s %12s %10s %10s\n", "step", "loss", "a1", "a2");
    printf("%6d %12.6f %10.4f %10.4f\n", 0, loss, a->data[0], a->data[1]);
    if (log) {
        fprintf(log, "step,loss,a1,a2\n");
        fprintf(log, "0,%.9g,%.9g,%.9g\n", loss, a->data[0], a->data[1]);
    }

    DivergenceWatch watch = divergence_watch(5);
    int diverged_at = 0;
    for (int step = 1; step <= steps; step++) {
        // grad = 2/n * X^T (y_hat - y): for each parameter, how much the loss rises per unit of it.
        float grad[2] = {0, 0};
        for (int i = 0; i < n; i++) {
            float residual = y_hat->data[i] - y->data[i];
            grad[0] += 2.0f / (float)n * x->data[2 * i] * residual;
            grad[1] += 2.0f / (float)n * x->data[2 * i + 1] * residual;
        }
        // Step downhill: against the gradient, scaled by the learning rate.
        a->data[0] -= lr * grad[0];
        a->data[1] -= lr * grad[1];

        tensor_free(y_hat);
        y_hat = tensor_matmul(x, a);
        loss = mse_loss(y_hat, y);
        if (log) fprintf(log, "%d,%.9g,%.9g,%.9g\n", step, loss, a->data[0], a->data[1]);
        if (step % 10 == 0 || step == steps)
            printf("%6d %12.6f %10.4f %10.4f\n", step, loss, a->data[0], a->data[1]);
        if (divergence_check(&watch, loss)) {
            printf("%6d %12.6g %10.4g %10.4g\n", step, loss, a->data[0], a->data[1]);
            divergence_report(&watch, step, loss, lr);
            diverged_at = step;
            break;
        }
    }
    if (!diverged_at)
        printf("\nfinal a = (%.4f, %.4f), loss %.4f (noise variance %.4f)\n", a->data[0], a->data[1], loss,
               noise * noise);

    // ---- the picture: the points, the true line and the fitted line ----
    PlotConfig pc = plot_config(plot, out);
    Tensor *x1 = tensor_transpose(x); // row 0 of x^T is the x1 column
    float line_x[2] = {-1, 1}, fit_y[2], true_y[2] = {-1.0f, 5.0f};
    for (int k = 0; k < 2; k++) fit_y[k] = a->data[0] * line_x[k] + a->data[1];
    char fit_label[96], title[96];
    snprintf(fit_label, sizeof fit_label, "%s: y = %.3g x %c %.3g",
             diverged_at ? "where it diverged" : "fitted", a->data[0], a->data[1] < 0 ? '-' : '+',
             fabsf(a->data[1]));
    if (diverged_at)
        snprintf(title, sizeof title, "lab01: gradient descent diverged at step %d (lr %g is too high)",
                 diverged_at, lr);
    else
        snprintf(title, sizeof title, "lab01: y = Xa fitted by gradient descent (lr %g, %d steps)", lr,
                 steps);
    PlotSeries series[] = {
        {"data", x1->data, y->data, n, "points pt 7 ps 0.6 lc rgb '#1f77b4'"},
        {"true: y = 3x + 2", line_x, true_y, 2, "lines lw 1 dt 2 lc rgb '#555555'"},
        {fit_label, line_x, fit_y, 2, "lines lw 3 lc rgb '#d62728'"},
    };
    plot_series(&pc, "lab01-fit", title, "x1", "y", false, false, series, 3);

    int status = 0; // every write to the log is checked here: a full disk is an error, not a 0-byte CSV
    if (log && !outfile_commit(&log_file, log_err, sizeof log_err))
        fprintf(stderr, "lab01-linear: %s\n", log_err), status = 1;
    tensor_free(x), tensor_free(x1), tensor_free(a_true), tensor_free(y), tensor_free(a), tensor_free(y_hat);
    return status; // a diverged run is a finished experiment, not a crash
}
