// lab05-overfitting — too simple, about right, too wiggly: and the validation set that tells them apart.
//
// The lesson closes on data that is not line-shaped. Fit a line and it never fits (underfitting);
// fit something with many wiggles and it threads through every training point but puts its wiggles
// in the wrong places for new points (overfitting). Only points the model never trained on can
// tell the two apart, so a fixed part of the data is held back as a validation set.
//   data      y = sin(pi x) + noise, x ~ U(-1, 1); a seeded random half held out for validation
//   model     a polynomial of degree d: y_hat = sum_k w_k phi_k(x), k = 0..d
//   features  phi_k = sqrt(2k+1) P_k(x), Legendre polynomials: on [-1, 1] they are about orthonormal,
//             so every w_k trains at a similar speed (raw x^15 would be tiny next to x and never train)
//   training  full-batch gradient descent with momentum on the MSE (+ wd * sum w_k^2 with --wd)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "diverge.h"
#include "outfile.h"
#include "plot.h"
#include "rng.h"

enum { MAX_DEGREE = 20, CURVE = 201 };
#define MOMENTUM 0.9f

static float truth(float x) {
    return sinf((float)M_PI * x);
}

typedef struct {
    int n;
    float *x, *y;
} Set;

// phi[0..degree] at x, by the recurrence (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}.
static void features(float x, int degree, float *phi) {
    float p_prev = 1, p = x;
    phi[0] = 1;
    for (int k = 1; k <= degree; k++) {
        if (k > 1) {
            float next = ((2 * k - 1) * x * p - (k - 1) * p_prev) / (float)k;
            p_prev = p, p = next;
        }
        phi[k] = sqrtf(2.0f * k + 1) * p;
    }
}

static float predict(const float *w, int degree, float x) {
    float phi[MAX_DEGREE + 1], y = 0;
    features(x, degree, phi);
    for (int k = 0; k <= degree; k++) y += w[k] * phi[k];
    return y;
}

static float mse(const float *w, int degree, const Set *s) {
    double sum = 0;
    for (int i = 0; i < s->n; i++) sum += pow(predict(w, degree, s->x[i]) - s->y[i], 2);
    return (float)(sum / s->n);
}

// Gradient descent with momentum on mean((phi w - y)^2) + wd * sum_{k>=1} w_k^2. The constant term
// is left out of the decay: shrinking the curve towards y = 0 is not the point, smoothing it is.
// Returns false when the run diverged (and, with `report`, says so: once per fit, in the sweep).
static bool fit(float *w, int degree, const Set *train, float wd, float lr, int epochs, bool report) {
    int d = degree + 1, n = train->n;
    float *phi = malloc((size_t)n * d * sizeof(float)), velocity[MAX_DEGREE + 1] = {0};
    for (int i = 0; i < n; i++) features(train->x[i], degree, phi + (size_t)i * d);
    for (int k = 0; k < d; k++) w[k] = 0;
    DivergenceWatch watch = divergence_watch(5);
    float start_loss = mse(w, degree, train);
    bool ok = true;
    for (int e = 1; e <= epochs && ok; e++) {
        float grad[MAX_DEGREE + 1] = {0};
        double loss = 0;
        for (int i = 0; i < n; i++) {
            const float *row = phi + (size_t)i * d;
            float r = -train->y[i];
            for (int k = 0; k < d; k++) r += row[k] * w[k];
            for (int k = 0; k < d; k++) grad[k] += 2.0f / (float)n * row[k] * r; // 2/n Phi^T (Phi w - y)
            loss += (double)r * r / n;
        }
        for (int k = 1; k < d; k++) grad[k] += 2 * wd * w[k];
        // Momentum: keep going in the direction of the last steps, so the slow directions speed up.
        for (int k = 0; k < d; k++) velocity[k] = MOMENTUM * velocity[k] + grad[k], w[k] -= lr * velocity[k];
        // Momentum makes the loss swing up and down a little, so only a climb above the start counts.
        if (divergence_check(&watch, (float)loss) && (!isfinite(loss) || loss > start_loss)) {
            if (report) {
                printf("degree %d:\n", degree);
                divergence_report(&watch, e, (float)loss, lr);
            }
            ok = false;
        }
    }
    free(phi);
    return ok;
}

