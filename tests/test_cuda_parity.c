// test_cuda_parity.c — every op of the CUDA backend against the CPU op it twins, then one whole bearnet-s
// training step on both devices from the same weights.
//
// Each op runs on random inputs (normal values: never all zeros, and odd shapes, so an index that is
// off by a row or a channel lands on a different number), forward and backward from the same random
// dY, once with fresh step-tensor inputs (backward writes their gradients) and once with parameters that
// already hold a gradient (backward adds to it). Outputs, gradients and batchnorm's running statistics
// must agree within 1e-4 of the largest reference value (parity.h). The GPU runs with reference math:
// TF32 off (TF32 rounds the products' inputs to 10 bits, about 5e-4 relative) and only cuDNN's GEMM-like
// conv algorithms (Winograd and FFT round differently); cuda_set_reference_math says so.
// The whole step is held to 1e-3 for gradients: twenty layers of sums in different orders, and batchnorm
// dividing by small variances, compound the op-level error; the weights after the step to 1e-4.
//
// Last, three steps through a CUDA graph (recorded once, replayed) against the same steps run eagerly.
// Without a GPU (or in a build without CUDA) there is nothing to compare: the test says why and exits 77,
// which ctest reports as skipped.
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "bearnet.h"
#include "check.h"
#include "cuda/cuda.h"
#include "optim.h"
#include "parity.h"

enum { MAX_IN = 6 };
static const double STEP_GRAD_TOL = 1e-3;

static Rng rng;

static Tensor *randn(int rank, const int *shape) {
    return tensor_normal(rank, shape, 0.0f, 1.0f, &rng);
}

// One op under test: its inputs (CPU tensors), which of them backward must reach, and which are state the
// op updates in place (running statistics), compared after the forward pass.
typedef struct {
    const char *name;
    int n_in;
    Tensor *in[MAX_IN];
    bool grad[MAX_IN], state[MAX_IN];
    Tensor *(*run)(Tensor *const *in, const void *arg);
    const void *arg;
} OpCase;

// Host copies of what a run produced: the output, then each input's gradient and state (NULL if none).
typedef struct {
    Tensor *y, *grad[MAX_IN], *state[MAX_IN];
} Snapshot;

static void snapshot_free(Snapshot *s) {
    tensor_free(s->y);
    for (int i = 0; i < MAX_IN; i++) tensor_free(s->grad[i]), tensor_free(s->state[i]);
}

// The case on one device. fresh: the inputs that need a gradient are step tensors, whose gradient the
// first backward writes; else persistent tensors that start with gradient g0 and get added to.
static Snapshot run_case(const OpCase *c, Device d, bool fresh, Tensor *const *g0, const Tensor *dy) {
    Tensor *in[MAX_IN];
    for (int i = 0; i < c->n_in; i++) {
        if (!c->in[i]) { // an optional input left out (conv2d without a bias)
            in[i] = NULL;
            continue;
        }
        if (fresh && c->grad[i]) {
            in[i] = step_tensor_on(d, c->in[i]->rank, c->in[i]->shape);
            tensor_copy_(in[i], c->in[i]);
        } else {
            in[i] = tensor_to(c->in[i], d);
        }
        in[i]->requires_grad = c->grad[i];
        if (!fresh && c->grad[i]) in[i]->grad = tensor_to(g0[i], d);
    }
    Tensor *y = c->run(in, c->arg);
    Tensor *dy_d = tensor_to(dy, d);
    backward_with(y, dy_d);
    Snapshot s = {tensor_to(y, DEVICE_CPU), {0}, {0}};
    for (int i = 0; i < c->n_in; i++) {
        if (c->grad[i]) s.grad[i] = tensor_to(in[i]->grad, DEVICE_CPU);
        if (c->state[i]) s.state[i] = tensor_to(in[i], DEVICE_CPU);
    }
    tape_reset();
    tensor_free(dy_d);
    for (int i = 0; i < c->n_in; i++) tensor_free(in[i]);
    return s;
}

