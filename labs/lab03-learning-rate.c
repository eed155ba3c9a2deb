// lab03-learning-rate — why there is a learning rate at all, and what happens when it is wrong.
//
// The lesson's picture: a ball on a bowl-shaped function. The gradient says which way is down and
// how steep it is; lr says how far to move. Too small and the ball crawls; too big and it jumps over
// the bottom, and if each jump lands higher than the last, it is thrown out of the bowl (divergence).
//   (1) the ball on f(x) = 1.5 x^2, one run per lr, side by side (SDL2 animation + gnuplot);
//       x <- x - lr * f'(x) = x * (1 - 3 lr): it converges when |1 - 3 lr| < 1, i.e. lr < 2/3,
//       and it overshoots (swings from side to side) when 1 - 3 lr < 0, i.e. lr > 1/3;
//   (2) lab01's line fit at every lr, on one log-scale loss plot;
//   (3) the loss surface over (a1, a2) with each run's path drawn on it.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "anim.h"
#include "cli.h"
#include "diverge.h"
#include "ops.h"
#include "outfile.h"
#include "plot.h"
#include "tensor.h"

enum { BALL_STEPS = 30, N_POINTS = 100, MAX_STEPS = 10000, GRID = 81 };
#define BOWL       1.5f // f(x) = BOWL * x^2, f'(x) = 2 * BOWL * x
#define BALL_START -1.2f

static float bowl(float x) {
    return BOWL * x * x;
}

static const AnimColor WHITE = {255, 255, 255}, BLACK = {20, 20, 20}, GREY = {140, 140, 140},
                       LIGHT = {225, 225, 225}, RED = {214, 39, 40};
