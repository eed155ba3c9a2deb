// bearnet.c — bearnet-s: building, naming, the forward pass, the summary, save and load.
// Read first: layers.c, conv.c and batchnorm.c (its layers); then bearnet_eval.c.
#include "bearnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "bearnet_folded.h"

static const int block_out[BEARNET_BLOCKS] = {16, 32, 64, 128};
static const int block_stride[BEARNET_BLOCKS] = {1, 2, 2, 2};

// "<prefix>.<name>" into buf (a module path such as "layer2.shortcut").
static const char *module_name(char *buf, const char *prefix, const char *name) {
    if (snprintf(buf, STATE_DICT_NAME_LEN, "%s.%s", prefix, name) >= STATE_DICT_NAME_LEN)
        sgd_panic("bearnet: name %s.%s is too long", prefix, name);
    return buf;
}

// conv weight (OC,C,K,K) ~ N(0, 2/fan_in), fan_in = C*K*K (He et al. 2015)
static Tensor *new_conv(BearNet *m, int OC, int C, int K, Rng *rng, const char *prefix, const char *name) {
    char module[STATE_DICT_NAME_LEN];
    return state_dict_conv(&m->sd, OC, C, K, sqrtf(2.0f / (float)(C * K * K)), rng,
                           module_name(module, prefix, name));
}

static BatchNorm2d new_bn(BearNet *m, int C, const char *prefix, const char *name) {
    char module[STATE_DICT_NAME_LEN];
    return state_dict_bn(&m->sd, C, module_name(module, prefix, name));
}

BearNet *bearnet_new(int classes, Rng *rng) {
    if (classes < 1) sgd_panic("bearnet_new: %d classes", classes);
    BearNet *m = sgd_calloc(1, sizeof *m);
    m->classes = classes;
    m->training = true;
    fold_cache_init(&m->folded);
    // Registration order = PyTorch's state_dict order: each module's weight, bias, then buffers.
    m->stem_conv = new_conv(m, 16, 3, 3, rng, "stem", "conv");
    m->stem_bn = new_bn(m, 16, "stem", "bn");
    int C = 16;
    for (int l = 0; l < BEARNET_BLOCKS; l++) {
        BearBlock *b = &m->layer[l];
        char prefix[16];
        snprintf(prefix, sizeof prefix, "layer%d", l + 1);
        b->in_channels = C, b->out_channels = block_out[l], b->stride = block_stride[l];
        b->conv1 = new_conv(m, b->out_channels, C, 3, rng, prefix, "conv1");
        b->bn1 = new_bn(m, b->out_channels, prefix, "bn1");
        b->conv2 = new_conv(m, b->out_channels, b->out_channels, 3, rng, prefix, "conv2");
        b->bn2 = new_bn(m, b->out_channels, prefix, "bn2");
        if (b->stride != 1 || C != b->out_channels) {
            char sc[STATE_DICT_NAME_LEN];
            module_name(sc, prefix, "shortcut");
            b->shortcut_conv = new_conv(m, b->out_channels, C, 1, rng, sc, "conv");
            b->shortcut_bn = new_bn(m, b->out_channels, sc, "bn");
        }
        C = b->out_channels;
    }
    state_dict_linear(&m->sd, classes, C, rng, "fc", &m->fc_weight, &m->fc_bias);
    return m;
}

void bearnet_free(BearNet *m) {
    if (!m) return;
    fold_cache_free(&m->folded);
    state_dict_free(&m->sd);
    free(m);
}

size_t bearnet_num_params(const BearNet *m) {
    return state_dict_num_params(&m->sd);
}

static Tensor *block_forward(const BearBlock *b, Tensor *x, bool training) {
    Tensor *h = batchnorm2d_relu(conv2d(x, b->conv1, NULL, b->stride, 1), &b->bn1, training);
    h = conv2d(h, b->conv2, NULL, 1, 1);
    Tensor *shortcut = x;
    if (b->shortcut_conv)
        shortcut = batchnorm2d(conv2d(x, b->shortcut_conv, NULL, b->stride, 0), &b->shortcut_bn, training);
    // relu(bn2(h) + shortcut): the join fused into bn2's pass over memory
    return batchnorm2d_add_relu(h, &b->bn2, shortcut, training);
}