typedef struct {
    float wd;
    float train[MAX_DEGREE + 1], valid[MAX_DEGREE + 1];
    int best; // degree with the lowest valid loss; 0 when every fit diverged
} Sweep;

static void sweep(Sweep *s, const Set *train, const Set *valid, int max_degree, float wd, float lr,
                  int epochs, FILE *log) {
    s->wd = wd, s->best = 0;
    for (int d = 1; d <= max_degree; d++) {
        float w[MAX_DEGREE + 1];
        bool ok = fit(w, d, train, wd, lr, epochs, true);
        s->train[d] = ok ? mse(w, d, train) : NAN, s->valid[d] = ok ? mse(w, d, valid) : NAN;
        if (isfinite(s->valid[d]) && (!s->best || s->valid[d] < s->valid[s->best])) s->best = d;
        if (log) fprintf(log, "%d,%g,%.9g,%.9g\n", d, wd, s->train[d], s->valid[d]);
    }
}

// The fitted curve of one degree, sampled for plotting.
static void curve(float *cy, const float *cx, int degree, const Set *train, float wd, float lr, int epochs) {
    float w[MAX_DEGREE + 1];
    bool ok = fit(w, degree, train, wd, lr, epochs, false); // the sweep has already said if it diverges
    for (int i = 0; i < CURVE; i++) cy[i] = ok ? predict(w, degree, cx[i]) : NAN;
}

static void plot_fits(const PlotConfig *pc, const Set *train, const Set *valid, int degree, float wd,
                      float lr, int epochs) {
    static float cx[CURVE], cy[5][CURVE];
    for (int i = 0; i < CURVE; i++) cx[i] = -1.0f + 2.0f * (float)i / (CURVE - 1), cy[0][i] = truth(cx[i]);
    PlotSeries s[7] = {
        {"train", train->x, train->y, train->n, "points pt 7 ps 1.1 lc rgb '#1f77b4'"},
        {"valid", valid->x, valid->y, valid->n, "points pt 6 ps 1.3 lw 2 lc rgb '#ff7f0e'"},
        {"sin(pi x)", cx, cy[0], CURVE, "lines lw 1 dt 2 lc rgb '#555555'"},
    };
    int n = 3;
    const int degrees[4] = {1, 3, degree, degree};
    const float wds[4] = {0, 0, 0, wd};
    const char *styles[4] = {"lines lw 2 lc rgb '#9467bd'", "lines lw 2 lc rgb '#2ca02c'",
                             "lines lw 2 lc rgb '#d62728'", "lines lw 3 dt 4 lc rgb '#8c564b'"};
    char labels[4][48];
    for (int j = 0; j < (wd > 0 ? 4 : 3); j++) {
        curve(cy[j + 1], cx, degrees[j], train, wds[j], lr, epochs);
        if (wds[j] > 0)
            snprintf(labels[j], sizeof labels[j], "degree %d, wd %g", degrees[j], wds[j]);
        else
            snprintf(labels[j], sizeof labels[j], "degree %d", degrees[j]);
        s[n++] = (PlotSeries){labels[j], cx, cy[j + 1], CURVE, styles[j]};
    }
    // By hand rather than plot_series: a fixed y range, so the wild ends of degree 15 do not squash the rest.
    Plot *p = plot_open(pc, "lab05-fits", "lab05: degree 1 underfits, degree 3 fits, a high degree overfits");
    if (!p) return;
    plot_cmd(p, "set yrange [-2:2]");
    plot_cmd(p, "set xlabel \"x\"");
    plot_cmd(p, "set ylabel \"y\"");
    plot_cmd(p, "set key bottom right box opaque");
    fprintf(p->pipe, "plot ");
    for (int i = 0; i < n; i++)
        fprintf(p->pipe, "%s'-' with %s title \"%s\" noenhanced", i ? ", " : "", s[i].style, s[i].label);
    fputc('\n', p->pipe);
    for (int i = 0; i < n; i++) plot_data(p, s[i].x, s[i].y, s[i].n);
    plot_close(p);
}

