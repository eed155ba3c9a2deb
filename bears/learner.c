// learner.c — the training step, validation and the bits around them.
#include "learner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "autograd.h"
#include "layers.h"
#include "ops.h"

// bs 32 rather than fastai's 64: training from scratch on a couple of thousand pictures, the
// number of updates matters more than how smooth each one is (measured: 2.9% vs 7.8% error
// after 4 epochs on the default data; see notes/bears.md).
LearnerOptions learner_defaults(void) {
    return (LearnerOptions){.data = dataset_defaults(),
                            .bs = 32,
                            .wd = 0.01f,
                            .augment = true,
                            .aug = augment_default(),
                            .seed = 42,
                            .arch = BEARNET_ARCH};
}

bool learner_set_size(LearnerOptions *o, int size, char *why, size_t why_size) {
    o->data.size = size ? size : resnet_arch_known(o->arch) ? 224 : dataset_defaults().size;
    if (o->data.size % 8)
        snprintf(why, why_size, "--size must be a multiple of 8 (%s), got %d",
                 resnet_arch_known(o->arch) ? "the sizes every arch takes" : "bearnet-s halves it 3 times",
                 o->data.size);
    else if (o->data.size < bear_arch_min_size(o->arch))
        snprintf(why, why_size, "--size %d is too small for %s (at least %d)", o->data.size, o->arch,
                 bear_arch_min_size(o->arch));
    else if (o->pretrained && !resnet_arch_known(o->arch))
        snprintf(why, why_size,
                 "--pretrained loads ImageNet weights into a ResNet: add --arch resnet18 or "
                 "--arch resnet34 (%s has none)",
                 o->arch);
    else
        return true;
    return false;
}

int learner_select_device(LearnerOptions *o, const char *name, const Cli *cli) {
    // The GPU backend has the ops bearnet-s is made of; the ResNets' stem needs max_pool2d too.
    if (strcmp(name, "cuda") == 0 && strcmp(o->arch, BEARNET_ARCH) != 0)
        cli_usage_error(cli,
                        "--device cuda trains %s only (the GPU backend has no max_pool2d, which %s needs)",
                        BEARNET_ARCH, o->arch);
    char why[512];
    if (device_select(name, &o->device, why, sizeof why)) return 0;
    fprintf(stderr, "%s: --device %s: %s\n", cli->program, name, why);
    return 1;
}

// ImageNet's per-channel statistics (torchvision's): a pretrained body expects pictures scaled so.
static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};

// The body's weights from a pretrained file (everything but the head).
static bool load_pretrained(BearModel *m, const char *path, char *err, size_t err_size) {
    SafetensorsFile f;
    const char *e = safetensors_load(path, &f);
    bool loaded = e == NULL;
    if (!e && !m->resnet) e = "bearnet-s has no pretrained weights; use --arch resnet18 or resnet34";
    if (!e) e = resnet_load_state(m->resnet, &f, true);
    // A NaN in the body would not show in the losses (a ReLU turns it into 0) but spoil the saved model.
    char bad[160];
    const char *nonfinite = e ? NULL : state_dict_first_nonfinite(m->sd);
    if (nonfinite) {
        snprintf(bad, sizeof bad,
                 "tensor '%.60s' holds NaN or infinite values: the file is damaged; "
                 "download or convert it again",
                 nonfinite);
        e = bad;
    }
    if (e) snprintf(err, err_size, "--pretrained %s: %s", path, e);
    if (loaded) safetensors_file_free(&f);
    return e == NULL;
}

