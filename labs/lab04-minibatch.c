// lab04-minibatch — the one difference between gradient descent and *stochastic* gradient descent.
//
// lab01 computed the loss and its gradient over every point before each update. With 1.5 million
// images that is far too slow for one step, so the lesson grabs a random minibatch (64 or so) at a
// time: the gradient of those few points is a noisy but cheap estimate of the full one.
//   full-batch GD   one update per epoch, each using all n points
//   minibatch SGD   shuffle the points each epoch, then one update per minibatch of --bs points
// Both runs below see every point exactly once per epoch, so an epoch costs them about the same time;
// what differs is how many updates they get out of it.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "diverge.h"
#include "ops.h"
#include "outfile.h"
#include "plot.h"
#include "tensor.h"

// The loss curve gets every update, or every k-th one when an epoch has more than this many.
enum { N_POINTS = 10000, CURVE_PER_EPOCH = 200 };

typedef struct {
    const char *name; // "gd" or "sgd", as in the log
    float a[2];
    int n_updates, n_curve;
    bool diverged;                   // reported already
    float *curve_epoch, *curve_loss; // full-data loss after an update, at its (fractional) epoch
    float *epoch_loss;               // full-data loss at the end of each epoch (index 0: the guess)
    double *epoch_seconds;           // time spent on updates in each epoch
} Run;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// The loss on all n points: what we report, whichever points an update looked at.
static float full_loss(const float *a, const float *x1, const float *y, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (double)(a[0] * x1[i] + a[1] - y[i]) * (a[0] * x1[i] + a[1] - y[i]);
    return (float)(sum / n);
}

// One update from the points idx[0..m): grad = 2/m X_b^T (X_b a - y_b), a -= lr * grad.
static void update(float *a, const float *x1, const float *y, const int *idx, int m, float lr) {
    float g0 = 0, g1 = 0;
    for (int k = 0; k < m; k++) {
        float r = a[0] * x1[idx[k]] + a[1] - y[idx[k]];
        g0 += x1[idx[k]] * r, g1 += r;
    }
    a[0] -= lr * 2.0f / (float)m * g0;
    a[1] -= lr * 2.0f / (float)m * g1;
}

static Run make_run(const char *name, int bs, int epochs) {
    int per_epoch = (N_POINTS + bs - 1) / bs,
        kept = per_epoch < CURVE_PER_EPOCH ? per_epoch : CURVE_PER_EPOCH + 1;
    size_t curve = (size_t)epochs * kept + 1;
    return (Run){.name = name,
                 .curve_epoch = malloc(curve * sizeof(float)),
                 .curve_loss = malloc(curve * sizeof(float)),
                 .epoch_loss = malloc(((size_t)epochs + 1) * sizeof(float)),
                 .epoch_seconds = calloc((size_t)epochs + 1, sizeof(double))};
}

static void free_run(Run *r) {
    free(r->curve_epoch), free(r->curve_loss), free(r->epoch_loss), free(r->epoch_seconds);
}

// Add a point to the loss curve (and the log); say so once if the run diverges.
static void record(Run *run, int epoch, int u, float at_epoch, const float *a, const float *x1,
                   const float *y, DivergenceWatch *watch, float lr, FILE *log) {
    float loss = full_loss(a, x1, y, N_POINTS);
    run->curve_epoch[run->n_curve] = at_epoch, run->curve_loss[run->n_curve++] = loss;
    if (log) fprintf(log, "%s,%d,%d,%.9g\n", run->name, epoch, u, loss);
    // SGD's loss jitters near the bottom, so rising a few times in a row is not enough: it must also
    // have climbed above where it started.
    if (divergence_check(watch, loss) && !run->diverged && (!isfinite(loss) || loss > run->epoch_loss[0])) {
        run->diverged = true;
        printf("%s:\n", run->name);
        divergence_report(watch, u, loss, lr);
    }
}

