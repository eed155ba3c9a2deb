// bearnet_eval.c — bearnet-s for inference: each batchnorm folded into the conv before it, once (fold.h
// says how and why).
#include "bearnet_folded.h"

// stem, then conv1, conv2 and the shortcut (where there is one) of each block: the order of the pass below
enum { BEARNET_CONVS = 1 + 3 * BEARNET_BLOCKS };

static int bearnet_convs(const BearNet *m, ConvBn *c) {
    int n = 0;
    c[n++] = (ConvBn){m->stem_conv, &m->stem_bn, 1, 1};
    for (int l = 0; l < BEARNET_BLOCKS; l++) {
        const BearBlock *b = &m->layer[l];
        c[n++] = (ConvBn){b->conv1, &b->bn1, b->stride, 1};
        c[n++] = (ConvBn){b->conv2, &b->bn2, 1, 1};
        if (b->shortcut_conv) c[n++] = (ConvBn){b->shortcut_conv, &b->shortcut_bn, b->stride, 0};
    }
    return n;
}

Tensor *bearnet_features_folded(BearNet *m, Tensor *x) {
    ConvBn convs[BEARNET_CONVS];
    const FoldedConv *f = fold_cache_get(&m->folded, convs, bearnet_convs(m, convs));
    Tensor *h = folded_conv(f++, x, NULL, true, NULL);
    for (int l = 0; l < BEARNET_BLOCKS; l++) { // the BasicBlock of bearnet.c, its BNs folded
        const FoldedConv *conv1 = f++, *conv2 = f++;
        Tensor *shortcut = m->layer[l].shortcut_conv ? folded_conv(f++, h, NULL, false, NULL) : h;
        h = folded_conv(conv2, folded_conv(conv1, h, NULL, true, NULL), shortcut, true, NULL);
    }
    return global_avg_pool(h); // fc follows in bearnet_forward, as in training
}