static void check_case(const OpCase *c) {
    for (int fresh = 0; fresh < 2; fresh++) {
        Tensor *g0[MAX_IN] = {0};
        for (int i = 0; i < c->n_in; i++)
            if (c->grad[i]) g0[i] = randn(c->in[i]->rank, c->in[i]->shape);
        // dY has the output's shape: run the CPU op once without the tape to learn it.
        bool grad = set_grad_enabled(false);
        Tensor *probe = c->run(c->in, c->arg), *dy = randn(probe->rank, probe->shape);
        set_grad_enabled(grad);
        tape_reset();
        Snapshot cpu = run_case(c, DEVICE_CPU, fresh, g0, dy), gpu = run_case(c, DEVICE_CUDA, fresh, g0, dy);
        char what[96];
        snprintf(what, sizeof what, "%s%s forward", c->name, fresh ? "" : " (accumulating)");
        compare_within(what, gpu.y, cpu.y, PARITY_TOL);
        for (int i = 0; i < c->n_in; i++) {
            if (cpu.grad[i]) {
                snprintf(what, sizeof what, "%s%s d input %d", c->name, fresh ? "" : " (accumulating)", i);
                compare_within(what, gpu.grad[i], cpu.grad[i], PARITY_TOL);
            }
            if (cpu.state[i]) {
                snprintf(what, sizeof what, "%s state %d after", c->name, i);
                compare_within(what, gpu.state[i], cpu.state[i], PARITY_TOL);
            }
        }
        snapshot_free(&cpu), snapshot_free(&gpu);
        tensor_free(dy);
        for (int i = 0; i < c->n_in; i++) tensor_free(g0[i]);
    }
}

// ---- the ops, as OpCase runners ----

typedef struct {
    int stride, padding;
} ConvArg;
static Tensor *run_conv(Tensor *const *in, const void *arg) {
    const ConvArg *a = arg;
    return conv2d(in[0], in[1], in[2], a->stride, a->padding);
}

typedef struct {
    bool training, relu, skip;
} BnArg;
static Tensor *run_bn(Tensor *const *in, const void *arg) {
    const BnArg *a = arg;
    BatchNorm2d bn = {in[1], in[2], in[3], in[4]};
    if (a->skip) return batchnorm2d_add_relu(in[0], &bn, in[5], a->training);
    return a->relu ? batchnorm2d_relu(in[0], &bn, a->training) : batchnorm2d(in[0], &bn, a->training);
}

static Tensor *run_relu(Tensor *const *in, const void *arg) {
    return relu(in[0]);
}
static Tensor *run_add_relu(Tensor *const *in, const void *arg) {
    return add_relu(in[0], in[1]);
}
static Tensor *run_pool(Tensor *const *in, const void *arg) {
    return global_avg_pool(in[0]);
}
static Tensor *run_linear(Tensor *const *in, const void *arg) {
    return linear(in[0], in[1], in[2]);
}
static Tensor *run_cross_entropy(Tensor *const *in, const void *arg) {
    return cross_entropy(in[0], arg);
}

static void free_case(OpCase *c) {
    for (int i = 0; i < c->n_in; i++) tensor_free(c->in[i]);
}

static void test_conv(void) {
    // (input shape, OC, kernel, stride, padding): bearnet's 3x3/1, 3x3/2 and 1x1/2 shortcut, odd sizes
    const int cases[][8] = {{3, 5, 9, 7, 4, 3, 1, 1}, {2, 3, 11, 10, 6, 3, 2, 1}, {2, 5, 9, 9, 7, 1, 2, 0}};
    for (int k = 0; k < 3; k++) {
        const int *s = cases[k];
        for (int bias = 0; bias < 2; bias++) {
            ConvArg arg = {s[6], s[7]};
            OpCase c = {bias ? "conv2d+bias" : "conv2d", 3, {0}, {true, true, bias}, {0}, run_conv, &arg};
            c.in[0] = randn(4, s);
            c.in[1] = randn(SHAPE(s[4], s[1], s[5], s[5]));
            c.in[2] = bias ? randn(SHAPE(s[4])) : NULL;
            check_case(&c);
            free_case(&c);
        }
    }
}

static void test_batchnorm(void) {
    const char *names[2][3] = {{"batchnorm2d eval", "batchnorm2d_relu eval", "batchnorm2d_add_relu eval"},
                               {"batchnorm2d", "batchnorm2d_relu", "batchnorm2d_add_relu"}};
    for (int training = 0; training < 2; training++)
        for (int kind = 0; kind < 3; kind++) {
            BnArg arg = {training, kind > 0, kind == 2};
            int C = 5;
            OpCase c = {names[training][kind], kind == 2 ? 6 : 5, {0}, {true, true, true}, {0}, run_bn, &arg};
            // values around 3, not 0: the variance must not come from cancelling sums
            c.in[0] = tensor_normal(SHAPE(3, C, 7, 9), 3.0f, 1.5f, &rng);
            c.in[1] = tensor_uniform(SHAPE(C), 0.5f, 1.5f, &rng);
            c.in[2] = randn(SHAPE(C));
            c.in[3] = randn(SHAPE(C));
            c.in[4] = tensor_uniform(SHAPE(C), 0.5f, 2.0f, &rng);
            c.state[3] = c.state[4] = training;
            if (kind == 2) c.in[5] = randn(SHAPE(3, C, 7, 9)), c.grad[5] = true;
            check_case(&c);
            free_case(&c);
        }
}