// Train for `epochs` with minibatches of bs points (bs = n: full batch, no shuffle needed).
static void train(Run *run, const float *x1, const float *y, int bs, int epochs, float lr, Rng *rng,
                  FILE *log) {
    int per_epoch = (N_POINTS + bs - 1) / bs, stride = (per_epoch + CURVE_PER_EPOCH - 1) / CURVE_PER_EPOCH;
    int *order = malloc(N_POINTS * sizeof(int));
    float(*kept)[2] = malloc((size_t)per_epoch * sizeof *kept);
    for (int i = 0; i < N_POINTS; i++) order[i] = i;
    run->a[0] = -1.0f, run->a[1] = 1.0f, run->n_updates = 0, run->n_curve = 0;
    run->epoch_loss[0] = full_loss(run->a, x1, y, N_POINTS);
    DivergenceWatch watch = divergence_watch(5);
    record(run, 0, 0, 0, run->a, x1, y, &watch, lr, log);
    for (int e = 1; e <= epochs; e++) {
        if (bs < N_POINTS) rng_shuffle(rng, order, N_POINTS); // a new random order every epoch
        // Timed: only the updates. a after each update is kept, and its loss worked out afterwards.
        double t0 = now_seconds();
        for (int b = 0; b < per_epoch; b++) {
            int start = b * bs, m = start + bs <= N_POINTS ? bs : N_POINTS - start; // the last may be short
            update(run->a, x1, y, order + start, m, lr);
            kept[b][0] = run->a[0], kept[b][1] = run->a[1];
        }
        run->epoch_seconds[e] = now_seconds() - t0;
        for (int b = 0; b < per_epoch; b++)
            if ((b + 1) % stride == 0 || b == per_epoch - 1)
                record(run, e, run->n_updates + b + 1, (float)(e - 1) + (float)(b + 1) / (float)per_epoch,
                       kept[b], x1, y, &watch, lr, log);
        run->n_updates += per_epoch;
        run->epoch_loss[e] = run->curve_loss[run->n_curve - 1];
    }
    free(order), free(kept);
}