bool learner_init(Learner *l, const char *dir, const LearnerOptions *o, char *err, size_t err_size) {
    memset(l, 0, sizeof *l);
    DatasetOptions data = o->data;
    data.own_stats = o->pretrained != NULL; // ImageNet's, below
    if (!dataset_load(dir, &data, &l->ds, err, err_size)) return false;
    if (l->ds.n_train < 2) {
        snprintf(err, err_size, "%s: only %d training picture(s) after the split; training needs at least 2",
                 dir, l->ds.n_train);
        dataset_free(&l->ds);
        return false;
    }
    rng_seed(&l->rng, (uint64_t)o->seed, 1); // stream 1: the split uses its own stream
    BearModel *m = &l->model;
    m->n_classes = l->ds.n_classes;
    m->classes = calloc((size_t)m->n_classes, sizeof(char *));
    for (int c = 0; c < m->n_classes; c++) m->classes[c] = strdup(l->ds.classes[c]);
    m->size = l->ds.size;
    if (!bear_model_build(m, o->arch, &l->rng)) sgd_panic("learner_init: unknown arch %s", o->arch);
    if (o->pretrained) {
        if (!load_pretrained(m, o->pretrained, err, err_size)) {
            learner_free(l);
            return false;
        }
        memcpy(l->ds.mean, imagenet_mean, sizeof l->ds.mean); // batches are normalised with these
        memcpy(l->ds.std, imagenet_std, sizeof l->ds.std);
    }
    memcpy(m->mean, l->ds.mean, sizeof m->mean);
    memcpy(m->std, l->ds.std, sizeof m->std);
    // Train on the GPU: the weights move there before the optimisers make their state beside them.
    state_dict_to(m->sd, o->device);
    // AdamW with fastai's defaults (beta2 0.99, eps 1e-5); beta1 is set by the schedule each step.
    Tensor *body[STATE_DICT_MAX], *head[STATE_DICT_MAX];
    int n_body = 0, n_head = 0;
    for (int i = 0; i < m->sd->n_state; i++)
        if (m->sd->state[i]->requires_grad) {
            if (resnet_is_head(m->sd->names[i]))
                head[n_head++] = m->sd->state[i];
            else
                body[n_body++] = m->sd->state[i];
        }
    l->opt_body = adamw_create(body, n_body, 0, 0.9f, 0.99f, 1e-5f, o->wd);
    l->opt_head = adamw_create(head, n_head, 0, 0.9f, 0.99f, 1e-5f, o->wd);
    l->body_lr_scale = 1;
    l->aug = o->augment ? o->aug : augment_none();
    l->smoothing = o->smoothing, l->mixup = o->mixup;
    l->targets = malloc(sizeof(float) * (size_t)o->bs * (size_t)l->ds.n_classes);
    l->bs = o->bs < l->ds.n_train ? o->bs : l->ds.n_train;
    l->x = tensor_zeros(SHAPE(l->bs, 3, l->ds.size, l->ds.size));
    if (o->device == DEVICE_CUDA) l->x_device = tensor_zeros_on(DEVICE_CUDA, l->x->rank, l->x->shape);
    l->y = calloc((size_t)l->bs, sizeof(int));
    l->order = malloc(sizeof(int) * (size_t)l->ds.n_train);
    l->before = malloc(sizeof(float) * state_dict_num_params(m->sd));
    l->after = malloc(sizeof(float) * state_dict_num_params(m->sd));
    memcpy(l->order, l->ds.train, sizeof(int) * (size_t)l->ds.n_train);
    return true;
}

void learner_free(Learner *l) {
    optimizer_free(l->opt_body);
    optimizer_free(l->opt_head);
    bear_model_free(&l->model);
    dataset_free(&l->ds);
    tensor_free(l->x);
    tensor_free(l->x_device);
    free(l->y), free(l->order), free(l->before), free(l->after), free(l->targets);
    tape_reset();
    memset(l, 0, sizeof *l);
}

void learner_freeze(Learner *l, bool frozen) {
    l->frozen = frozen;
    for (int i = 0; i < l->opt_body->n_params; i++) l->opt_body->params[i]->requires_grad = !frozen;
}

int learner_batches(const Learner *l) {
    int full = l->ds.n_train / l->bs, rest = l->ds.n_train % l->bs;
    return full + (rest >= 2);
}

void learner_shuffle(Learner *l) {
    rng_shuffle(&l->rng, l->order, l->ds.n_train);
}

