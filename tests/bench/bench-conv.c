// bench-conv — GFLOP/s of one 3x3 padding-1 convolution's three products on one thread.
//
// The forward, the weight gradient and the input gradient of one layer shape, each timed as the
// fastest of --runs calls (CPU time of this thread, so other programs on the machine disturb it
// less than wall time), and as a share of the thread's FMA peak measured in the same run. A measuring
// tool for the kernels in core/conv.c and core/cpu/; compare two builds by
// running them one after the other, a few times, and by ratios within one run (dW / forward).
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "autograd.h"
#include "cli.h"
#include "conv.h"
#include "rng.h"

static double thread_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// The machine's multiply-add peak on one thread: 12 independent chains of 16-float vector FMAs (enough
// in flight to cover the FMA latency on every CPU these sessions get), so each kernel's figure can be
// read as a share of what the core can do at all.
typedef float Vec16 __attribute__((vector_size(64)));
static double fma_peak_gflops(void) {
    enum { CHAINS = 12, STEPS = 20000000 };
    Vec16 acc[CHAINS], a, b;
    for (int j = 0; j < 16; j++) a[j] = 1.0f + 1e-7f * (float)j, b[j] = 1e-8f;
    for (int c = 0; c < CHAINS; c++) acc[c] = a * (float)c;
    double t = thread_seconds();
    for (int i = 0; i < STEPS; i++)
#pragma GCC unroll 12
        for (int c = 0; c < CHAINS; c++) acc[c] = acc[c] * a + b;
    t = thread_seconds() - t;
    float sink = 0;
    for (int c = 0; c < CHAINS; c++) sink += acc[c][c];
    if (sink == 42.0f) printf(" "); // keeps the chains alive
    return 2.0 * 16 * CHAINS * (double)STEPS / t / 1e9;
}

int main(int argc, char **argv) {
    int N = 16, C = 16, size = 64, OC = 16, stride = 1, runs = 8;
    Flag flags[] = {
        {"--n", FLAG_INT, &N, 1, 4096, false, NULL, "images"},
        {"--c", FLAG_INT, &C, 1, 4096, false, NULL, "input channels"},
        {"--size", FLAG_INT, &size, 2, 1024, false, NULL, "input side in pixels"},
        {"--oc", FLAG_INT, &OC, 1, 4096, false, NULL, "output channels"},
        {"--stride", FLAG_INT, &stride, 1, 2, false, NULL, "stride"},
        {"--runs", FLAG_INT, &runs, 1, 1000, false, NULL, "timed calls of each product (the fastest counts)"},
    };
    Cli cli = {"bench-conv",
               "GFLOP/s of a 3x3 conv's forward, weight-gradient and input-gradient products, one thread",
               "the matrix products under every layer of the bears notebook's model",
               NULL,
               "bench-conv --n 32 --c 64 --size 16 --oc 64",
               flags,
               sizeof flags / sizeof *flags};
    cli_parse(&cli, argc, argv, NULL, 0);
    omp_set_num_threads(1);
    ConvShape s = conv_shape(N, C, size, size, OC, 3, 3, stride, 1);
    size_t nx = (size_t)N * C * size * size, ny = (size_t)N * OC * s.OH * s.OW, nw = (size_t)OC * C * 9;
    float *x = malloc(sizeof(float) * nx), *dy = malloc(sizeof(float) * ny), *y = malloc(sizeof(float) * ny),
          *w = malloc(sizeof(float) * nw), *dw = calloc(nw, sizeof(float)), *dx = malloc(sizeof(float) * nx);
    if (!x || !dy || !y || !w || !dw || !dx) {
        fprintf(stderr, "bench-conv: out of memory for this shape\n");
        return 1;
    }
    Rng rng;
    rng_seed(&rng, 1, 0);
    for (size_t i = 0; i < nx; i++) x[i] = rng_normal(&rng);
    for (size_t i = 0; i < ny; i++) dy[i] = rng_normal(&rng);
    for (size_t i = 0; i < nw; i++) w[i] = 0.1f * rng_normal(&rng);
    double best[3] = {1e30, 1e30, 1e30};
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < 3; k++) {
            double t = thread_seconds();
            if (k == 0) conv2d_forward(y, x, w, NULL, &s);
            if (k == 1) conv2d_backward(NULL, dw, NULL, dy, x, w, &s, true);
            if (k == 2) conv2d_backward(dx, NULL, NULL, dy, x, w, &s, true);
            t = thread_seconds() - t;
            tape_reset(); // the products' scratch comes from the step arena
            if (t < best[k]) best[k] = t;
        }
    double gflop = 2.0 * (double)nw * s.OH * s.OW * N / 1e9; // the same multiply-adds in each product
    printf("N%d C%d %dx%d OC%d stride %d, one thread:\n", N, C, size, size, OC, stride);
    const char *names[3] = {"forward", "dW", "dX"};
    double peak = fma_peak_gflops();
    for (int k = 0; k < 3; k++)
        printf("%-8s %7.1f GFLOP/s (%.2f ms), %4.1f%% of peak\n", names[k], gflop / best[k], 1e3 * best[k],
               100 * gflop / best[k] / peak);
    printf("peak     %7.1f GFLOP/s (fp32 vector FMA, one thread)\n", peak);
    printf("dW/forward %.2f\n", best[0] / best[1]);
    free(x), free(dy), free(y), free(w), free(dw), free(dx);
    return 0;
}