int main(int argc, char **argv) {
    float lr = 0.1f;
    int bs = 64, epochs = 10, seed = 42;
    const char *plot = "auto", *out = "out", *log_path = NULL;
    Flag flags[] = {
        {"--bs", FLAG_INT, &bs, 1, N_POINTS, false, NULL, "minibatch size: points per update of SGD"},
        {"--epochs", FLAG_INT, &epochs, 1, 1000, false, NULL, "passes over all the points"},
        {"--lr", FLAG_FLOAT, &lr, 0, 100, true, NULL, "learning rate of both runs"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL,
         "random seed for the data and the minibatch order"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none", "where plots go"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for PNG plots"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL,
         "write method,epoch,update,loss as CSV to this file"},
    };
    Cli cli = {"lab04-minibatch",
               "full-batch gradient descent against minibatch SGD on 10,000 points",
               "minibatches: grab 64 random points at a time, and that is what makes it stochastic",
               NULL,
               "lab04-minibatch --bs 8 --epochs 3",
               flags,
               sizeof flags / sizeof flags[0]};
    cli_parse(&cli, argc, argv, NULL, 0);
    // The CSV goes to a temp file that replaces LOG only once complete: a failed run never empties it.
    OutFile log_file = {0};
    char log_err[512];
    if (log_path && !outfile_open(&log_file, log_path, log_err, sizeof log_err)) {
        fprintf(stderr, "lab04-minibatch: %s\n", log_err);
        return 1;
    }
    FILE *log = log_file.f;

    // ---- lab01's line with many more points: y = 3 x1 + 2 + 0.25 noise ----
    Rng rng, order_rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    rng_seed(&order_rng, (uint64_t)seed, 1); // its own stream: the data does not depend on --bs
    Tensor *x = tensor_ones(SHAPE(N_POINTS, 2));
    tensor_column_uniform_(x, 0, -1.0f, 1.0f, &rng);
    Tensor *a_true = tensor_from(SHAPE(2), (float[]){3.0f, 2.0f});
    Tensor *y = tensor_matmul(x, a_true);
    for (int i = 0; i < N_POINTS; i++) y->data[i] += 0.25f * rng_normal(&rng);
    Tensor *xt = tensor_transpose(x); // row 0 is the x1 column, contiguous
    const float *x1 = xt->data;

    int per_epoch = (N_POINTS + bs - 1) / bs, last = N_POINTS - (per_epoch - 1) * bs;
    printf("%d points, lr %g, %d epochs, minibatch size %d\n\n", N_POINTS, lr, epochs, bs);
    printf("  epoch      one pass over all %d points\n", N_POINTS);
    printf("  minibatch  the points one update looks at: full-batch GD uses all %d, SGD a random %d\n",
           N_POINTS, bs);
    printf("  iteration  one update of a; an epoch is 1 iteration of GD and %d of SGD (%d x %d points",
           per_epoch, per_epoch - (last != bs), bs);
    if (last != bs) printf(" + one of %d", last);
    printf(")\n\n");

    if (log) fprintf(log, "method,epoch,update,loss\n");
    Run gd = make_run("gd", N_POINTS, epochs), sgd = make_run("sgd", bs, epochs);
    train(&gd, x1, y->data, N_POINTS, epochs, lr, &order_rng, log);
    train(&sgd, x1, y->data, bs, epochs, lr, &order_rng, log);

    printf("%5s | %-30s | %-30s\n", "", "full-batch GD", "minibatch SGD");
    printf("%5s | %8s %10s %10s | %8s %10s %10s\n", "epoch", "updates", "loss", "time ms", "updates", "loss",
           "time ms");
    for (int e = 1; e <= epochs; e++)
        printf("%5d | %8d %10.5f %10.3f | %8d %10.5f %10.3f\n", e, e, gd.epoch_loss[e],
               1e3 * gd.epoch_seconds[e], e * per_epoch, sgd.epoch_loss[e], 1e3 * sgd.epoch_seconds[e]);
    printf("\nafter %d epochs: GD a = (%.4f, %.4f), SGD a = (%.4f, %.4f); the noise floor is about %.4f\n",
           epochs, gd.a[0], gd.a[1], sgd.a[0], sgd.a[1], 0.25 * 0.25);
    printf("Same points touched per epoch, about the same time: SGD simply takes %d steps for GD's one.\n",
           per_epoch);

    PlotConfig pc = plot_config(plot, out);
    char sgd_label[64];
    snprintf(sgd_label, sizeof sgd_label, "minibatch SGD, bs %d (%d updates per epoch)", bs, per_epoch);
    PlotSeries series[] = {
        {"full-batch GD (1 update per epoch)", gd.curve_epoch, gd.curve_loss, gd.n_curve,
         "linespoints lw 2 pt 7 ps 0.8 lc rgb '#1f77b4'"},
        {sgd_label, sgd.curve_epoch, sgd.curve_loss, sgd.n_curve, "lines lw 1.5 lc rgb '#d62728'"},
    };
    plot_series(&pc, "lab04-minibatch", "lab04: loss on all 10,000 points after each update", "epoch",
                "loss (log scale)", false, true, series, 2);

    // The same curves against the update count: per update, a minibatch of 64 points moves a almost
    // as well as all 10,000 do. That is why SGD works.
    float *sgd_update = malloc((size_t)sgd.n_curve * sizeof(float));
    for (int i = 0; i < sgd.n_curve; i++) sgd_update[i] = sgd.curve_epoch[i] * (float)per_epoch;
    series[0] = (PlotSeries){"full-batch GD", gd.curve_epoch + 1, gd.curve_loss + 1, gd.n_curve - 1,
                             "linespoints lw 2 pt 7 ps 0.8 lc rgb '#1f77b4'"};
    series[1] = (PlotSeries){sgd_label, sgd_update + 1, sgd.curve_loss + 1, sgd.n_curve - 1,
                             "lines lw 1.5 lc rgb '#d62728'"};
    plot_series(&pc, "lab04-per-update", "lab04: loss on all 10,000 points against the number of updates",
                "update (log scale)", "loss (log scale)", true, true, series, 2);
    free(sgd_update);

    int status = 0; // every write to the log is checked here: a full disk is an error, not a 0-byte CSV
    if (log && !outfile_commit(&log_file, log_err, sizeof log_err))
        fprintf(stderr, "lab04-minibatch: %s\n", log_err), status = 1;
    free_run(&gd), free_run(&sgd);
    tensor_free(x), tensor_free(xt), tensor_free(a_true), tensor_free(y);
    return status;
}
