// resnet.c — ResNet-18/34: building (torchvision's names and init), the forward pass, save and load.
// Read first: bearnet.c (the same block, smaller) and fold.h (the passes that skip the tape).
#include "resnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "layer_loops.h"

static const int stage_channels[RESNET_STAGES] = {64, 128, 256, 512};

typedef struct {
    const char *arch;
    int blocks[RESNET_STAGES];
} ResNetSpec;

static const ResNetSpec specs[] = {{"resnet18", {2, 2, 2, 2}}, {"resnet34", {3, 4, 6, 3}}};

static const ResNetSpec *find_spec(const char *arch) {
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (arch && strcmp(specs[i].arch, arch) == 0) return &specs[i];
    return NULL;
}

bool resnet_arch_known(const char *arch) {
    return find_spec(arch) != NULL;
}

// torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu"), std sqrt(2 / (OC*K*K))
static Tensor *new_conv(ResNet *m, int OC, int C, int K, Rng *rng, const char *module) {
    return state_dict_conv(&m->sd, OC, C, K, sqrtf(2.0f / (float)(OC * K * K)), rng, module);
}

// "layer<s+1>.<k>.<name>": block k of stage s, torchvision's nn.Sequential numbering
static const char *block_module(char *buf, int s, int k, const char *name) {
    snprintf(buf, STATE_DICT_NAME_LEN, "layer%d.%d.%s", s + 1, k, name);
    return buf;
}

ResNet *resnet_new(const char *arch, int classes, Rng *rng) {
    const ResNetSpec *spec = find_spec(arch);
    if (!spec) return NULL;
    if (classes < 1) sgd_panic("resnet_new: %d classes", classes);
    ResNet *m = sgd_calloc(1, sizeof *m);
    m->arch = spec->arch, m->classes = classes, m->training = true;
    fold_cache_init(&m->folded), fold_cache_init(&m->packed);
    // Registration order = torchvision's state_dict order (its modules in the order __init__ makes them).
    m->conv1 = new_conv(m, 64, 3, 7, rng, "conv1");
    m->bn1 = state_dict_bn(&m->sd, 64, "bn1");
    int C = 64;
    for (int s = 0; s < RESNET_STAGES; s++) {
        m->blocks[s] = spec->blocks[s];
        for (int k = 0; k < m->blocks[s]; k++) {
            ResBlock *b = &m->layer[s][k];
            int OC = stage_channels[s];
            b->stride = s > 0 && k == 0 ? 2 : 1;
            char module[STATE_DICT_NAME_LEN];
            b->conv1 = new_conv(m, OC, C, 3, rng, block_module(module, s, k, "conv1"));
            b->bn1 = state_dict_bn(&m->sd, OC, block_module(module, s, k, "bn1"));
            b->conv2 = new_conv(m, OC, OC, 3, rng, block_module(module, s, k, "conv2"));
            b->bn2 = state_dict_bn(&m->sd, OC, block_module(module, s, k, "bn2"));
            if (b->stride != 1 || C != OC) { // torchvision's nn.Sequential(conv1x1, bn): items 0 and 1
                b->downsample_conv = new_conv(m, OC, C, 1, rng, block_module(module, s, k, "downsample.0"));
                b->downsample_bn = state_dict_bn(&m->sd, OC, block_module(module, s, k, "downsample.1"));
            }
            C = OC;
        }
    }
    state_dict_linear(&m->sd, classes, C, rng, "fc", &m->fc_weight, &m->fc_bias);
    return m;
}

void resnet_free(ResNet *m) {
    if (!m) return;
    fold_cache_free(&m->folded), fold_cache_free(&m->packed);
    state_dict_free(&m->sd);
    free(m);
}

bool resnet_is_head(const char *state_name) {
    return strncmp(state_name, "fc.", 3) == 0;
}

// Every conv with its batchnorm (bn false: without it), in the order the passes below take them: the
// stem, then conv1, conv2 and the downsample (where there is one) of each block.
enum { RESNET_MAX_CONVS = 1 + RESNET_STAGES * RESNET_MAX_BLOCKS * 3 };
static int resnet_convs(const ResNet *m, ConvBn *c, bool bn) {
    int n = 0;
    c[n++] = (ConvBn){m->conv1, bn ? &m->bn1 : NULL, 2, 3};
    for (int s = 0; s < RESNET_STAGES; s++)
        for (int k = 0; k < m->blocks[s]; k++) {
            const ResBlock *b = &m->layer[s][k];
            c[n++] = (ConvBn){b->conv1, bn ? &b->bn1 : NULL, b->stride, 1};
            c[n++] = (ConvBn){b->conv2, bn ? &b->bn2 : NULL, 1, 1};
            if (b->downsample_conv)
                c[n++] = (ConvBn){b->downsample_conv, bn ? &b->downsample_bn : NULL, b->stride, 0};
        }
    return n;
}

// A block's convs among resnet_convs' (conv1, conv2, then its downsample where it has one), moving *f
// past them: the one place that knows how many each block has.
static const FoldedConv *block_convs(const FoldedConv **f, const ResBlock *b) {
    const FoldedConv *mine = *f;
    *f += b->downsample_conv ? 3 : 2;
    return mine;
}

