// fold.h — the convs of a network as inference runs them: each batchnorm folded into the conv before it,
// the weights packed once into the fast path's layout, both kept until a weight moves. bearnet-s and the
// ResNets (bearnet_eval.c, resnet.c) build their inference passes from these.
//
// In eval mode a batchnorm uses its running statistics, so it is a fixed affine map per channel:
// y = x*k + shift, k = weight/sqrt(running_var + eps), shift = bias - running_mean*k (batchnorm.c
// folds it the same way). A conv is linear, so scaling output channel o's weights by k[o] and adding
// shift[o] as a bias gives BN(conv(x)) with the BN gone. conv+BN+ReLU is then one conv whose
// epilogue (conv.h) adds the bias and takes the relu while the sums are in registers, and a block's
// end relu(BN(conv2(h)) + shortcut) one conv whose epilogue also adds the shortcut: each activation
// is written once instead of three times.
//
// The fast path (cpu/conv_fast.h) reads the weights transposed; the training forward makes that copy
// afresh in every call, because there the weights move with every step. Here it is made once. A conv
// with no batchnorm to fold (a frozen body in training mode, whose batchnorms use the batch's
// statistics) gets only that packed copy.
//
// Training is untouched: it runs layer by layer, because there the statistics are the batch's and
// change with every step. The cache is made again whenever one of its tensors moved (tensor.h's
// version: optimiser steps, loads, running statistics).
#ifndef SGDLAB_FOLD_H
#define SGDLAB_FOLD_H

#include <pthread.h>
#include <stdbool.h>

#include "layers.h"

// One conv (no bias) of a network, and the eval-mode batchnorm after it or NULL (packed, not folded).
typedef struct {
    const Tensor *weight; // (OC,C,K,K)
    const BatchNorm2d *bn;
    int stride, padding;
} ConvBn;

typedef struct {
    int OC, C, K, stride, padding;
    const Tensor *weight; // read as it is when there is no batchnorm
    float *w, *bias;      // with a batchnorm: the weights times k per output channel (OC,C,K,K), shift (OC)
    float *packed;        // the weights in the fast path's layout, or NULL (no fast path for them)
} FoldedConv;

// The folded convs of one network, made from a list of ConvBn on first use. The lock lets server threads
// share a model.
typedef struct {
    pthread_mutex_t lock;
    unsigned long version; // the sum of the versions of the tensors it was made from
    int n;
    FoldedConv *conv; // NULL until made
} FoldCache;

void fold_cache_init(FoldCache *c);
void fold_cache_free(FoldCache *c);
// Frees the folded convs, if any (memory a training phase that no longer reads them would keep).
void fold_cache_drop(FoldCache *c);
// convs[0..n) folded, in that order: made on the first call and again once a tensor of theirs changed.
// Threads may share the result as long as nobody changes the weights meanwhile.
const FoldedConv *fold_cache_get(FoldCache *c, const ConvBn *convs, int n);
// epilogue(conv(x)) into a new step tensor: the bias (with a batchnorm), then skip (or NULL) and relu.
// mo (or NULL): gather the channels' moments of the result for a training batchnorm after it (conv.h).
Tensor *folded_conv(const FoldedConv *f, const Tensor *x, const Tensor *skip, bool relu, ChannelMoments *mo);

#endif