// A view of the first n rows of the reusable batch tensor.
static Tensor *batch_view(Tensor *x, int n) {
    return n == x->shape[0] ? x : tensor_rows(x, 0, n);
}

// Every parameter's values, one after another (from the GPU when the model is there).
static void read_params(Tensor *const *params, int n, float *out) {
    for (int k = 0; k < n; k++) {
        tensor_read(params[k], out);
        out += params[k]->numel;
    }
}

float learner_step(Learner *l, int b, float lr, float momentum) {
    int start = b * l->bs, n = l->ds.n_train - start < l->bs ? l->ds.n_train - start : l->bs;
    dataset_batch(&l->ds, l->order + start, n, &l->aug, &l->rng, l->x, l->y);
    // Label smoothing and mixup make soft targets (mixup blends the pictures too, here on the CPU).
    bool soft = l->smoothing > 0 || l->mixup > 0;
    if (soft)
        augment_targets(l->x->data, (size_t)3 * l->ds.size * l->ds.size, l->y, n, l->ds.n_classes,
                        l->smoothing, l->mixup, &l->rng, l->targets);
    // Decoded and augmented on the CPU; on the GPU path copied over in one transfer.
    if (l->x_device) tensor_copy_(l->x_device, l->x);
    Tensor *batch = l->x_device ? l->x_device : l->x, *x = batch_view(batch, n);
    tape_reset();
    Tensor *logits = bear_model_forward(&l->model, x, true);
    Tensor *loss = soft ? cross_entropy_soft(logits, l->targets) : cross_entropy(logits, l->y);
    float value = tensor_item(loss);
    if (isfinite(value)) { // a NaN step would poison every weight: leave them as they were
        backward(loss);
        l->opt_head->lr = lr, l->opt_body->lr = lr * l->body_lr_scale;
        l->opt_head->momentum = l->opt_body->momentum = momentum;
        Tensor **params = l->model.sd->params;
        int n_params = l->model.sd->n_params;
        read_params(params, n_params, l->before);
        optimizer_step(l->opt_head);
        if (!l->frozen) optimizer_step(l->opt_body);
        read_params(params, n_params, l->after);
        double moved = 0, size = 0;
        for (size_t i = 0, total = state_dict_num_params(l->model.sd); i < total; i++) {
            double d = (double)l->after[i] - l->before[i];
            moved += d * d, size += (double)l->before[i] * l->before[i];
        }
        l->update_ratio = (float)sqrt(moved / (size > 0 ? size : 1));
    }
    optimizer_zero_grad(l->opt_head);
    optimizer_zero_grad(l->opt_body);
    tape_reset();
    if (x != batch) tensor_free(x);
    return value;
}

void learner_validate(Learner *l, float *loss, float *error_rate) {
    int n = l->ds.n_valid, C = l->model.n_classes, wrong = 0;
    float *probs = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)C);
    int *labels = malloc(sizeof(int) * (size_t)(n ? n : 1));
    bear_model_predict_pictures(&l->model, &l->ds, l->ds.valid, n, l->x, probs, labels, NULL);
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * C;
        wrong += argmax(p, C) != labels[i];
        total += -log(fmax(p[labels[i]], 1e-30)); // cross-entropy from the probabilities
    }
    free(probs), free(labels);
    *loss = n ? (float)(total / n) : NAN;
    *error_rate = n ? (float)wrong / (float)n : NAN;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_bar(const char *label, int done, int total, double seconds) {
    static int is_tty = -1;
    if (is_tty < 0) is_tty = isatty(2);
    if (!is_tty) return;
    enum { WIDTH = 30 };
    int filled = total ? done * WIDTH / total : WIDTH;
    fprintf(stderr, "\r%-8s [", label);
    for (int i = 0; i < WIDTH; i++) fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %d/%d %.1fs", done, total, seconds);
    if (done >= total) fprintf(stderr, "\r\033[K"); // clear the bar once the table row replaces it
    fflush(stderr);
}
