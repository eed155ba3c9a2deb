// lab02-animate — lab01's line fit as an animation: one gradient step per frame.
//
// In the lesson the fit is turned into a matplotlib animation: call update() once per frame, wait
// 20 ms, redraw the line. Watching it is the quickest way to get a feel for the learning rate, so
// here the lr is live: raise it with the up arrow until the line starts to swing, then past the
// point where every step lands further away than the last (divergence), restart with r.
//   data, model, loss, gradient: exactly lab01 (same seed, same 100 points, guess a = (-1, 1))
//   one frame = one update  a -= lr * 2/n X^T (Xa - y), then draw the points and the line y = a1 x + a2
#include <math.h>
#include <stdio.h>

#include "anim.h"
#include "cli.h"
#include "diverge.h"
#include "ops.h"
#include "outfile.h"
#include "tensor.h"

enum { WIDTH = 900, HEIGHT = 640, N_POINTS = 100 };
static const AnimColor WHITE = {255, 255, 255}, BLACK = {20, 20, 20}, GREY = {120, 120, 120},
                       LIGHT = {225, 225, 225}, BLUE = {31, 119, 180}, RED = {214, 39, 40},
                       TRUE_LINE = {44, 160, 44};
// Labels in darker shades than the lines they name, so only the lines have the lines' exact colours.
static const AnimColor RED_TEXT = {170, 20, 20}, TRUE_TEXT = {20, 120, 20};

typedef struct {
    float lr, a[2], loss;
    int step;
    bool paused, diverged;
    DivergenceWatch watch;
} Run;

// The lesson's starting point: a deliberately bad guess, so there is something to watch.
static void restart(Run *r, const Tensor *x, const Tensor *y) {
    r->a[0] = -1.0f, r->a[1] = 1.0f, r->step = 0, r->diverged = false, r->paused = false;
    r->watch = divergence_watch(5);
    Tensor *a = tensor_from(SHAPE(2), r->a);
    Tensor *y_hat = tensor_matmul(x, a);
    r->loss = mse_loss(y_hat, y);
    tensor_free(a), tensor_free(y_hat);
}

// One update of gradient descent (lab01's loop body); returns the loss after the step.
static float update(Run *r, const Tensor *x, const Tensor *y) {
    int n = x->shape[0];
    float grad[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        float residual = r->a[0] * x->data[2 * i] + r->a[1] - y->data[i];
        grad[0] += 2.0f / (float)n * x->data[2 * i] * residual; // d loss / d a1
        grad[1] += 2.0f / (float)n * residual;                  // d loss / d a2 (x2 is 1)
    }
    r->a[0] -= r->lr * grad[0];
    r->a[1] -= r->lr * grad[1];
    Tensor *a = tensor_from(SHAPE(2), r->a);
    Tensor *y_hat = tensor_matmul(x, a);
    float loss = mse_loss(y_hat, y);
    tensor_free(a), tensor_free(y_hat);
    return loss;
}

static void draw(Anim *an, const Run *r, const Tensor *x, const Tensor *y, int steps) {
    anim_clear(an, WHITE);
    anim_axes(an, GREY, LIGHT);
    for (int i = 0; i < x->shape[0]; i++) anim_point(an, x->data[2 * i], y->data[i], 3.5f, BLUE);
    anim_line(an, -1.1f, 3 * -1.1f + 2, 1.1f, 3 * 1.1f + 2, 2, TRUE_LINE); // the truth, y = 3x + 2
    anim_line(an, -1.1f, r->a[0] * -1.1f + r->a[1], 1.1f, r->a[0] * 1.1f + r->a[1], 4, RED);

    int px, py;
    for (int t = -1; t <= 1; t++) {
        anim_to_pixel(an, (float)t, -2.0f, &px, &py);
        anim_text(an, px - 6, HEIGHT - 58, ANIM_TEXT_NORMAL, GREY, "%d", t);
    }
    for (int t = -2; t <= 6; t += 2) {
        anim_to_pixel(an, -1.1f, (float)t, &px, &py);
        anim_text(an, px - 28, py - 9, ANIM_TEXT_NORMAL, GREY, "%d", t);
    }
    anim_text(an, 60, 14, ANIM_TEXT_LARGE, BLACK, "step %d    lr %g    loss %.4g", r->step, r->lr, r->loss);
    anim_text(an, 60, 48, ANIM_TEXT_NORMAL, RED_TEXT, "fit:  y = %.3f x %c %.3f", r->a[0],
              r->a[1] < 0 ? '-' : '+', fabsf(r->a[1]));
    anim_text(an, 330, 48, ANIM_TEXT_NORMAL, TRUE_TEXT, "true:  y = 3 x + 2");
    const char *state = r->diverged ? "" : r->paused ? "paused" : r->step >= steps ? "done" : "";
    anim_text(an, WIDTH - 120, 48, ANIM_TEXT_NORMAL, BLACK, "%s", state);
    if (r->diverged) {
        anim_text(an, 90, 110, ANIM_TEXT_LARGE, RED_TEXT, "diverged at step %d: lr %g is too high", r->step,
                  r->lr);
        anim_text(an, 90, 142, ANIM_TEXT_NORMAL, RED_TEXT,
                  "each step jumped past the best line and landed further away. Lower lr, then press r.");
    }
    anim_text(
        an, 60, HEIGHT - 30, ANIM_TEXT_NORMAL, GREY,
        "\u2191/\u2193 lr \u00d72 \u00f72 (Shift: \u00d710 \u00f710)    r restart    space pause    q quit");
}