// A conv of the body and its batchnorm (then relu, or relu after adding skip), the conv gathering the
// batch's statistics while its output is in cache: on the tape, or, given its packed weights f, for a
// frozen body in training mode (nothing to record), the batchnorm then written over the conv's output.
static Tensor *conv_bn(Tensor *x, Tensor *w, int stride, int padding, const BatchNorm2d *bn, bool relu,
                       Tensor *skip, bool training, const FoldedConv *f) {
    ChannelMoments mo = {0};
    Tensor *h = f ? folded_conv(f, x, NULL, false, &mo)
                  : conv2d_moments(x, w, NULL, stride, padding, training ? &mo : NULL);
    return batchnorm2d_from(h, bn, training, relu, skip, &mo, f != NULL);
}

// The same block as bearnet-s's: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). f: the block's
// packed convs in resnet_convs' order (conv1, conv2, downsample), or NULL.
static Tensor *block_forward(const ResBlock *b, Tensor *x, bool training, const FoldedConv *f) {
    Tensor *shortcut = x;
    if (b->downsample_conv)
        shortcut = conv_bn(x, b->downsample_conv, b->stride, 0, &b->downsample_bn, false, NULL, training,
                           f ? f + 2 : NULL);
    Tensor *h = conv_bn(x, b->conv1, b->stride, 1, &b->bn1, true, NULL, training, f);
    return conv_bn(h, b->conv2, 1, 1, &b->bn2, true, shortcut, training, f ? f + 1 : NULL);
}

// Inference: the same blocks with their batchnorms folded into the convs' epilogues.
static Tensor *features_folded(ResNet *m, Tensor *x) {
    ConvBn convs[RESNET_MAX_CONVS];
    const FoldedConv *f = fold_cache_get(&m->folded, convs, resnet_convs(m, convs, true));
    Tensor *h = max_pool2d(folded_conv(f++, x, NULL, true, NULL), 3, 2, 1);
    for (int s = 0; s < RESNET_STAGES; s++)
        for (int k = 0; k < m->blocks[s]; k++) {
            const FoldedConv *c = block_convs(&f, &m->layer[s][k]); // conv1, conv2, downsample
            Tensor *shortcut = m->layer[s][k].downsample_conv ? folded_conv(c + 2, h, NULL, false, NULL) : h;
            h = folded_conv(c + 1, folded_conv(c, h, NULL, true, NULL), shortcut, true, NULL);
        }
    return global_avg_pool(h);
}

// Would the tape record anything of the body? Not with grad off, nor when no body tensor asks for grad
// (fastai's frozen phase) and neither does x.
static bool body_on_tape(const ResNet *m, const Tensor *x) {
    if (!grad_enabled()) return false;
    if (x->requires_grad) return true;
    for (int i = 0; i < m->sd.n_state; i++)
        if (m->sd.state[i]->requires_grad && !resnet_is_head(m->sd.names[i])) return true;
    return false;
}

Tensor *resnet_features(ResNet *m, Tensor *x) {
    tensor_check_rank("resnet input", x, 4);
    int S = x->shape[2];
    if (x->shape[1] != 3 || x->shape[3] != S || S < RESNET_MIN_SIZE) {
        char s[64];
        sgd_panic("%s: input %s must be (N,3,S,S) with S at least %d", m->arch,
                  tensor_shape_str(x, s, sizeof s), RESNET_MIN_SIZE);
    }
    bool cached = x->device == DEVICE_CPU && !body_on_tape(m, x);
    if (cached && !m->training) return features_folded(m, x);
    const FoldedConv *packed = NULL;
    if (cached) {
        ConvBn convs[RESNET_MAX_CONVS];
        packed = fold_cache_get(&m->packed, convs, resnet_convs(m, convs, false));
    } else {
        fold_cache_drop(&m->packed); // training the body: its weights move every step
    }
    // The stem shrinks the picture 4 times before any block: cheap early layers at 224 px.
    Tensor *h = conv_bn(x, m->conv1, 2, 3, &m->bn1, true, NULL, m->training, packed);
    if (packed) packed++;
    h = max_pool2d(h, 3, 2, 1);
    for (int s = 0; s < RESNET_STAGES; s++)
        for (int k = 0; k < m->blocks[s]; k++) {
            const ResBlock *b = &m->layer[s][k];
            h = block_forward(b, h, m->training, packed ? block_convs(&packed, b) : NULL);
        }
    return global_avg_pool(h);
}

Tensor *resnet_forward(ResNet *m, Tensor *x) {
    return linear(resnet_features(m, x), m->fc_weight, m->fc_bias);
}

const char *resnet_save(const ResNet *m, const char *path, const SafetensorsMeta *meta) {
    return state_dict_save(&m->sd, m->arch, m->classes, path, meta);
}

const char *resnet_load_state(ResNet *m, const SafetensorsFile *f, bool body_only) {
    return state_dict_load(&m->sd, m->arch, f, body_only ? "fc." : NULL);
}