static void test_small_ops(void) {
    OpCase r = {"relu", 1, {randn(SHAPE(2, 3, 5, 7))}, {true}, {0}, run_relu, NULL};
    check_case(&r);
    free_case(&r);
    OpCase ar = {"add_relu",   2,   {randn(SHAPE(2, 3, 5, 7)), randn(SHAPE(2, 3, 5, 7))}, {true, true}, {0},
                 run_add_relu, NULL};
    check_case(&ar);
    free_case(&ar);
    OpCase p = {"global_avg_pool", 1, {randn(SHAPE(3, 5, 7, 9))}, {true}, {0}, run_pool, NULL};
    check_case(&p);
    free_case(&p);
    OpCase l = {
        "linear",   3,   {randn(SHAPE(5, 7)), randn(SHAPE(3, 7)), randn(SHAPE(3))}, {true, true, true}, {0},
        run_linear, NULL};
    check_case(&l);
    free_case(&l);
    int labels[9];
    for (int n = 0; n < 9; n++) labels[n] = (int)rng_below(&rng, 3);
    OpCase ce = {"cross_entropy",   1,     {tensor_normal(SHAPE(9, 3), 0.0f, 3.0f, &rng)}, {true}, {0},
                 run_cross_entropy, labels};
    check_case(&ce);
    free_case(&ce);
}

// Three steps of each optimiser from the same weights, gradients and (zero) state.
static void test_optimizers(void) {
    for (int kind = 0; kind < 2; kind++) {
        Tensor *w[2], *g = randn(SHAPE(37, 5));
        Optimizer *opt[2];
        w[0] = randn(SHAPE(37, 5));
        w[1] = tensor_to(w[0], DEVICE_CUDA);
        for (int d = 0; d < 2; d++) {
            w[d]->requires_grad = true;
            w[d]->grad = tensor_to(g, d ? DEVICE_CUDA : DEVICE_CPU);
            opt[d] = kind ? adamw_create(&w[d], 1, 1e-2f, 0.9f, 0.99f, 1e-5f, 0.01f)
                          : sgd_create(&w[d], 1, 0.1f, 0.9f, 5e-4f);
            for (int step = 0; step < 3; step++) optimizer_step(opt[d]);
        }
        Tensor *after = tensor_to(w[1], DEVICE_CPU);
        compare_within(kind ? "adamw: weights after 3 steps" : "sgd: weights after 3 steps", after, w[0],
                       PARITY_TOL);
        tensor_free(after);
        for (int d = 0; d < 2; d++) optimizer_free(opt[d]), tensor_free(w[d]);
        tensor_free(g);
    }
}

// One SGD step of bearnet-s on a random batch, on each device, from the same seed's weights.
static void test_bearnet_step(void) {
    enum { N = 6, S = 24 };
    BearNet *m[2];
    for (int d = 0; d < 2; d++) {
        Rng init;
        rng_seed(&init, 7, 0);
        m[d] = bearnet_new(3, &init);
    }
    state_dict_to(&m[1]->sd, DEVICE_CUDA);
    Tensor *x = randn(SHAPE(N, 3, S, S)), *x_gpu = tensor_to(x, DEVICE_CUDA);
    int labels[N];
    for (int n = 0; n < N; n++) labels[n] = (int)rng_below(&rng, 3);
    float loss[2];
    for (int d = 0; d < 2; d++) {
        Optimizer *opt = sgd_create(m[d]->sd.params, m[d]->sd.n_params, 0.1f, 0.9f, 5e-4f);
        Tensor *l = cross_entropy(bearnet_forward(m[d], d ? x_gpu : x), labels);
        loss[d] = tensor_item(l);
        backward(l);
        if (d == 1) { // the gradients, before the step uses them
            for (int i = 0; i < m[1]->sd.n_params; i++) {
                char what[96];
                snprintf(what, sizeof what, "step grad %s", m[1]->sd.names[i]);
                Tensor *g = tensor_to(m[1]->sd.params[i]->grad, DEVICE_CPU);
                compare_within(what, g, m[0]->sd.params[i]->grad, STEP_GRAD_TOL);
                tensor_free(g);
            }
        }
        optimizer_step(opt);
        optimizer_free(opt);
        tape_reset();
    }
    CHECK_NEAR(loss[1], loss[0], 1e-4 * loss[0]);
    for (int i = 0; i < m[1]->sd.n_state; i++) { // weights after the step, and the running statistics
        char what[96];
        snprintf(what, sizeof what, "after the step %s", m[1]->sd.names[i]);
        Tensor *t = tensor_to(m[1]->sd.state[i], DEVICE_CPU);
        compare_within(what, t, m[0]->sd.state[i], PARITY_TOL);
        tensor_free(t);
    }
    // A model trained on the GPU predicts on the CPU: moved back, its eval logits are the CPU model's.
    state_dict_to(&m[1]->sd, DEVICE_CPU);
    m[0]->training = m[1]->training = false;
    bool grad = set_grad_enabled(false);
    Tensor *logits0 = tensor_copy(bearnet_forward(m[0], x));
    Tensor *logits1 = bearnet_forward(m[1], x);
    compare_within("eval logits, GPU-trained model on the CPU", logits1, logits0, PARITY_TOL);
    set_grad_enabled(grad);
    tape_reset();
    tensor_free(logits0);
    tensor_free(x), tensor_free(x_gpu);
    bearnet_free(m[0]), bearnet_free(m[1]);
}

