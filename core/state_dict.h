// state_dict.h — a model's tensors under PyTorch's state_dict names, in PyTorch's order.
//
// Every model in core (bearnet-s, ResNet-18/34) registers its tensors here as it builds itself:
// weights, biases and BN statistics, each under the name PyTorch's module tree gives it
// ("layer2.0.downsample.1.running_var"). That one list is what makes a model
//   * trainable: `params` is what the optimiser updates (requires_grad),
//   * saveable: `state` + `names` are written as safetensors, opening in PyTorch with load_state_dict,
//   * loadable from PyTorch: a file made from torchvision's weights copies in by name, and a file
//     whose names or shapes differ is refused, naming the first mismatch.
// BN's num_batches_tracked (an int64 counter only PyTorch uses) is not kept.
#ifndef SGDLAB_STATE_DICT_H
#define SGDLAB_STATE_DICT_H

#include <stdbool.h>
#include <stddef.h>

#include "layers.h"
#include "rng.h"
#include "safetensors.h"

// ResNet-34 has 182 state tensors; names are at most "layer4.0.downsample.1.running_mean".
enum { STATE_DICT_MAX = 192, STATE_DICT_NAME_LEN = 48 };

typedef struct {
    int n_state, n_params, n_buffers;
    Tensor *state[STATE_DICT_MAX]; // every tensor in state_dict order ...
    char names[STATE_DICT_MAX][STATE_DICT_NAME_LEN];
    Tensor *params[STATE_DICT_MAX];  // ... the ones SGD trains (requires_grad) ...
    Tensor *buffers[STATE_DICT_MAX]; // ... and the ones it does not (BN running statistics)
} StateDict;

// Register t as "<module>.<name>"; trainable ones get requires_grad. Returns t.
Tensor *state_dict_add(StateDict *sd, Tensor *t, bool trainable, const char *module, const char *name);
// A conv weight (OC,C,K,K) ~ N(0, std^2) registered as "<module>.weight".
Tensor *state_dict_conv(StateDict *sd, int OC, int C, int K, float std, Rng *rng, const char *module);
// A linear layer's weight (out,in) and bias (out) ~ U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's nn.Linear default),
// registered as "<module>.weight" and "<module>.bias", weight drawn first.
void state_dict_linear(StateDict *sd, int out, int in, Rng *rng, const char *module, Tensor **weight,
                       Tensor **bias);
// A BatchNorm2d of C channels as "<module>.weight/bias/running_mean/running_var": weight 1, bias 0,
// mean 0, var 1 (PyTorch's defaults).
BatchNorm2d state_dict_bn(StateDict *sd, int C, const char *module);
// The tensor called name, or NULL.
Tensor *state_dict_get(const StateDict *sd, const char *name);
size_t state_dict_num_params(const StateDict *sd);
// The name of the first tensor holding a NaN or an infinity, or NULL: a diverged run's weights, or a
// damaged file's.
const char *state_dict_first_nonfinite(const StateDict *sd);
// Free every tensor (and its grad).
void state_dict_free(StateDict *sd);
// Move every tensor's values to device (the model trains on the GPU: state_dict_to(sd, DEVICE_CUDA)); their
// gradients are dropped. Optimisers made before the move would still hold state on the old device.
void state_dict_to(StateDict *sd, Device device);
// Where the model's tensors are.
Device state_dict_device(const StateDict *sd);

// Save every tensor; metadata gets format_version, arch and num_classes on top of the caller's. Tensors
// on the GPU are copied to the host first: the file is the same whichever device trained the model.
const char *state_dict_save(const StateDict *sd, const char *arch, int classes, const char *path,
                            const SafetensorsMeta *meta);
// Copy a file's tensors in by name, after checking the file's arch (when it records one), that the
// file has no tensor the model lacks, and that every name of the model is in the file with the same
// shape; nothing is copied on a mismatch, and the message names the first one. With skip_prefix (e.g.
// "fc."), tensors whose names start with it are left as they are: a pretrained body under a new head.
const char *state_dict_load(StateDict *sd, const char *arch, const SafetensorsFile *f,
                            const char *skip_prefix);

#endif
