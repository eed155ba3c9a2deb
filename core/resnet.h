// resnet.h — ResNet-18 and ResNet-34 (He et al. 2015), built exactly as torchvision builds them, so
// ImageNet weights published for torchvision (or timm, which keeps its names) load as they are.
// The lesson's 2.7% error comes from fine-tuning such a network: cnn_learner(data, models.resnet34).
//
//     conv1    conv7x7/2 (3->64) + bn1 + ReLU                         (N,64,S/2,S/2)
//     maxpool  3x3/2, padding 1                                       (N,64,S/4,S/4)
//     layer1   BasicBlock x b1, 64 channels                           (N,64,S/4,S/4)
//     layer2   BasicBlock x b2, 128 channels, the first one stride 2  (N,128,S/8,S/8)
//     layer3   BasicBlock x b3, 256 channels, the first one stride 2  (N,256,S/16,S/16)
//     layer4   BasicBlock x b4, 512 channels, the first one stride 2  (N,512,S/32,S/32)
//     avgpool  global average                                          (N,512)
//     fc       Linear(512 -> classes)                                  (N,classes)
// (b1..b4) = (2,2,2,2) for ResNet-18, (3,4,6,3) for ResNet-34. A BasicBlock is bearnet-s's block:
// conv3x3+BN+ReLU, conv3x3+BN, plus the input, or a 1x1/2 conv+BN ("downsample") where the shape
// changes, then ReLU. Everything up to avgpool is the "body" that ImageNet trained; fc is the "head",
// the one part that must be new for a new set of classes.
//
// Tensor names are torchvision's state_dict keys ("conv1.weight", "layer2.0.downsample.1.running_var",
// "fc.bias"), in the same order.
#ifndef SGDLAB_RESNET_H
#define SGDLAB_RESNET_H

#include <stdbool.h>

#include "fold.h"
#include "layers.h"
#include "safetensors.h"
#include "state_dict.h"

enum { RESNET_STAGES = 4, RESNET_MAX_BLOCKS = 6, RESNET_FEATURES = 512, RESNET_MIN_SIZE = 32 };

typedef struct {
    int stride;
    Tensor *conv1, *conv2;
    BatchNorm2d bn1, bn2;
    Tensor *downsample_conv; // NULL when the block keeps the shape: the shortcut is the input
    BatchNorm2d downsample_bn;
} ResBlock;

typedef struct {
    const char *arch; // "resnet18" or "resnet34"
    int classes;
    bool training; // BN uses batch statistics (and updates running ones) when true
    Tensor *conv1;
    BatchNorm2d bn1;
    int blocks[RESNET_STAGES];
    ResBlock layer[RESNET_STAGES][RESNET_MAX_BLOCKS];
    Tensor *fc_weight, *fc_bias;
    StateDict sd;
    // Passes that record nothing on the tape read their convs from here (fold.h): inference (eval mode)
    // with each batchnorm folded in, and a frozen body in training mode with its weights packed once.
    FoldCache folded, packed;
} ResNet;

// True for "resnet18" and "resnet34".
bool resnet_arch_known(const char *arch);
// torchvision's initialisation: conv weights Kaiming-normal with fan_out (std sqrt(2/(OC*K*K))), BN
// weight 1 / bias 0, fc PyTorch's Linear default (uniform +-1/sqrt(512)). NULL for an unknown arch.
ResNet *resnet_new(const char *arch, int classes, Rng *rng);
void resnet_free(ResNet *m);
// x (N,3,S,S), S >= 32 -> logits (N,classes), recorded on the tape for whatever requires grad.
// When the body records nothing (grad off, or every body tensor frozen and x not asking for grad) it
// runs from the caches above: in eval mode with every batchnorm folded into its conv (the layer-by-layer
// eval logits up to float rounding, in fewer passes over memory); in training mode (fastai's frozen
// phase: the batch's statistics, running statistics updated) layer by layer as the tape path, with the
// conv weights packed once instead of in every call, giving the same numbers. Each cache is made on its
// first use and again once one of its tensors changed (tensor_changed). Threads may run inference on
// one model at once, as long as nobody changes its weights meanwhile.
Tensor *resnet_forward(ResNet *m, Tensor *x);
// The same pass stopped before fc: the pooled (N,512) features the head reads.
Tensor *resnet_features(ResNet *m, Tensor *x);
// The head's tensors are named "fc.*"; everything else is the body.
bool resnet_is_head(const char *state_name);

// Save with arch and format version on top of the caller's metadata.
const char *resnet_save(const ResNet *m, const char *path, const SafetensorsMeta *meta);
// Copy a file's tensors in: every one, or (body_only) all but the head's, for pretrained weights
// whose fc was trained for ImageNet's 1000 classes. A file of another arch, or with a name or shape
// that does not match, is refused, naming the first mismatch.
const char *resnet_load_state(ResNet *m, const SafetensorsFile *f, bool body_only);

#endif