// The same three SGD steps of bearnet-s on the GPU, eagerly and through a CUDA graph (run, record, replay):
// a replay must do exactly what the recorded step did, from the same step-arena addresses.
typedef struct {
    BearNet *m;
    Optimizer *opt;
    Tensor *x;
    const int *labels;
    Tensor *loss;
} GraphStep;

static void graph_step(void *ctx) {
    GraphStep *s = ctx;
    tape_reset();
    s->loss = cross_entropy(bearnet_forward(s->m, s->x), s->labels);
    backward(s->loss);
    optimizer_step(s->opt);
    optimizer_zero_grad(s->opt);
}

static void test_graph_replay(void) {
    enum { N = 4, S = 16 };
    Tensor *x_host = randn(SHAPE(N, 3, S, S)), *x = tensor_to(x_host, DEVICE_CUDA);
    int labels[N];
    for (int n = 0; n < N; n++) labels[n] = (int)rng_below(&rng, 3);
    GraphStep steps[2];
    float loss[2];
    for (int k = 0; k < 2; k++) {
        Rng init;
        rng_seed(&init, 9, 0);
        BearNet *m = bearnet_new(3, &init);
        state_dict_to(&m->sd, DEVICE_CUDA);
        steps[k] =
            (GraphStep){m, sgd_create(m->sd.params, m->sd.n_params, 0.05f, 0.9f, 5e-4f), x, labels, NULL};
        CudaGraph *g = k ? cuda_graph_new(graph_step, &steps[k]) : NULL;
        for (int step = 0; step < 3; step++) g ? cuda_graph_run(g) : graph_step(&steps[k]);
        if (g) CHECK(cuda_graph_captured(g), "the second run recorded the step as a graph");
        loss[k] = tensor_item(steps[k].loss);
        cuda_graph_free(g);
    }
    CHECK_NEAR(loss[1], loss[0], 1e-5 * loss[0]);
    for (int i = 0; i < steps[0].m->sd.n_state; i++) {
        char what[96];
        snprintf(what, sizeof what, "graph replay %s", steps[0].m->sd.names[i]);
        Tensor *a = tensor_to(steps[1].m->sd.state[i], DEVICE_CPU),
               *b = tensor_to(steps[0].m->sd.state[i], DEVICE_CPU);
        compare_within(what, a, b, PARITY_TOL);
        tensor_free(a), tensor_free(b);
    }
    tape_reset();
    for (int k = 0; k < 2; k++) optimizer_free(steps[k].opt), bearnet_free(steps[k].m);
    tensor_free(x), tensor_free(x_host);
}

int main(void) {
    char why[256];
    if (!cuda_init(why, sizeof why)) {
        printf("test_cuda_parity: skipped: %s\n", why);
        return 77; // ctest's SKIP_RETURN_CODE (tests/cuda.cmake)
    }
    printf("test_cuda_parity on %s, reference math (TF32 off, exact conv algorithms)\n", cuda_device_name());
    cuda_set_reference_math(true);
    rng_seed(&rng, 2026, 0);
    test_conv();
    test_batchnorm();
    test_small_ops();
    test_optimizers();
    test_bearnet_step();
    test_graph_replay();
    return check_done("test_cuda_parity");
}