static void plot_sweep(const PlotConfig *pc, const Sweep *sweeps, int n_sweeps, int max_degree) {
    static float deg[MAX_DEGREE];
    for (int d = 1; d <= max_degree; d++) deg[d - 1] = (float)d;
    PlotSeries s[4];
    char labels[4][48];
    const char *styles[4] = {
        "linespoints lw 2 pt 7 lc rgb '#1f77b4'", "linespoints lw 2 pt 7 lc rgb '#ff7f0e'",
        "linespoints lw 2 pt 6 dt 2 lc rgb '#1f77b4'", "linespoints lw 2 pt 6 dt 2 lc rgb '#ff7f0e'"};
    for (int i = 0; i < n_sweeps; i++) {
        snprintf(labels[2 * i], sizeof labels[0], "train, wd %g", sweeps[i].wd);
        snprintf(labels[2 * i + 1], sizeof labels[0], "valid, wd %g", sweeps[i].wd);
        s[2 * i] = (PlotSeries){labels[2 * i], deg, sweeps[i].train + 1, max_degree, styles[2 * i]};
        s[2 * i + 1] =
            (PlotSeries){labels[2 * i + 1], deg, sweeps[i].valid + 1, max_degree, styles[2 * i + 1]};
    }
    plot_series(pc, "lab05-sweep", "lab05: train loss keeps falling with the degree; valid loss turns up",
                "polynomial degree", "MSE (log scale)", false, true, s, 2 * n_sweeps);
}

// What the sweep shows, in words: where the valid loss bottoms out and what the extra degrees do.
static void explain_sweep(const Sweep *sweeps, int n_sweeps, int degree, float wd) {
    const Sweep *s = &sweeps[0];
    int under_valid = 0;
    for (int d = 1; d <= degree; d++) under_valid += s->train[d] < s->valid[d];
    printf(
        "\nbest degree by valid loss: %d (valid %.4f). From there to degree %d the train loss goes %.4f -> "
        "%.4f\n"
        "while the valid loss goes %.4f -> %.4f: the extra wiggles fit the noise of the training points.\n",
        s->best, s->valid[s->best], degree, s->train[s->best], s->train[degree], s->valid[s->best],
        s->valid[degree]);
    printf(
        "train loss < valid loss at %d of %d degrees (at the best degree: %s). A model usually does a bit\n"
        "better on the points it trained on; that is normal, not a sign of overfitting. Overfitting is the\n"
        "valid loss getting worse as the model gets more wiggly.\n",
        under_valid, degree, s->train[s->best] < s->valid[s->best] ? "yes" : "no");
    if (n_sweeps == 2 && sweeps[1].best)
        printf("with wd %g, degree %d: valid %.4f instead of %.4f; best degree %d (valid %.4f)\n", wd, degree,
               sweeps[1].valid[degree], s->valid[degree], sweeps[1].best, sweeps[1].valid[sweeps[1].best]);
    else if (n_sweeps == 2)
        printf("with wd %g every fit diverged: lower the learning rate for it\n", wd);
}

// n points of y = sin(pi x) + noise; then a seeded shuffle decides which ones are held out.
static void make_data(Set *train, Set *valid, int n, float noise, int seed) {
    Rng rng, split;
    rng_seed(&rng, (uint64_t)seed, 0);
    rng_seed(&split, (uint64_t)seed, 1);
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    int *order = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        x[i] = -1.0f + 2.0f * rng_uniform(&rng), y[i] = truth(x[i]) + noise * rng_normal(&rng);
    for (int i = 0; i < n; i++) order[i] = i;
    rng_shuffle(&split, order, n);
    valid->n = n / 2, train->n = n - valid->n;
    train->x = malloc((size_t)train->n * sizeof(float)), train->y = malloc((size_t)train->n * sizeof(float));
    valid->x = malloc((size_t)valid->n * sizeof(float)), valid->y = malloc((size_t)valid->n * sizeof(float));
    for (int i = 0; i < n; i++) {
        Set *to = i < train->n ? train : valid;
        int j = i < train->n ? i : i - train->n;
        to->x[j] = x[order[i]], to->y[j] = y[order[i]];
    }
    free(x), free(y), free(order);
}

