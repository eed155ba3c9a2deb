// test_resnet_folded — the ResNets' passes that skip the tape (resnet.h): inference with the batchnorms
// folded into the convs answers as the layer-by-layer eval forward does, for both archs, batch 1 and 3,
// sizes the fast path takes and sizes it declines; the frozen body's training-mode pass from packed
// weights gives the tape path's logits and running statistics bit for bit; neither answers from an old
// copy once the weights, the statistics or a loaded file changed them.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "check.h"
#include "optim.h"
#include "resnet.h"

// Batchnorm parameters and statistics away from their initial 1/0 (with those the fold is nearly the
// identity and proves little), kept near enough to 1 that 17 or 33 layers neither blow up nor vanish.
static void randomise_batchnorms(ResNet *m, Rng *rng) {
    for (int i = 0; i < m->sd.n_state; i++) {
        const char *name = m->sd.names[i];
        Tensor *t = m->sd.state[i];
        if (!strstr(name, "bn") && !strstr(name, "downsample.1")) continue;
        bool var = strstr(name, "running_var") != NULL, weight = strstr(name, ".weight") != NULL;
        for (size_t k = 0; k < t->numel; k++)
            t->data[k] = var      ? 0.5f + rng_uniform(rng)
                         : weight ? 0.6f + 0.8f * rng_uniform(rng)
                                  : 0.4f * (rng_uniform(rng) - 0.5f);
        tensor_changed(t);
    }
}

// The eval forward (or the features before fc) through the tape (grad on) or folded (grad off).
static float *eval_pass(ResNet *m, Tensor *x, bool folded, bool features) {
    bool was = set_grad_enabled(!folded);
    m->training = false;
    Tensor *y = features ? resnet_features(m, x) : resnet_forward(m, x);
    float *out = malloc(sizeof(float) * y->numel);
    memcpy(out, y->data, sizeof(float) * y->numel);
    tape_reset();
    set_grad_enabled(was);
    return out;
}

// Folded against the tape, relative to the values' scale. Float sums in another order (the bias added
// at the end, the weights pre-scaled) differ in the last bits of each layer; through 33 layers that
// stays far below 1e-4 (about 1e-6 here), while a wrong fold is off by the size of the values.
#define FOLD_TOLERANCE 1e-4f

static void check_folded(ResNet *m, Tensor *x, const char *what) {
    int N = x->shape[0];
    float *plain = eval_pass(m, x, false, false), *folded = eval_pass(m, x, true, false), scale;
    float d = max_abs_diff(plain, folded, (size_t)N * m->classes, &scale);
    printf("%s: max |logit| %.3f, folded vs tape %.2e\n", what, scale, d);
    CHECK(scale > 0.1f, "%s: the logits are not all near zero (max %g), so the comparison means something",
          what, scale);
    CHECK(d <= FOLD_TOLERANCE * fmaxf(1.0f, scale), "%s: folded logits differ from the tape's by %g", what,
          d);
    free(plain), free(folded);
    // the features the cleaner compares take the folded pass too
    plain = eval_pass(m, x, false, true), folded = eval_pass(m, x, true, true);
    d = max_abs_diff(plain, folded, (size_t)N * RESNET_FEATURES, &scale);
    CHECK(scale > 0.1f && d <= FOLD_TOLERANCE * fmaxf(1.0f, scale), "%s: folded features off by %g (max %g)",
          what, d, scale);
    free(plain), free(folded);
}

// Both archs; 32 and 64 px (ResNet-18 only) halve evenly down to layer4 (the fast path throughout on
// AVX-512, and on AVX2 at batch 1; batches on AVX2 up to the layers whose weights outgrow L2), 33 and 40 px
// give odd planes that the fast path declines (im2col: the stem's 17x17 at 33 px, layer4's 3x3 from 5x5 at 40
// px). Batch 1 on two threads splits the pixels; batch 3 shares images out.
static void test_folded_equals_tape(void) {
    const char *archs[] = {"resnet18", "resnet34"};
    const int sizes[] = {32, 33, 40, 64}, batches[] = {1, 3};
    const int n_sizes[] = {4, 3}; // ResNet-34 at 64 px adds time, not coverage
    int threads_before = omp_get_max_threads();
    for (int a = 0; a < 2; a++) {
        Rng rng;
        rng_seed(&rng, 11 + (uint64_t)a, 0);
        ResNet *m = resnet_new(archs[a], 5, &rng);
        randomise_batchnorms(m, &rng);
        for (int s = 0; s < n_sizes[a]; s++)
            for (int b = 0; b < 2; b++) {
                int S = sizes[s], N = batches[b];
                omp_set_num_threads(N == 1 ? 2 : threads_before);
                Tensor *x = tensor_normal(SHAPE(N, 3, S, S), 0, 1, &rng);
                char what[64];
                snprintf(what, sizeof what, "%s %dx%d batch %d", archs[a], S, S, N);
                check_folded(m, x, what);
                tensor_free(x);
            }
        omp_set_num_threads(threads_before);
        resnet_free(m);
    }
}

// Every body tensor's requires_grad (the learner's freeze)
static void set_body_trainable(ResNet *m, bool trainable) {
    for (int i = 0; i < m->sd.n_params; i++) {
        Tensor *p = m->sd.params[i];
        if (p != m->fc_weight && p != m->fc_bias) p->requires_grad = trainable;
    }
}

static bool same_bits(const Tensor *a, const Tensor *b) {
    return a->numel == b->numel && memcmp(a->data, b->data, sizeof(float) * a->numel) == 0;
}

