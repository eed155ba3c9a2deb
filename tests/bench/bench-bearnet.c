// bench-bearnet — how fast does our own library train bearnet-s, on the CPU or (--device cuda) a GPU?
//
// Times full training steps (forward, cross-entropy, backward, SGD with momentum) on random
// images after a few warm-up steps (the first steps fault in the step arena's pages and warm the
// caches; on the GPU cuDNN times its algorithms), then batch-1 inference latency in eval mode. On the GPU
// each step ends with a wait for the device, so a step's time is the GPU's; --cuda-graph records the
// whole step once and replays it (core/cuda/cuda.h says why that matters for a model this small).
// The last lines are machine-readable:
//     train_img_s=<images per second, over all timed steps>
//     train_best_img_s=<images per second in the fastest step>
//     infer_b1_ms=<milliseconds per image>
// tests/bench/run_bench.sh runs this beside the same model in PyTorch and prints the ratios.
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "autograd.h"
#include "bearnet.h"
#include "cli.h"
#include "cuda/cuda.h"
#include "optim.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// One training step, as a function a CUDA graph can record (tape_reset first: every step then gets the
// same step-arena addresses, which a replayed graph relies on).
typedef struct {
    BearNet *m;
    Optimizer *opt;
    Tensor *x;
    const int *labels;
    Tensor *loss;
} Step;

static void train_step(void *ctx) {
    Step *s = ctx;
    tape_reset();
    s->loss = cross_entropy(bearnet_forward(s->m, s->x), s->labels);
    backward(s->loss);
    optimizer_step(s->opt);
    optimizer_zero_grad(s->opt);
}

int main(int argc, char **argv) {
    int size = 64, bs = 64, steps = 10, warmup = 3, threads = 0, infer_runs = 50, seed = 0;
    const char *device_name = "cpu";
    bool cuda_graph = false;
    Flag flags[] = {
        {"--size", FLAG_INT, &size, 16, 1024, false, NULL, "image side in pixels (a multiple of 8)"},
        {"--bs", FLAG_INT, &bs, 2, 4096, false, NULL, "batch size"},
        {"--steps", FLAG_INT, &steps, 1, 100000, false, NULL, "timed training steps"},
        {"--warmup", FLAG_INT, &warmup, 0, 1000, false, NULL, "untimed training steps first"},
        {"--threads", FLAG_INT, &threads, 0, 1024, false, NULL,
         "threads for OpenMP and OpenBLAS (0: as found)"},
        {"--infer-runs", FLAG_INT, &infer_runs, 1, 100000, false, NULL, "timed batch-1 inferences"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed"},
        {"--device", FLAG_CHOICE, &device_name, 0, 0, false, "cpu|cuda", "where to train: the CPU or a GPU"},
        {"--cuda-graph", FLAG_BOOL, &cuda_graph, 0, 0, false, NULL,
         "with --device cuda: record the training step as a CUDA graph and replay it (from warm-up step 2)"},
    };
    Cli cli = {"bench-bearnet",
               "time bearnet-s training steps and batch-1 inference on random data",
               "the bears notebook's model, trained by the same SGD as lab01",
               NULL,
               "bench-bearnet --size 64 --bs 64 --steps 10 --threads 2",
               flags,
               sizeof flags / sizeof *flags};
    cli_parse(&cli, argc, argv, NULL, 0);
    if (size % 8 != 0) cli_usage_error(&cli, "--size %d must be a multiple of 8", size);
    Device device;
    char why[512];
    if (!device_select(device_name, &device, why, sizeof why)) {
        fprintf(stderr, "bench-bearnet: --device %s: %s\n", device_name, why);
        return 1;
    }
    if (cuda_graph && device != DEVICE_CUDA) cli_usage_error(&cli, "--cuda-graph needs --device cuda");
    if (cuda_graph && warmup < 2)
        cli_usage_error(&cli, "--cuda-graph needs --warmup 2 or more (run, then record)");
    if (threads > 0) omp_set_num_threads(threads);
#ifdef SGDLAB_OPENBLAS
    if (threads > 0) openblas_set_num_threads(threads);
    printf("bearnet-s, %dx%d, batch %d, %d OpenMP / %d OpenBLAS threads (%s)\n", size, size, bs,
           omp_get_max_threads(), openblas_get_num_threads(), openblas_get_config());
#else
    printf("bearnet-s, %dx%d, batch %d, %d OpenMP threads (BLAS: not OpenBLAS)\n", size, size, bs,
           omp_get_max_threads());
#endif

    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    BearNet *m = bearnet_new(3, &rng);
    state_dict_to(&m->sd, device);
    if (device == DEVICE_CUDA)
        printf("on %s, TF32 convolutions, %s\n", cuda_device_name(),
               cuda_graph ? "CUDA graph" : "eager launches");
    Optimizer *opt = sgd_create(m->sd.params, m->sd.n_params, 0.01f, 0.9f, 5e-4f);
    Tensor *x_host = tensor_normal(SHAPE(bs, 3, size, size), 0.0f, 1.0f, &rng),
           *x = tensor_to(x_host, device);
    int *labels = malloc(sizeof(int) * (size_t)bs);
    for (int n = 0; n < bs; n++) labels[n] = (int)rng_below(&rng, 3);
    Step step_ctx = {m, opt, x, labels, NULL};
    CudaGraph *graph = cuda_graph ? cuda_graph_new(train_step, &step_ctx) : NULL;

    // Training: the loss on a fixed random batch must fall (the net memorises it), which also
    // shows the timed steps do real work.
    // On a shared machine the fastest step says what the code can do; the total what it did.
    double start = 0, first_loss = 0, last_loss = 0, best_step = 1e30;
    for (int step = 0; step < warmup + steps; step++) {
        double step_start = now_s();
        if (step == warmup) start = step_start;
        if (graph)
            cuda_graph_run(graph);
        else
            train_step(&step_ctx);
        cuda_synchronize(); // the GPU's time, not the time to queue its work
        if (step == 0) first_loss = tensor_item(step_ctx.loss);
        if (step >= warmup && now_s() - step_start < best_step) best_step = now_s() - step_start;
    }
    last_loss = tensor_item(step_ctx.loss);
    double train_s = now_s() - start;
    printf("train: %d steps in %.3f s (%.1f ms/step, fastest %.1f ms = %.1f img/s), loss %.4f -> %.4f, "
           "step memory %.1f MiB (GPU %.1f MiB)\n",
           steps, train_s, 1e3 * train_s / steps, 1e3 * best_step, bs / best_step, first_loss, last_loss,
           (double)step_memory_reserved() / (1 << 20), (double)cuda_step_memory_reserved() / (1 << 20));

    // Inference at batch 1: eval mode (running statistics), no tape.
    m->training = false;
    set_grad_enabled(false);
    Tensor *one = tensor_rows(x, 0, 1);
    for (int i = 0; i < 3; i++) bearnet_forward(m, one), tape_reset();
    cuda_synchronize();
    start = now_s();
    for (int i = 0; i < infer_runs; i++) bearnet_forward(m, one), tape_reset();
    cuda_synchronize();
    double infer_ms = 1e3 * (now_s() - start) / infer_runs;

    printf("train_img_s=%.1f\n", (double)bs * steps / train_s);
    printf("train_best_img_s=%.1f\n", bs / best_step);
    printf("infer_b1_ms=%.3f\n", infer_ms);
    cuda_graph_free(graph);
    tensor_free(one);
    tensor_free(x), tensor_free(x_host);
    free(labels);
    optimizer_free(opt);
    bearnet_free(m);
    return 0;
}
