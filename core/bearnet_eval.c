// bearnet_eval.c — bearnet-s for inference: each batchnorm folded into the conv before it, once.
//
// In eval mode a batchnorm uses its running statistics, so it is a fixed affine map per channel:
// y = x*k + shift, k = weight/sqrt(running_var + eps), shift = bias - running_mean*k (batchnorm.c
// folds it the same way). A conv is linear, so scaling output channel o's weights by k[o] and adding
// shift[o] as a bias gives BN(conv(x)) with the BN gone. conv+BN+ReLU is then one conv whose
// epilogue (conv.h) adds the bias and takes the relu while the sums are in registers, and a block's
// end relu(BN(conv2(h)) + shortcut) one conv whose epilogue also adds the shortcut: each activation
// is written once instead of three times. The folded weights are also kept in the fast path's own
// layout (cpu/conv_fast.h), which the training forward makes afresh in every call.
//
// Training is untouched: it runs layer by layer (bearnet.c), because there the statistics are the
// batch's and change with every step. The folded copy is made again whenever a state tensor moved
// (tensor.h's version: optimiser steps, loads, running statistics).
#include <math.h>
#include <stdlib.h>

#include "autograd.h"
#include "bearnet_folded.h"
#include "conv.h"

typedef struct {
    int OC, C, K, stride, padding; // a K x K conv
    float *w, *bias;               // w*k per output channel (OC,C,K,K), shift (OC)
    float *packed;                 // w in the fast path's layout, or NULL
} FoldedConv;

struct BearNetFolded {
    unsigned long version; // the sum of the state tensors' versions it was made from
    FoldedConv stem, conv1[BEARNET_BLOCKS], conv2[BEARNET_BLOCKS], shortcut[BEARNET_BLOCKS];
};

static unsigned long state_version(const BearNet *m) {
    unsigned long v = 0;
    for (int i = 0; i < m->sd.n_state; i++) v += m->sd.state[i]->version; // versions only grow
    return v;
}

static void *checked_malloc(size_t bytes) {
    void *p = malloc(bytes);
    if (!p) sgd_panic("out of memory");
    return p;
}

static FoldedConv fold(const Tensor *w, const BatchNorm2d *bn, int stride, int padding) {
    FoldedConv f = {w->shape[0], w->shape[1], w->shape[2], stride, padding, NULL, NULL, NULL};
    size_t per_channel = w->numel / (size_t)f.OC;
    f.w = checked_malloc(sizeof(float) * w->numel);
    f.bias = checked_malloc(sizeof(float) * (size_t)f.OC);
    for (int o = 0; o < f.OC; o++) {
        // the same k and shift as batchnorm_op's eval branch
        float invstd = 1.0f / sqrtf(bn->running_var->data[o] + BN_EPS);
        float k = bn->weight->data[o] * invstd;
        f.bias[o] = bn->bias->data[o] - bn->running_mean->data[o] * k;
        for (size_t i = 0; i < per_channel; i++) f.w[o * per_channel + i] = w->data[o * per_channel + i] * k;
    }
    f.packed = conv2d_pack(f.w, f.OC, f.C, f.K, f.K);
    return f;
}

static void unfold(FoldedConv *f) {
    free(f->w), free(f->bias), free(f->packed);
}

static void folded_free(struct BearNetFolded *f) {
    if (!f) return;
    unfold(&f->stem);
    for (int l = 0; l < BEARNET_BLOCKS; l++) {
        unfold(&f->conv1[l]), unfold(&f->conv2[l]);
        if (f->shortcut[l].w) unfold(&f->shortcut[l]);
    }
    free(f);
}

static struct BearNetFolded *folded_new(const BearNet *m) {
    struct BearNetFolded *f = calloc(1, sizeof *f);
    if (!f) sgd_panic("out of memory");
    f->version = state_version(m);
    f->stem = fold(m->stem_conv, &m->stem_bn, 1, 1);
    for (int l = 0; l < BEARNET_BLOCKS; l++) {
        const BearBlock *b = &m->layer[l];
        f->conv1[l] = fold(b->conv1, &b->bn1, b->stride, 1);
        f->conv2[l] = fold(b->conv2, &b->bn2, 1, 1);
        if (b->shortcut_conv) f->shortcut[l] = fold(b->shortcut_conv, &b->shortcut_bn, b->stride, 0);
    }
    return f;
}

void bearnet_drop_folded(BearNet *m) {
    folded_free(m->folded);
    m->folded = NULL;
}

// out = epilogue(conv(x)) into a new step tensor: bias always, then the skip (or none) and relu.
static Tensor *folded_conv(const FoldedConv *f, const Tensor *x, const Tensor *skip, bool relu) {
    ConvShape s = conv_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3], f->OC, f->K, f->K, f->stride,
                             f->padding);
    Tensor *y = step_tensor(SHAPE(s.N, s.OC, s.OH, s.OW));
    conv2d_forward_fused(y->data, x->data, f->w, f->packed,
                         &(ConvEpilogue){f->bias, skip ? skip->data : NULL, relu}, &s);
    return y;
}

Tensor *bearnet_features_folded(BearNet *m, Tensor *x) {
    pthread_mutex_lock(&m->folded_lock);
    if (m->folded && m->folded->version != state_version(m)) bearnet_drop_folded(m); // weights moved
    if (!m->folded) m->folded = folded_new(m);
    const struct BearNetFolded *f = m->folded;
    pthread_mutex_unlock(&m->folded_lock);

    Tensor *h = folded_conv(&f->stem, x, NULL, true);
    for (int l = 0; l < BEARNET_BLOCKS; l++) { // the BasicBlock of bearnet.c, its BNs folded
        Tensor *shortcut = f->shortcut[l].w ? folded_conv(&f->shortcut[l], h, NULL, false) : h;
        Tensor *mid = folded_conv(&f->conv1[l], h, NULL, true);
        h = folded_conv(&f->conv2[l], mid, shortcut, true);
    }
    return global_avg_pool(h); // fc follows in bearnet_forward, as in training
}