Tensor *bearnet_features(BearNet *m, Tensor *x) {
    tensor_check_rank("bearnet input", x, 4);
    int S = x->shape[2];
    if (x->shape[1] != 3 || x->shape[3] != S || S < 16 || S % 8 != 0) {
        char s[64];
        sgd_panic("bearnet: input %s must be (N,3,S,S) with S a multiple of 8, at least 16",
                  tensor_shape_str(x, s, sizeof s));
    }
    if (!m->training && !grad_enabled() && x->device == DEVICE_CPU)
        return bearnet_features_folded(m, x); // inference
    Tensor *h = batchnorm2d_relu(conv2d(x, m->stem_conv, NULL, 1, 1), &m->stem_bn, m->training);
    for (int l = 0; l < BEARNET_BLOCKS; l++) h = block_forward(&m->layer[l], h, m->training);
    return global_avg_pool(h);
}

Tensor *bearnet_forward(BearNet *m, Tensor *x) {
    return linear(bearnet_features(m, x), m->fc_weight, m->fc_bias);
}

// ---- summary ----

typedef struct {
    FILE *f;
    double params, macs;
} Summary;

static void summary_line(Summary *s, const char *layer, int C, int H, size_t params, double macs) {
    char shape[40];
    if (H > 0)
        snprintf(shape, sizeof shape, "[N, %d, %d, %d]", C, H, H);
    else
        snprintf(shape, sizeof shape, "[N, %d]", C);
    fprintf(s->f, "%-22s %-18s %10zu %14.0f\n", layer, shape, params, macs);
    s->params += (double)params, s->macs += macs;
}

static void summary_conv(Summary *s, const char *layer, const Tensor *w, int S_out) {
    size_t p = w->numel;
    summary_line(s, layer, w->shape[0], S_out, p,
                 (double)p * S_out * S_out); // each weight used once per pixel
}

static void summary_bn(Summary *s, const char *layer, int C, int S) {
    summary_line(s, layer, C, S, (size_t)2 * C, 0);
}

void bearnet_summary(const BearNet *m, int S, FILE *f) {
    Summary s = {f, 0, 0};
    fprintf(f, "bearnet-s for %dx%d RGB inputs, %d classes\n", S, S, m->classes);
    fprintf(f, "%-22s %-18s %10s %14s\n", "layer", "output shape", "params", "MACs/image");
    summary_conv(&s, "stem.conv 3x3", m->stem_conv, S);
    summary_bn(&s, "stem.bn + relu", 16, S);
    for (int l = 0; l < BEARNET_BLOCKS; l++) {
        const BearBlock *b = &m->layer[l];
        char name[40];
        S /= b->stride;
        snprintf(name, sizeof name, "layer%d.conv1 3x3/%d", l + 1, b->stride);
        summary_conv(&s, name, b->conv1, S);
        snprintf(name, sizeof name, "layer%d.bn1 + relu", l + 1);
        summary_bn(&s, name, b->out_channels, S);
        snprintf(name, sizeof name, "layer%d.conv2 3x3", l + 1);
        summary_conv(&s, name, b->conv2, S);
        snprintf(name, sizeof name, "layer%d.bn2", l + 1);
        summary_bn(&s, name, b->out_channels, S);
        if (b->shortcut_conv) {
            snprintf(name, sizeof name, "layer%d.shortcut 1x1/%d", l + 1, b->stride);
            summary_conv(&s, name, b->shortcut_conv, S);
            snprintf(name, sizeof name, "layer%d.shortcut.bn", l + 1);
            summary_bn(&s, name, b->out_channels, S);
        }
        snprintf(name, sizeof name, "layer%d add + relu", l + 1);
        summary_line(&s, name, b->out_channels, S, 0, 0);
    }
    summary_line(&s, "global avg pool", 128, 0, 0, 0);
    summary_line(&s, "fc", m->classes, 0, m->fc_weight->numel + m->fc_bias->numel,
                 (double)m->fc_weight->numel);
    fprintf(f, "total: %.0f trainable parameters, %.1f M multiply-adds per image forward (x3 to train)\n",
            s.params, s.macs / 1e6);
}

// ---- save and load ----

const char *bearnet_save(const BearNet *m, const char *path, const SafetensorsMeta *meta) {
    return state_dict_save(&m->sd, BEARNET_ARCH, m->classes, path, meta);
}

const char *bearnet_load_state(BearNet *m, const SafetensorsFile *f) {
    return state_dict_load(&m->sd, BEARNET_ARCH, f, NULL);
}
