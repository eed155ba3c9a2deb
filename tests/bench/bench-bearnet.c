// bench-bearnet — how fast does our own library train bearnet-s (or a ResNet), on the CPU or
// (--device cuda) a GPU?
//
// Times full training steps (forward, cross-entropy, backward, SGD with momentum) on random
// images after a few warm-up steps (the first steps fault in the step arena's pages and warm the
// caches; on the GPU cuDNN times its algorithms), then, with --frozen-steps, fine-tuning steps with the
// body frozen (fastai's first phase: the body runs forward without a tape, only the head is trained),
// then batch-1 inference latency in eval mode. On the GPU each step ends with a wait for the device, so
// a step's time is the GPU's; --cuda-graph records the whole step once and replays it (core/cuda/cuda.h
// says why that matters for a model this small). The last lines are machine-readable:
//     train_img_s=<images per second, over all timed steps>
//     train_best_img_s=<images per second in the fastest step>
//     frozen_img_s=, frozen_best_img_s=<the same for the frozen steps, when there are any>
//     infer_b1_ms=<milliseconds per image, the fastest of --infer-runs>
// tests/bench/run_bench.sh runs this beside the same model in PyTorch and prints the ratios.
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autograd.h"
#include "cli.h"
#include "cuda/cuda.h"
#include "model.h"
#include "optim.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// One training step, as a function a CUDA graph can record (tape_reset first: every step then gets the
// same step-arena addresses, which a replayed graph relies on).
typedef struct {
    BearModel *m;
    Optimizer *opt;
    Tensor *x;
    const int *labels;
    Tensor *loss;
} Step;

static void train_step(void *ctx) {
    Step *s = ctx;
    tape_reset();
    s->loss = cross_entropy(bear_model_forward(s->m, s->x, true), s->labels);
    backward(s->loss);
    optimizer_step(s->opt);
    optimizer_zero_grad(s->opt);
}

// warmup untimed then steps timed training steps on one batch (replayed from graph when there is one):
// *seconds for the timed ones in all, and *best the fastest (on a shared machine the fastest step says
// what the code can do; the total what it did). Prints a line with both and the loss before and after.
static void timed_steps(const char *label, Step *ctx, CudaGraph *graph, int warmup, int steps,
                        double *seconds, double *best) {
    double start = 0, first_loss = 0;
    *best = 1e30;
    for (int step = 0; step < warmup + steps; step++) {
        double step_start = now_s();
        if (step == warmup) start = step_start;
        if (graph)
            cuda_graph_run(graph);
        else
            train_step(ctx);
        cuda_synchronize(); // the GPU's time, not the time to queue its work
        if (step == 0) first_loss = tensor_item(ctx->loss);
        if (step >= warmup && now_s() - step_start < *best) *best = now_s() - step_start;
    }
    *seconds = now_s() - start;
    int bs = ctx->x->shape[0];
    printf("%s: %d steps in %.3f s (%.1f ms/step, fastest %.1f ms = %.1f img/s), loss %.4f -> %.4f, "
           "step memory %.1f MiB (GPU %.1f MiB)\n",
           label, steps, *seconds, 1e3 * *seconds / steps, 1e3 * *best, bs / *best, first_loss,
           tensor_item(ctx->loss), (double)step_memory_reserved() / (1 << 20),
           (double)cuda_step_memory_reserved() / (1 << 20));
}

