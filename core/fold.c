// fold.c — folding batchnorms into convs and packing their weights once, for inference (fold.h says why).
// Read first: batchnorm.c (the eval-mode affine map folded here) and conv.c (the fused forward it feeds).
#include "fold.h"

#include <stdlib.h>

#include "autograd.h"
#include "conv.h"

static FoldedConv fold(const ConvBn *c) {
    const Tensor *w = c->weight;
    FoldedConv f = {w->shape[0], w->shape[1], w->shape[2], c->stride, c->padding, w, NULL, NULL, NULL};
    const float *weights = w->data;
    if (c->bn) {
        const BatchNorm2d *bn = c->bn;
        size_t per_channel = w->numel / (size_t)f.OC;
        f.w = sgd_malloc(sizeof(float) * w->numel);
        f.bias = sgd_malloc(sizeof(float) * (size_t)f.OC);
        for (int o = 0; o < f.OC; o++) {
            // the same k and shift as batchnorm_op's eval branch
            float invstd, k;
            batchnorm_affine(bn, o, bn->running_mean->data[o], bn->running_var->data[o], &invstd, &k,
                             &f.bias[o]);
            for (size_t i = 0; i < per_channel; i++)
                f.w[o * per_channel + i] = w->data[o * per_channel + i] * k;
        }
        weights = f.w;
    }
    f.packed = conv2d_pack(weights, f.OC, f.C, f.K, f.K);
    return f;
}

// The versions only grow, so the sum moves whenever one of them does.
static unsigned long versions(const ConvBn *convs, int n) {
    unsigned long v = 0;
    for (int i = 0; i < n; i++) {
        v += convs[i].weight->version;
        const BatchNorm2d *bn = convs[i].bn;
        if (bn)
            v += bn->weight->version + bn->bias->version + bn->running_mean->version +
                 bn->running_var->version;
    }
    return v;
}

void fold_cache_init(FoldCache *c) {
    *c = (FoldCache){.n = 0, .conv = NULL};
    pthread_mutex_init(&c->lock, NULL);
}

static void drop_locked(FoldCache *c) {
    for (int i = 0; c->conv && i < c->n; i++)
        free(c->conv[i].w), free(c->conv[i].bias), free(c->conv[i].packed);
    free(c->conv);
    c->conv = NULL, c->n = 0;
}

void fold_cache_drop(FoldCache *c) {
    pthread_mutex_lock(&c->lock);
    drop_locked(c);
    pthread_mutex_unlock(&c->lock);
}

void fold_cache_free(FoldCache *c) {
    drop_locked(c);
    pthread_mutex_destroy(&c->lock);
}

const FoldedConv *fold_cache_get(FoldCache *c, const ConvBn *convs, int n) {
    unsigned long v = versions(convs, n);
    pthread_mutex_lock(&c->lock);
    if (c->conv && (c->version != v || c->n != n)) drop_locked(c); // weights moved
    if (!c->conv) {
        c->conv = sgd_malloc(sizeof(FoldedConv) * (size_t)n);
        for (int i = 0; i < n; i++) c->conv[i] = fold(&convs[i]);
        c->n = n, c->version = v;
    }
    const FoldedConv *f = c->conv;
    pthread_mutex_unlock(&c->lock);
    return f;
}

Tensor *folded_conv(const FoldedConv *f, const Tensor *x, const Tensor *skip, bool relu, ChannelMoments *mo) {
    ConvShape s = conv_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3], f->OC, f->K, f->K, f->stride,
                             f->padding);
    Tensor *y = step_tensor(SHAPE(s.N, s.OC, s.OH, s.OW));
    const ConvEpilogue e = {f->bias, skip ? skip->data : NULL, relu, mo};
    conv2d_forward_fused(y->data, x->data, f->w ? f->w : f->weight->data, f->packed, &e, &s);
    return y;
}