// Every running statistic of a and b the same, bit for bit
static bool same_statistics(const ResNet *a, const ResNet *b) {
    for (int i = 0; i < a->sd.n_state; i++)
        if (strstr(a->sd.names[i], "running_") && !same_bits(a->sd.state[i], b->sd.state[i])) return false;
    return true;
}

// One training-mode forward of both twins on x, grad on as in a training step: `tape` records the body,
// `frozen` runs it from its packed weights. Same logits, same running statistics, bit for bit.
static void check_frozen_twins(ResNet *tape, ResNet *frozen, Tensor *x, const char *what) {
    tape->training = frozen->training = true;
    Tensor *a = resnet_forward(tape, x), *b = resnet_forward(frozen, x);
    float scale, d = max_abs_diff(a->data, b->data, a->numel, &scale);
    CHECK(scale > 0.1f, "%s: the logits mean something (max %g)", what, scale);
    CHECK(same_bits(a, b), "%s: the frozen pass gives the tape's logits bit for bit (off by %g)", what, d);
    CHECK(same_statistics(tape, frozen), "%s: and the same running statistics", what);
    tape_reset();
}

// A frozen body in training mode (fastai's first phase) skips the tape but not the batch's statistics.
static void test_frozen_equals_tape(void) {
    const int sizes[] = {64, 40}, batches[] = {4, 1};
    for (int c = 0; c < 2; c++) {
        Rng a, b;
        rng_seed(&a, 21, 0), rng_seed(&b, 21, 0); // twins
        ResNet *tape = resnet_new("resnet18", 3, &a), *frozen = resnet_new("resnet18", 3, &b);
        randomise_batchnorms(tape, &a), randomise_batchnorms(frozen, &b);
        set_body_trainable(frozen, false);
        Tensor *x = tensor_normal(SHAPE(batches[c], 3, sizes[c], sizes[c]), 0, 1, &a);
        char what[64];
        snprintf(what, sizeof what, "resnet18 %dx%d batch %d", sizes[c], sizes[c], batches[c]);
        check_frozen_twins(tape, frozen, x, what);
        check_frozen_twins(tape, frozen, x, what); // from the packed copy made the first time
        // a body weight written while frozen (a load, say): the packed copy must follow
        for (size_t k = 0; k < tape->layer[2][0].conv1->numel; k++)
            tape->layer[2][0].conv1->data[k] *= 1.5f, frozen->layer[2][0].conv1->data[k] *= 1.5f;
        tensor_changed(tape->layer[2][0].conv1), tensor_changed(frozen->layer[2][0].conv1);
        check_frozen_twins(tape, frozen, x, "after a written body weight");
        tensor_free(x);
        resnet_free(tape), resnet_free(frozen);
    }
}

// After a folded forward, each way the weights change makes the next folded forward follow: an
// optimiser step on the unfrozen body, the running statistics of a frozen training forward, a load.
static void test_changes_invalidate(void) {
    Rng rng;
    rng_seed(&rng, 31, 0);
    ResNet *m = resnet_new("resnet18", 3, &rng);
    randomise_batchnorms(m, &rng);
    Tensor *x = tensor_normal(SHAPE(2, 3, 32, 32), 0, 1, &rng);
    float *before = eval_pass(m, x, true, false);

    Optimizer *opt = sgd_create(m->sd.params, m->sd.n_params, 1e-3f, 0.0f, 0.0f);
    int labels[2] = {0, 2};
    m->training = true;
    backward(cross_entropy(resnet_forward(m, x), labels));
    optimizer_step(opt);
    optimizer_zero_grad(opt);
    tape_reset();
    float *moved = eval_pass(m, x, false, false);
    CHECK(max_abs_diff(moved, before, 6, NULL) > 1e-4f, "the step moved the tape's logits (by %g)",
          max_abs_diff(moved, before, 6, NULL));
    free(before), free(moved);
    check_folded(m, x, "after an optimiser step");

    before = eval_pass(m, x, true, false);
    set_body_trainable(m, false);
    m->training = true;
    resnet_forward(m, x); // the frozen pass: only the running statistics move
    tape_reset();
    set_body_trainable(m, true); // else eval_pass's "tape" pass would skip the tape too
    moved = eval_pass(m, x, false, false);
    CHECK(max_abs_diff(moved, before, 6, NULL) > 1e-5f,
          "the running statistics moved the tape's logits (by %g)", max_abs_diff(moved, before, 6, NULL));
    free(before), free(moved);
    check_folded(m, x, "after a frozen training forward");

    ResNet *other = resnet_new("resnet18", 3, &rng);
    randomise_batchnorms(other, &rng);
    const char *path = SGDLAB_TEST_TMP "/resnet-folded.safetensors";
    SafetensorsFile f;
    bool saved = resnet_save(other, path, NULL) == NULL && safetensors_load(path, &f) == NULL;
    CHECK(saved, "a second resnet18 saves and opens (%s)", path);
    if (saved) {
        before = eval_pass(m, x, true, false);
        CHECK(resnet_load_state(m, &f, false) == NULL, "and loads");
        moved = eval_pass(m, x, false, false);
        CHECK(max_abs_diff(moved, before, 6, NULL) > 1e-3f, "the load changed the tape's logits (by %g)",
              max_abs_diff(moved, before, 6, NULL));
        free(before), free(moved);
        check_folded(m, x, "after a load");
        safetensors_file_free(&f);
    }
    optimizer_free(opt);
    tensor_free(x);
    resnet_free(m), resnet_free(other);
}

int main(void) {
    test_folded_equals_tape();
    test_frozen_equals_tape();
    test_changes_invalidate();
    return check_done("test_resnet_folded");
}