int main(int argc, char **argv) {
    int size = 64, bs = 64, steps = 10, frozen_steps = 0, warmup = 3, threads = 0, infer_runs = 50, seed = 0;
    const char *arch = BEARNET_ARCH, *device_name = "cpu";
    bool cuda_graph = false;
    Flag flags[] = {
        {"--arch", FLAG_CHOICE, &arch, 0, 0, false, BEAR_ARCHS, "the network (bears train's --arch)"},
        {"--size", FLAG_INT, &size, 16, 1024, false, NULL,
         "image side in pixels (a multiple of 8; 32 at least for a ResNet)"},
        {"--bs", FLAG_INT, &bs, 1, 4096, false, NULL, "batch size"},
        {"--steps", FLAG_INT, &steps, 1, 100000, false, NULL, "timed training steps"},
        {"--frozen-steps", FLAG_INT, &frozen_steps, 0, 100000, false, NULL,
         "timed steps with the body frozen, after the training steps (0: none)"},
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
               "time bearnet-s (or ResNet) training steps and batch-1 inference on random data",
               "the bears notebook's model, trained by the same SGD as lab01",
               NULL,
               "bench-bearnet --size 64 --bs 64 --steps 10 --threads 2 (ResNet-34 fine-tuning: --arch "
               "resnet34 --size 224 --steps 2 --frozen-steps 2)",
               flags,
               sizeof flags / sizeof *flags};
    cli_parse(&cli, argc, argv, NULL, 0);
    if (size % 8 != 0) cli_usage_error(&cli, "--size %d must be a multiple of 8", size);
    if (size < bear_arch_min_size(arch))
        cli_usage_error(&cli, "--size %d is below %s's smallest input, %d", size, arch,
                        bear_arch_min_size(arch));
    Device device;
    char why[512];
    if (!device_select(device_name, &device, why, sizeof why)) {
        fprintf(stderr, "bench-bearnet: --device %s: %s\n", device_name, why);
        return 1;
    }
    // The GPU backend has the ops bearnet-s is made of; the ResNets' stem needs max_pool2d too.
    if (device == DEVICE_CUDA && strcmp(arch, BEARNET_ARCH) != 0)
        cli_usage_error(&cli, "--device cuda runs %s only (the GPU backend has no max_pool2d)", BEARNET_ARCH);
    if (cuda_graph && device != DEVICE_CUDA) cli_usage_error(&cli, "--cuda-graph needs --device cuda");
    if (cuda_graph && warmup < 2)
        cli_usage_error(&cli, "--cuda-graph needs --warmup 2 or more (run, then record)");
    if (threads > 0) omp_set_num_threads(threads);
#ifdef SGDLAB_OPENBLAS
    if (threads > 0) openblas_set_num_threads(threads);
    printf("%s, %dx%d, batch %d, %d OpenMP / %d OpenBLAS threads (%s)\n", arch, size, size, bs,
           omp_get_max_threads(), openblas_get_num_threads(), openblas_get_config());
#else
    printf("%s, %dx%d, batch %d, %d OpenMP threads (BLAS: not OpenBLAS)\n", arch, size, size, bs,
           omp_get_max_threads());
#endif

    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    BearModel m = {.n_classes = 3, .classes = calloc(3, sizeof(char *))}; // random labels: no names
    if (!m.classes || !bear_model_build(&m, arch, &rng)) {
        fprintf(stderr, "bench-bearnet: out of memory\n");
        return 1;
    }
    state_dict_to(m.sd, device);
    if (device == DEVICE_CUDA)
        printf("on %s, TF32 convolutions, %s\n", cuda_device_name(),
               cuda_graph ? "CUDA graph" : "eager launches");
    Optimizer *opt = sgd_create(m.sd->params, m.sd->n_params, 0.01f, 0.9f, 5e-4f);
    Tensor *x_host = tensor_normal(SHAPE(bs, 3, size, size), 0.0f, 1.0f, &rng),
           *x = tensor_to(x_host, device);
    int *labels = malloc(sizeof(int) * (size_t)bs);
    for (int n = 0; n < bs; n++) labels[n] = (int)rng_below(&rng, 3);
    Step step_ctx = {&m, opt, x, labels, NULL};
    CudaGraph *graph = cuda_graph ? cuda_graph_new(train_step, &step_ctx) : NULL;

    // Training: the loss on a fixed random batch must fall (the net memorises it), which also
    // shows the timed steps do real work.
    double train_s, best_step;
    timed_steps("train", &step_ctx, graph, warmup, steps, &train_s, &best_step);
    double frozen_s = 0, best_frozen = 0;
    if (frozen_steps > 0) { // the head alone learns; the body's weights no longer ask for gradients
        Tensor *head[STATE_DICT_MAX];
        int n_head = 0;
        for (int i = 0; i < m.sd->n_state; i++)
            if (m.sd->state[i]->requires_grad) {
                if (resnet_is_head(m.sd->names[i]))
                    head[n_head++] = m.sd->state[i];
                else
                    m.sd->state[i]->requires_grad = false;
            }
        Optimizer *head_opt = sgd_create(head, n_head, 0.01f, 0.9f, 5e-4f);
        Step frozen_ctx = {&m, head_opt, x, labels, NULL};
        timed_steps("frozen", &frozen_ctx, NULL, 1, frozen_steps, &frozen_s, &best_frozen);
        optimizer_free(head_opt);
    }

    // Inference at batch 1: eval mode (running statistics), no tape.
    set_grad_enabled(false);
    Tensor *one = tensor_rows(x, 0, 1);
    for (int i = 0; i < 3; i++) bear_model_forward(&m, one, false), tape_reset();
    cuda_synchronize();
    double infer_ms = 1e30; // the fastest run: a mean took in whatever else the machine did
    for (int i = 0; i < infer_runs; i++) {
        double start = now_s();
        bear_model_forward(&m, one, false), tape_reset();
        cuda_synchronize();
        double ms = 1e3 * (now_s() - start);
        infer_ms = ms < infer_ms ? ms : infer_ms;
    }

    printf("train_img_s=%.1f\n", (double)bs * steps / train_s);
    printf("train_best_img_s=%.1f\n", bs / best_step);
    if (frozen_steps > 0) {
        printf("frozen_img_s=%.1f\n", (double)bs * frozen_steps / frozen_s);
        printf("frozen_best_img_s=%.1f\n", bs / best_frozen);
    }
    printf("infer_b1_ms=%.3f\n", infer_ms);
    cuda_graph_free(graph);
    tensor_free(one);
    tensor_free(x), tensor_free(x_host);
    free(labels);
    optimizer_free(opt);
    bear_model_free(&m);
    return 0;
}