int main(int argc, char **argv) {
    float wd = 0, lr = 0.1f, noise = 0.3f;
    int degree = 15, epochs = 10000, n = 40, seed = 42;
    const char *plot = "auto", *out = "out", *log_path = NULL;
    Flag flags[] = {
        {"--degree", FLAG_INT, &degree, 3, MAX_DEGREE, false, NULL,
         "the high degree: the sweep runs 1 .. this"},
        {"--wd", FLAG_FLOAT, &wd, 0, 10, false, NULL,
         "weight decay; > 0 reruns everything with it beside wd 0"},
        {"--epochs", FLAG_INT, &epochs, 1, 200000, false, NULL, "full-batch updates per fit"},
        {"--lr", FLAG_FLOAT, &lr, 0, 10, true, NULL, "learning rate (with momentum 0.9)"},
        {"--n", FLAG_INT, &n, 4, 100000, false, NULL, "points in all; half train, half valid"},
        {"--noise", FLAG_FLOAT, &noise, 0, 10, false, NULL, "standard deviation of the noise on y"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed for the data and the split"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none", "where plots go"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for PNG plots"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL, "write degree,wd,train_loss,valid_loss as CSV"},
    };
    Cli cli = {"lab05-overfitting",
               "underfitting and overfitting polynomials, told apart by a validation set",
               "underfitting and overfitting: a line is too simple, too many wiggles are in the wrong places",
               NULL,
               "lab05-overfitting --wd 0.001",
               flags,
               sizeof flags / sizeof flags[0]};
    cli_parse(&cli, argc, argv, NULL, 0);
    // The CSV goes to a temp file that replaces LOG only once complete: a failed run never empties it.
    OutFile log_file = {0};
    char log_err[512];
    if (log_path && !outfile_open(&log_file, log_path, log_err, sizeof log_err)) {
        fprintf(stderr, "lab05-overfitting: %s\n", log_err);
        return 1;
    }
    FILE *log = log_file.f;

    Set train, valid;
    make_data(&train, &valid, n, noise, seed);
    printf("%d points of y = sin(pi x) + %g noise: %d train, %d valid (split fixed by --seed %d)\n", n, noise,
           train.n, valid.n, seed);
    printf("%d epochs of gradient descent per fit, lr %g, momentum %g\n\n", epochs, lr, MOMENTUM);

    if (log) fprintf(log, "degree,wd,train_loss,valid_loss\n");
    static Sweep sweeps[2];
    int n_sweeps = wd > 0 ? 2 : 1;
    for (int i = 0; i < n_sweeps; i++) sweep(&sweeps[i], &train, &valid, degree, i ? wd : 0, lr, epochs, log);

    printf("%6s | %10s %10s", "degree", "train", "valid");
    if (n_sweeps == 2) printf(" | %10s %10s  (wd %g)", "train", "valid", wd);
    printf("\n");
    for (int d = 1; d <= degree; d++) {
        printf("%6d | %10.4f %10.4f", d, sweeps[0].train[d], sweeps[0].valid[d]);
        if (n_sweeps == 2) printf(" | %10.4f %10.4f", sweeps[1].train[d], sweeps[1].valid[d]);
        printf("%s\n", d == sweeps[0].best            ? "   <- best valid loss"
                       : isfinite(sweeps[0].valid[d]) ? ""
                                                      : "   diverged");
    }
    const Sweep *s = &sweeps[0];
    if (!s->best) // no fit to compare: the lesson's first fix is the learning rate, not the model
        printf("\nevery fit diverged at lr %g, so there is no best degree and nothing to learn about "
               "overfitting yet.\nLower the learning rate (try %g) and run again.\n",
               lr, lr / 10);
    else
        explain_sweep(sweeps, n_sweeps, degree, wd);

    PlotConfig pc = plot_config(plot, out);
    plot_fits(&pc, &train, &valid, degree, wd, lr, epochs);
    plot_sweep(&pc, sweeps, n_sweeps, degree);

    int status = 0; // every write to the log is checked here: a full disk is an error, not a 0-byte CSV
    if (log && !outfile_commit(&log_file, log_err, sizeof log_err))
        fprintf(stderr, "lab05-overfitting: %s\n", log_err), status = 1;
    free(train.x), free(train.y), free(valid.x), free(valid.y);
    return status;
}