static const AnimColor PALETTE[] = {{31, 119, 180},  {44, 160, 44}, {255, 127, 14},  {214, 39, 40},
                                    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
static const char *GNUPLOT_COLORS[] = {"#1f77b4", "#2ca02c", "#ff7f0e", "#d62728",
                                       "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// ---------------------------------------------------------------- (1) the ball in the bowl
typedef struct {
    float lr;
    float x[BALL_STEPS + 1], fx[BALL_STEPS + 1]; // position after each step (x[0] is the start)
    int steps;                                   // steps taken: BALL_STEPS, or fewer when it diverged
    bool diverged;                               // stopped at step `steps`, as training would be
    DivergenceWatch watch;                       // for the diverged: line, printed below the table
    float x_extent, y_max;                       // the panel's view: wide enough for every jump
    const char *verdict;
} Ball;

static void roll_ball(Ball *b, float lr) {
    b->lr = lr, b->diverged = false, b->steps = BALL_STEPS;
    b->x[0] = BALL_START, b->fx[0] = bowl(BALL_START);
    b->watch = divergence_watch(5);
    bool swung = false;
    for (int k = 1; k <= BALL_STEPS && !b->diverged; k++) {
        b->x[k] = b->x[k - 1] - lr * 2 * BOWL * b->x[k - 1]; // one step of gradient descent
        b->fx[k] = bowl(b->x[k]);
        swung |= (b->x[k] > 0) != (b->x[k - 1] > 0); // jumped over the bottom
        if (divergence_check(&b->watch, b->fx[k])) b->diverged = true, b->steps = k;
    }
    // The bowl as far as the ball went: a diverging ball's growing jumps stay in the picture.
    b->x_extent = 1.6f, b->y_max = 3.9f;
    for (int k = 0; k <= b->steps; k++)
        if (isfinite(b->fx[k]))
            b->x_extent = fmaxf(b->x_extent, 1.1f * fabsf(b->x[k])),
            b->y_max = fmaxf(b->y_max, 1.1f * b->fx[k]);
    // The verdict comes from what the run did, not from the formula above.
    if (b->diverged)
        b->verdict = "too high: each jump lands higher, diverges";
    else if (fabsf(b->x[BALL_STEPS]) > 0.1f * fabsf(BALL_START))
        b->verdict = "too low: crawls";
    else if (swung)
        b->verdict = "high: overshoots, but converges";
    else
        b->verdict = "good: straight down";
}

// One panel per lr, arranged in a grid; frame k shows each ball after step k (frame 0: the start)
// and its trail. A diverged ball stays where training stopped it.
static void draw_balls(Anim *an, const Ball *balls, int n, int frame, int width, int height) {
    int cols = (int)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
    int pw = width / cols, ph = (height - 40) / rows;
    anim_clear(an, WHITE);
    anim_text(an, 12, 8, ANIM_TEXT_LARGE, BLACK,
              "f(x) = %.1f x\u00b2,  x \u2190 x \u2212 lr \u00b7 f\u2032(x)    step %d", BOWL, frame);
    for (int i = 0; i < n; i++) {
        const Ball *b = &balls[i];
        AnimColor c = PALETTE[i % 8];
        int px = (i % cols) * pw, py = 40 + (i / cols) * ph, k = frame < b->steps ? frame : b->steps;
        float e = b->x_extent;
        anim_set_view(an, (AnimView){px + 10, py + 50, pw - 20, ph - 60, -e, e, -0.04f * b->y_max, b->y_max});
        anim_axes(an, GREY, LIGHT);
        float cx[64], cy[64];
        for (int j = 0; j < 64; j++) cx[j] = -e + 2 * e * (float)j / 63, cy[j] = bowl(cx[j]);
        anim_polyline(an, cx, cy, 64, 2, GREY);
        anim_polyline(an, b->x, b->fx, k + 1, 1.5f, c); // the jumps so far
        for (int j = 0; j < k; j++) anim_point(an, b->x[j], b->fx[j], 3, c);
        anim_point(an, b->x[k], b->fx[k], 9, c);
        anim_text(an, px + 14, py + 4, ANIM_TEXT_NORMAL, BLACK, "lr %g    f(x) = %.3g", b->lr, b->fx[k]);
        bool gone = b->diverged && frame >= b->steps;
        anim_text(an, px + 14, py + 24, ANIM_TEXT_NORMAL, gone ? RED : c, "%s", b->verdict);
    }
}

// Play the balls in a window (or write frames). In a window the last frame stays until q / Esc.
static void animate_balls(const Ball *balls, int n, int fps, const char *frames) {
    enum { W = 1000, H = 720 };
    char err[256];
    Anim *an = anim_open(&(AnimConfig){"lab03: the learning rate", W, H, fps, frames}, err, sizeof err);
    if (!an) {
        printf("animation skipped: %s (use --frames DIR to write it as PNG files)\n", err);
        return;
    }
    bool quit = false;
    for (int k = 0; k <= BALL_STEPS && !quit; k++) {
        draw_balls(an, balls, n, k, W, H);
        if (!anim_present(an)) break;
        for (int key; (key = anim_poll_key(an, NULL)) != ANIM_KEY_NONE;)
            quit |= key == 'q' || key == ANIM_KEY_ESCAPE || key == ANIM_KEY_CLOSE;
    }
    if (frames) printf("frames: %s/frame-0000.png ... frame-%04d.png\n", frames, BALL_STEPS);
    while (!quit && !anim_is_headless(an)) { // hold the last frame like a figure window
        draw_balls(an, balls, n, BALL_STEPS, W, H);
        anim_text(an, W - 220, 14, ANIM_TEXT_NORMAL, GREY, "done: q or Esc to go on");
        anim_present(an);
        for (int key; (key = anim_poll_key(an, NULL)) != ANIM_KEY_NONE;)
            quit |= key == 'q' || key == ANIM_KEY_ESCAPE || key == ANIM_KEY_CLOSE;
    }
    anim_close(an);
}

static void plot_balls(const PlotConfig *pc, const Ball *balls, int n) {
    Plot *p = plot_open(pc, "lab03-ball", "");
    if (!p) return;
    int cols = (int)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
    plot_cmd(
        p, "set multiplot layout %d,%d title \"gradient descent on f(x) = %.1f x^2 from x = %g\" noenhanced",
        rows, cols, BOWL, BALL_START);
    plot_cmd(p, "unset key");
    for (int i = 0; i < n; i++) {
        const Ball *b = &balls[i];
        plot_cmd(p, "set xrange [%g:%g]", -b->x_extent, b->x_extent);
        plot_cmd(p, "set yrange [%g:%g]", -0.04f * b->y_max, b->y_max);
        plot_cmd(p, "set title \"lr %g: %s\" noenhanced", b->lr, b->verdict);
        plot_cmd(p, "plot %g*x**2 lc rgb '#888888' lw 2, '-' with linespoints pt 7 ps 0.7 lc rgb '%s'", BOWL,
                 GNUPLOT_COLORS[i % 8]);
        plot_data(p, b->x, b->fx, b->steps + 1);
    }
    plot_cmd(p, "unset multiplot");
    plot_close(p);
}

// ---------------------------------------------------------------- (2) the line fit at each lr
typedef struct {
    int n;
    float x1[N_POINTS], y[N_POINTS];
} Data;

// lab01's data, made the same way (so the same seed gives the same points): y = 3 x1 + 2 + noise.
static void make_data(Data *d, int seed) {
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    Tensor *x = tensor_ones(SHAPE(N_POINTS, 2));
    tensor_column_uniform_(x, 0, -1.0f, 1.0f, &rng);
    Tensor *a_true = tensor_from(SHAPE(2), (float[]){3.0f, 2.0f});
    Tensor *y = tensor_matmul(x, a_true);
    d->n = N_POINTS;
    for (int i = 0; i < N_POINTS; i++)
        d->x1[i] = x->data[2 * i], d->y[i] = y->data[i] + 0.25f * rng_normal(&rng);
    tensor_free(x), tensor_free(a_true), tensor_free(y);
}

// The loss of the line y = a1 x1 + a2: mean((a1 x1 + a2 - y)^2).
static float line_loss(const Data *d, float a1, float a2) {
    double sum = 0;
    for (int i = 0; i < d->n; i++)
        sum += (double)(a1 * d->x1[i] + a2 - d->y[i]) * (a1 * d->x1[i] + a2 - d->y[i]);
    return (float)(sum / d->n);
}

typedef struct {
    float lr;
    int steps; // steps actually run (fewer when it diverged)
    float loss[MAX_STEPS + 1], a1[MAX_STEPS + 1], a2[MAX_STEPS + 1], step[MAX_STEPS + 1];
    bool diverged;
    DivergenceWatch watch; // for the diverged: line, printed below the table
} Fit;

static void fit_line(Fit *f, const Data *d, float lr, int steps, FILE *log) {
    f->lr = lr, f->diverged = false, f->steps = steps;
    f->a1[0] = -1.0f, f->a2[0] = 1.0f, f->loss[0] = line_loss(d, -1.0f, 1.0f), f->step[0] = 0;
    if (log) fprintf(log, "%g,0,%.9g\n", lr, f->loss[0]);
    f->watch = divergence_watch(5);
    for (int s = 1; s <= steps; s++) {
        float g1 = 0, g2 = 0; // gradient 2/n X^T (Xa - y), as in lab01
        for (int i = 0; i < d->n; i++) {
            float r = f->a1[s - 1] * d->x1[i] + f->a2[s - 1] - d->y[i];
            g1 += 2.0f / (float)d->n * d->x1[i] * r, g2 += 2.0f / (float)d->n * r;
        }
        f->a1[s] = f->a1[s - 1] - lr * g1, f->a2[s] = f->a2[s - 1] - lr * g2;
        f->loss[s] = line_loss(d, f->a1[s], f->a2[s]), f->step[s] = (float)s;
        if (log) fprintf(log, "%g,%d,%.9g\n", lr, s, f->loss[s]);
        if (divergence_check(&f->watch, f->loss[s])) {
            f->diverged = true, f->steps = s;
            return;
        }
    }
}

// The best loss any line can reach (least squares, solved exactly): the floor every run aims for.
static float best_line_loss(const Data *d) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, n = d->n;
    for (int i = 0; i < d->n; i++)
        sx += d->x1[i], sy += d->y[i], sxx += d->x1[i] * d->x1[i], sxy += d->x1[i] * d->y[i];
    double a1 = (n * sxy - sx * sy) / (n * sxx - sx * sx), a2 = (sy - a1 * sx) / n;
    return line_loss(d, (float)a1, (float)a2);
}

// ---------------------------------------------------------------- (3) the loss surface
// The loss of every line y = a1 x1 + a2 on an even grid of (a1, a2): the bowl every run walks down.
static PlotGrid loss_grid(const Data *d, bool log_z) {
    static float z[GRID * GRID];
    PlotGrid grid = {z, GRID, GRID, -2.0f, 5.0f, -1.0f, 4.5f, log_z, log_z ? "log10(loss)" : "loss"};
    for (int j = 0; j < GRID; j++)
        for (int i = 0; i < GRID; i++)
            z[j * GRID + i] = line_loss(d, grid.x_min + (grid.x_max - grid.x_min) * (float)i / (GRID - 1),
                                        grid.y_min + (grid.y_max - grid.y_min) * (float)j / (GRID - 1));
    return grid;
}

// The loss surface with each run's path on it. Seen from above: a heat map with contour lines (log
// scale, so the flat bottom shows its rings). In 3-D, the lesson's "try a 3d plot": the bowl itself
// (linear height), each path drawn on its surface.
static void plot_surface(const PlotConfig *pc, const Data *d, const Fit *fits, int n_fits, bool in_3d) {
    PlotGrid grid = loss_grid(d, !in_3d);
    PlotSeries flat[CLI_MAX_LIST];
    PlotPath3d on_bowl[CLI_MAX_LIST];
    char labels[CLI_MAX_LIST][32], styles[CLI_MAX_LIST][64];
    for (int i = 0; i < n_fits; i++) {
        snprintf(labels[i], sizeof labels[i], "lr %g", fits[i].lr);
        snprintf(styles[i], sizeof styles[i], "linespoints pt 7 ps %s lc rgb '%s'",
                 in_3d ? "0.6 lw 2.5" : "0.5 lw 1.5", GNUPLOT_COLORS[i % 8]);
        flat[i] = (PlotSeries){labels[i], fits[i].a1, fits[i].a2, fits[i].steps + 1, styles[i]};
        on_bowl[i] =
            (PlotPath3d){labels[i], fits[i].a1, fits[i].a2, fits[i].loss, fits[i].steps + 1, styles[i]};
    }
    if (in_3d)
        plot_surface_3d(pc, "lab03-surface-3d",
                        "lab03: the loss bowl over (a1, a2), each run walking down from (-1, 1)",
                        "a1 (slope)", "a2 (intercept)", "loss", &grid, on_bowl, n_fits);
    else
        plot_contour(pc, "lab03-surface",
                     "lab03: loss over (a1, a2); the path of each run from the guess (-1, 1)", "a1 (slope)",
                     "a2 (intercept)", &grid, flat, n_fits);
}

int main(int argc, char **argv) {
    FloatList lrs = {{0.01f, 0.1f, 0.5f, 1.05f}, 4};
    int steps = 100, fps = 5, seed = 42;
    const char *frames = NULL, *plot = "auto", *out = "out", *log_path = NULL, *surface = "contour";
    Flag flags[] = {
        {"--lr", FLAG_FLOAT_LIST, &lrs, 0, 100, true, NULL, "a learning rate to try"},
        {"--steps", FLAG_INT, &steps, 1, MAX_STEPS, false, NULL, "updates of the line fit per lr"},
        {"--fps", FLAG_INT, &fps, 1, 240, false, NULL, "frames per second of the ball animation"},
        {"--frames", FLAG_STRING, &frames, 0, 0, false, NULL,
         "no window: write the ball animation to DIR/frame-*.png"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed for the data (42 is lab01's)"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none",
         "where plots (and the animation) go"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for PNG plots"},
        {"--surface", FLAG_CHOICE, &surface, 0, 0, false, "contour|3d",
         "the loss surface seen from above, or as a 3-D bowl (turn it with the mouse in a window)"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL,
         "write the line fits as CSV lr,step,loss to this file"},
    };
    Cli cli = {"lab03-learning-rate",
               "the same descent with learning rates too low, right and too high",
               "why is there a learning rate: jump too far and you land higher than you started",
               NULL,
               "lab03-learning-rate --lr 0.3 --lr 0.6 --lr 0.9",
               flags,
               sizeof flags / sizeof flags[0]};
    cli_parse(&cli, argc, argv, NULL, 0);
    // The CSV goes to a temp file that replaces LOG only once complete: a failed run never empties it.
    OutFile log_file = {0};
    char log_err[512];
    if (log_path && !outfile_open(&log_file, log_path, log_err, sizeof log_err)) {
        fprintf(stderr, "lab03-learning-rate: %s\n", log_err);
        return 1;
    }
    FILE *log = log_file.f;
    int n = lrs.count;
    PlotConfig pc = plot_config(plot, out);

    printf("(1) a ball on f(x) = %.1f x^2 from x = %g, %d steps of x <- x - lr * %.0f x\n\n", BOWL,
           BALL_START, BALL_STEPS, 2 * BOWL);
    static Ball balls[CLI_MAX_LIST];
    for (int i = 0; i < n; i++) roll_ball(&balls[i], lrs.values[i]);
    printf("%8s %12s %12s  %s\n", "lr", "x at end", "f(x) at end", "verdict");
    for (int i = 0; i < n; i++)
        printf("%8g %12.4g %12.4g  %s%s\n", balls[i].lr, balls[i].x[balls[i].steps],
               balls[i].fx[balls[i].steps], balls[i].verdict, balls[i].diverged ? " (stopped there)" : "");
    for (int i = 0; i < n; i++)
        if (balls[i].diverged)
            divergence_report(&balls[i].watch, balls[i].steps, balls[i].fx[balls[i].steps], balls[i].lr);
    // The window follows --plot: no pictures asked for, no window either (a headless test stays headless).
    if (frames || (pc.target != PLOT_NONE && strcmp(plot, "png") != 0)) animate_balls(balls, n, fps, frames);
    plot_balls(&pc, balls, n);

    Data data;
    make_data(&data, seed);
    float best = best_line_loss(&data);
    printf("\n(2) lab01's line fit, %d steps from the guess (-1, 1); the best possible loss is %.4f\n\n",
           steps, best);
    if (log) fprintf(log, "lr,step,loss\n");
    static Fit fits[CLI_MAX_LIST];
    for (int i = 0; i < n; i++) fit_line(&fits[i], &data, lrs.values[i], steps, log);
    printf("%8s %12s %12s %12s  %s\n", "lr", "loss step 0", "step 10", "last", "verdict");
    for (int i = 0; i < n; i++) {
        const Fit *f = &fits[i];
        float last = f->loss[f->steps];
        const char *verdict = f->diverged           ? "diverged: lower the learning rate"
                              : last > 2 * best     ? "too slow: raise the learning rate (by 10, or 100)"
                              : last > 1.01f * best ? "getting there"
                                                    : "converged";
        printf("%8g %12.4f %12.4g %12.4g  %s\n", f->lr, f->loss[0], f->loss[f->steps < 10 ? f->steps : 10],
               last, verdict);
    }
    for (int i = 0; i < n; i++)
        if (fits[i].diverged)
            divergence_report(&fits[i].watch, fits[i].steps, fits[i].loss[fits[i].steps], fits[i].lr);

    PlotSeries curves[CLI_MAX_LIST];
    char labels[CLI_MAX_LIST][32], styles[CLI_MAX_LIST][48];
    for (int i = 0; i < n; i++) {
        snprintf(labels[i], sizeof labels[i], "lr %g%s", fits[i].lr, fits[i].diverged ? " (diverged)" : "");
        snprintf(styles[i], sizeof styles[i], "lines lw 2 lc rgb '%s'", GNUPLOT_COLORS[i % 8]);
        curves[i] = (PlotSeries){labels[i], fits[i].step, fits[i].loss, fits[i].steps + 1, styles[i]};
    }
    plot_series(&pc, "lab03-loss", "lab03: line fit loss at each learning rate", "step", "loss (log scale)",
                false, true, curves, n);
    bool in_3d = strcmp(surface, "3d") == 0;
    printf("\n(3) the loss surface over (a1, a2) with each run's path: %s\n",
           in_3d ? "a 3-D bowl" : "a contour plot");
    plot_surface(&pc, &data, fits, n, in_3d);

    int status = 0; // every write to the log is checked here: a full disk is an error, not a 0-byte CSV
    if (log && !outfile_commit(&log_file, log_err, sizeof log_err))
        fprintf(stderr, "lab03-learning-rate: %s\n", log_err), status = 1;
    return status;
}
