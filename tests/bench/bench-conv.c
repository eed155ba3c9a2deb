// bench-conv — GFLOP/s of one convolution's three products (3x3 padding 1 unless told otherwise).
//
// The forward, the weight gradient and the input gradient of one layer shape, each timed as the
// fastest of --runs calls (CPU time of this thread, so other programs on the machine disturb it
// less than wall time; with --threads above 1, wall time, as the threads' CPU times would hide
// an idle one), and as a share of the FMA peak of that many threads measured in the same run. A
// measuring tool for the kernels in core/conv.c and core/cpu/; compare two builds by running them
// one after the other, a few times, and by ratios within one run (dW / forward).
// tests/bench/conv_shapes.sh runs it over bearnet-s's and the ResNets' layers.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autograd.h"
#include "cli.h"
#include "conv.h"
#include "rng.h"

static clockid_t clock_used = CLOCK_THREAD_CPUTIME_ID;
static double seconds(void) {
    struct timespec t;
    clock_gettime(clock_used, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// The machine's multiply-add peak on one thread: 12 independent chains of vector FMAs as wide as the
// build targets (16 floats on AVX-512, 8 on AVX2: wider vectors than the registers would be split and
// spilled, and the figure would measure the spills), enough in flight to cover the FMA latency on every
// CPU these sessions get, so each kernel's figure can be read as a share of what the core can do at all.
// The FMAs are written out: the project builds with -ffp-contract=off, so acc * a + b is a multiply and
// an add, which a Zen 4 runs on separate pipes as fast as FMAs but an Intel core on the same two: there
// the peak read half of what it is, and kernels showed 150-175% of it.
#if defined(__AVX512F__)
#include <immintrin.h>
enum { LANES = 16 };
typedef __m512 Vec;
static inline Vec vec_fma(Vec a, Vec b, Vec c) {
    return _mm512_fmadd_ps(a, b, c);
}
static inline Vec vec_set(float v) {
    return _mm512_set1_ps(v);
}
#elif defined(__FMA__)
#include <immintrin.h>
enum { LANES = 8 };
typedef __m256 Vec;
static inline Vec vec_fma(Vec a, Vec b, Vec c) {
    return _mm256_fmadd_ps(a, b, c);
}
static inline Vec vec_set(float v) {
    return _mm256_set1_ps(v);
}
#else // no AVX in this build (the sanitizer build compiles the tests so): SSE vectors
enum { LANES = 4 };
typedef float Vec __attribute__((vector_size(4 * LANES)));
static inline Vec vec_fma(Vec a, Vec b, Vec c) {
    return a * b + c;
}
static inline Vec vec_set(float v) {
    return (Vec){0} + v;
}
#endif
static double fma_peak_gflops(void) {
    enum { CHAINS = 12, STEPS = 20000000 };
    Vec acc[CHAINS], a = vec_set(1.0f + 1e-7f), b = vec_set(1e-8f);
    for (int c = 0; c < CHAINS; c++) acc[c] = vec_set((float)c);
    double t = seconds();
    for (int i = 0; i < STEPS; i++)
#pragma GCC unroll 12
        for (int c = 0; c < CHAINS; c++) acc[c] = vec_fma(acc[c], a, b);
    t = seconds() - t;
    float lanes[LANES], sink = 0;
    for (int c = 0; c < CHAINS; c++) {
        memcpy(lanes, &acc[c], sizeof lanes);
        sink += lanes[c % LANES];
    }
    if (sink == 42.0f) printf(" "); // keeps the chains alive
    return 2.0 * LANES * CHAINS * (double)STEPS / t / 1e9;
}

int main(int argc, char **argv) {
    int N = 16, C = 16, size = 64, OC = 16, k = 3, stride = 1, padding = -1, threads = 1, runs = 8;
    Flag flags[] = {
        {"--n", FLAG_INT, &N, 1, 4096, false, NULL, "images"},
        {"--c", FLAG_INT, &C, 1, 4096, false, NULL, "input channels"},
        {"--size", FLAG_INT, &size, 2, 1024, false, NULL, "input side in pixels"},
        {"--oc", FLAG_INT, &OC, 1, 4096, false, NULL, "output channels"},
        {"--k", FLAG_INT, &k, 1, 11, false, NULL, "kernel side (7: ResNet's stem, 1: its downsample)"},
        {"--stride", FLAG_INT, &stride, 1, 4, false, NULL, "stride"},
        {"--padding", FLAG_INT, &padding, -1, 10, false, NULL, "padding (-1: k/2, the same-size padding)"},
        {"--threads", FLAG_INT, &threads, 1, 256, false, NULL,
         "OpenMP threads (above 1: timed by the wall clock)"},
        {"--runs", FLAG_INT, &runs, 1, 1000, false, NULL, "timed calls of each product (the fastest counts)"},
    };
    Cli cli = {"bench-conv",
               "GFLOP/s of a conv's forward, weight-gradient and input-gradient products",
               "the matrix products under every layer of the bears notebook's model",
               NULL,
               "bench-conv --n 32 --c 64 --size 16 --oc 64 (ResNet's stem: --c 3 --size 224 --oc 64 --k 7 "
               "--stride 2)",
               flags,
               sizeof flags / sizeof *flags};
    cli_parse(&cli, argc, argv, NULL, 0);
    if (padding < 0) padding = k / 2;
    if (size + 2 * padding < k)
        cli_usage_error(&cli, "--k %d does not fit a %d px input padded by %d", k, size, padding);
    omp_set_num_threads(threads);
    if (threads > 1) clock_used = CLOCK_MONOTONIC;
    ConvShape s = conv_shape(N, C, size, size, OC, k, k, stride, padding);
    size_t nx = (size_t)N * C * size * size, ny = (size_t)N * OC * s.OH * s.OW, nw = (size_t)OC * C * k * k;
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
    // "infer": the forward as bearnet inference runs it (core/bearnet_eval.c), weights packed once and
    // a bias + relu epilogue, so the forward row minus this one is the per-call packing.
    float *packed = conv2d_pack(w, OC, C, k, k), *bias = calloc((size_t)OC, sizeof(float));
    if (!bias) {
        fprintf(stderr, "bench-conv: out of memory for this shape\n");
        return 1;
    }
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < runs; r++)
        for (int p = 0; p < 4; p++) {
            double t = seconds();
            if (p == 0) conv2d_forward(y, x, w, NULL, &s);
            if (p == 1) conv2d_backward(NULL, dw, NULL, dy, x, w, &s, true);
            if (p == 2) conv2d_backward(dx, NULL, NULL, dy, x, w, &s, true);
            if (p == 3) conv2d_forward_fused(y, x, w, packed, &(ConvEpilogue){bias, NULL, true, NULL}, &s);
            t = seconds() - t;
            tape_reset(); // the products' scratch comes from the step arena
            if (t < best[p]) best[p] = t;
        }
    double gflop = 2.0 * (double)nw * s.OH * s.OW * N / 1e9; // the same multiply-adds in each product
    printf("N%d C%d %dx%d OC%d k%d stride %d padding %d, %d thread%s:\n", N, C, size, size, OC, k, stride,
           padding, threads, threads > 1 ? "s" : "");
    const char *names[4] = {"forward", "dW", "dX", "infer"};
    double peak = 0;
#pragma omp parallel num_threads(threads) reduction(+ : peak)
    peak += fma_peak_gflops(); // all threads at once: cores that share a clock or a pipe show it
    for (int p = 0; p < 4; p++)
        printf("%-8s %7.1f GFLOP/s (%.2f ms), %4.1f%% of peak\n", names[p], gflop / best[p], 1e3 * best[p],
               100 * gflop / best[p] / peak);
    printf("peak     %7.1f GFLOP/s (fp32 vector FMA, %d thread%s)\n", peak, threads, threads > 1 ? "s" : "");
    printf("dW/forward %.2f\n", best[0] / best[1]);
    free(x), free(dy), free(y), free(w), free(dw), free(dx), free(packed), free(bias);
    return 0;
}