int main(int argc, char **argv) {
    float lr = 0.1f;
    int fps = 50, steps = 100, seed = 42;
    const char *frames = NULL, *log_path = NULL;
    Flag flags[] = {
        {"--lr", FLAG_FLOAT, &lr, 0, 100, true, NULL,
         "learning rate at the start (change it live with the arrows)"},
        {"--fps", FLAG_INT, &fps, 1, 240, false, NULL,
         "frames (updates) per second; 50 is the lesson's 20 ms"},
        {"--steps", FLAG_INT, &steps, 1, 100000, false, NULL, "updates before the animation stops"},
        {"--frames", FLAG_STRING, &frames, 0, 0, false, NULL,
         "no window: write DIR/frame-0000.png, ... one per step"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed for the data (42 is lab01's)"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL, "write step,lr,loss,a1,a2 as CSV to this file"},
    };
    Cli cli = {"lab02-animate",
               "watch gradient descent fit a line, one update per frame",
               "the animation of SGD: update() every 20 ms and redraw the line",
               NULL,
               "lab02-animate --lr 0.7 --fps 25",
               flags,
               sizeof flags / sizeof flags[0]};
    cli_parse(&cli, argc, argv, NULL, 0);

    // ---- lab01's data: y = 3 x1 + 2 + noise, x1 ~ U(-1, 1) ----
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    Tensor *x = tensor_ones(SHAPE(N_POINTS, 2));
    tensor_column_uniform_(x, 0, -1.0f, 1.0f, &rng);
    Tensor *a_true = tensor_from(SHAPE(2), (float[]){3.0f, 2.0f});
    Tensor *y = tensor_matmul(x, a_true);
    for (int i = 0; i < N_POINTS; i++) y->data[i] += 0.25f * rng_normal(&rng);

    char err[256];
    AnimConfig config = {"lab02-animate: gradient descent, one step per frame", WIDTH, HEIGHT, fps, frames};
    Anim *an = anim_open(&config, err, sizeof err);
    OutFile log_file = {0}; // a temp file that replaces LOG only once complete (core/outfile.h)
    char log_err[512] = "";
    FILE *log = NULL;
    if (an && log_path && outfile_open(&log_file, log_path, log_err, sizeof log_err)) log = log_file.f;
    if (log_err[0]) fprintf(stderr, "lab02-animate: %s\n", log_err);
    if (!an || (log_path && !log)) {
        if (!an && frames) // the folder is the problem, not the display
            fprintf(stderr, "lab02-animate: %s. Pick another --frames folder.\n", err);
        else if (!an)
            fprintf(
                stderr,
                "lab02-animate: %s.\nThis lab needs a display for its window; without one, use --frames DIR "
                "to write the animation as PNG files.\n",
                err);
        anim_close(an);
        tensor_free(x), tensor_free(a_true), tensor_free(y);
        return 1;
    }
    anim_set_view(an, (AnimView){60, 80, WIDTH - 100, HEIGHT - 150, -1.1f, 1.1f, -2.5f, 6.5f});

    Run r = {.lr = lr};
    restart(&r, x, y);
    printf("lab02: %d points, guess a = (-1, 1), loss %.4f, lr %g%s\n", N_POINTS, r.loss, lr,
           frames ? "" : "; keys: up/down lr, r restart, space pause, q quit");
    if (log) fprintf(log, "step,lr,loss,a1,a2\n%d,%.9g,%.9g,%.9g,%.9g\n", 0, r.lr, r.loss, r.a[0], r.a[1]);

    bool quit = false, frames_ok = true;
    while (!quit && frames_ok) {
        bool shift = false;
        for (int key; (key = anim_poll_key(an, &shift)) != ANIM_KEY_NONE;) {
            float factor = shift ? 10.0f : 2.0f;
            if (key == ANIM_KEY_CLOSE || key == ANIM_KEY_ESCAPE || key == 'q')
                quit = true;
            else if (key == ANIM_KEY_UP)
                r.lr = fminf(r.lr * factor, 100.0f);
            else if (key == ANIM_KEY_DOWN)
                r.lr = fmaxf(r.lr / factor, 1e-8f);
            else if (key == ANIM_KEY_SPACE)
                r.paused = !r.paused;
            else if (key == 'r')
                restart(&r, x, y);
            if (key == 'r' && log) fprintf(log, "%d,%.9g,%.9g,%.9g,%.9g\n", 0, r.lr, r.loss, r.a[0], r.a[1]);
        }
        // Draw first, then step: the first frame is the guess, each later one the line after one more step.
        draw(an, &r, x, y, steps);
        frames_ok = anim_present(an);
        // Headless there is nobody to press keys: the run ends with its last step (or its divergence).
        if (!frames_ok || (anim_is_headless(an) && (r.step >= steps || r.diverged))) break;
        if (!r.paused && !r.diverged && r.step < steps) {
            r.loss = update(&r, x, y);
            r.step++;
            if (log) fprintf(log, "%d,%.9g,%.9g,%.9g,%.9g\n", r.step, r.lr, r.loss, r.a[0], r.a[1]);
            // Once the loss has grown for 5 steps running, more steps only make it worse: stop and say so.
            if (divergence_check(&r.watch, r.loss)) {
                r.diverged = true;
                divergence_report(&r.watch, r.step, r.loss, r.lr);
            }
        }
    }
    printf("step %d: a = (%.4f, %.4f), loss %.4f\n", r.step, r.a[0], r.a[1], r.loss);
    int written = anim_frames_written(an);
    if (frames && written > 0)
        printf("frames: %s/frame-0000.png (the guess) ... frame-%04d.png (step %d)\n", frames, written - 1,
               written - 1);

    if (log && !outfile_commit(&log_file, log_err, sizeof log_err))
        fprintf(stderr, "lab02-animate: %s\n", log_err), frames_ok = false;
    anim_close(an);
    tensor_free(x), tensor_free(a_true), tensor_free(y);
    return frames_ok ? 0 : 1;
}
