// bearnet.h — bearnet-s, the reference image classifier of the bears notebook: a small ResNet.
//
//     stem     conv3x3(3->16) + BN + ReLU                         (N,16,S,S)
//     layer1   BasicBlock 16->16, stride 1                        (N,16,S,S)
//     layer2   BasicBlock 16->32, stride 2                        (N,32,S/2,S/2)
//     layer3   BasicBlock 32->64, stride 2                        (N,64,S/4,S/4)
//     layer4   BasicBlock 64->128, stride 2                       (N,128,S/8,S/8)
//     pool     global average                                     (N,128)
//     fc       Linear(128 -> classes)                             (N,classes)
// A BasicBlock is conv3x3+BN+ReLU, conv3x3+BN, plus a shortcut (the input itself, or a 1x1
// conv+BN when the shape changes), then ReLU. Convs have no bias (BN's bias does that job).
// 307,923 numbers for 3 classes, and training them is the same SGD as lab01's two numbers.
//
// Tensors are named like the keys of the same model's PyTorch state_dict ("stem.conv.weight",
// "layer2.shortcut.bn.running_var", "fc.bias"), in the same order, so a saved bearnet-s opens in
// PyTorch with load_state_dict (tests/gen_bearnet_golden.py builds that twin).
#ifndef SGDLAB_BEARNET_H
#define SGDLAB_BEARNET_H

#include <stdbool.h>
#include <stdio.h>

#include "fold.h"
#include "layers.h"
#include "safetensors.h"
#include "state_dict.h"

#define BEARNET_ARCH "bearnet-s"
enum { BEARNET_BLOCKS = 4 };

typedef struct {
    int in_channels, out_channels, stride;
    Tensor *conv1, *conv2;
    BatchNorm2d bn1, bn2;
    Tensor *shortcut_conv; // NULL when the block keeps the shape: the shortcut is the input
    BatchNorm2d shortcut_bn;
} BearBlock;

typedef struct {
    int classes;
    bool training; // BN uses batch statistics (and updates running ones) when true
    Tensor *stem_conv;
    BatchNorm2d stem_bn;
    BearBlock layer[BEARNET_BLOCKS];
    Tensor *fc_weight, *fc_bias;

    StateDict sd; // every tensor in state_dict order, with its name (state_dict.h)

    // Inference (eval mode, grad off) runs with each batchnorm folded into its conv: made on the first
    // such forward and again after any of their tensors changes (fold.h, bearnet_eval.c).
    FoldCache folded;
} BearNet;

// A new model with Kaiming-normal conv weights (std sqrt(2/fan_in): keeps activations' scale
// through ReLUs), BN weight 1 / bias 0 / running mean 0 / var 1, and PyTorch's default Linear
// init (uniform +-1/sqrt(128)). All randomness from rng. Starts in training mode.
BearNet *bearnet_new(int classes, Rng *rng);
void bearnet_free(BearNet *m);
// x (N,3,S,S) with S a multiple of 8, at least 16 -> logits (N,classes), recorded on the tape.
// In eval mode with grad off (inference) it runs with every batchnorm folded into the conv before
// it (bearnet_eval.c): the same logits as the layer-by-layer eval forward up to float rounding, in
// fewer passes over memory. The folded weights are made on the first such call and again once a
// state tensor's version moves (tensor_changed). Threads may run inference on one model at once, as
// long as nobody changes its weights meanwhile.
Tensor *bearnet_forward(BearNet *m, Tensor *x);
// The same pass stopped before fc: the pooled (N,128) features the classifier reads. Two pictures
// the model sees alike have nearly parallel features (the cleaner finds duplicates by their cosine).
// Folded in eval mode with grad off, like bearnet_forward.
Tensor *bearnet_features(BearNet *m, Tensor *x);
enum { BEARNET_FEATURES = 128 };
// Number of trainable parameters (307,923 for 3 classes).
size_t bearnet_num_params(const BearNet *m);
// Layer by layer for inputs of S x S: output shape, parameters, multiply-adds (like darknet).
void bearnet_summary(const BearNet *m, int S, FILE *f);

// Save every state tensor; metadata gets arch and format version on top of the caller's
// (class names, image size, normalisation...). Returns NULL or an error message.
const char *bearnet_save(const BearNet *m, const char *path, const SafetensorsMeta *meta);
// Copy a loaded file's tensors into m, refusing another arch or any shape mismatch.
const char *bearnet_load_state(BearNet *m, const SafetensorsFile *f);

#endif
