// learner.h — data + model + optimiser in one place: fastai's Learner, for `bears train` and
// `bears lr-find`.
//
// One training step is the lesson's loop, at scale:
//     x, y  = a minibatch (augmented)                  dataset_batch
//     loss  = cross_entropy(bearnet(x), y)             forward, recorded on the tape (against soft
//                                                      targets with label smoothing or mixup)
//     backward(loss)                                   every parameter's .grad
//     opt.step(); opt.zero_grad()                      a -= lr * grad (AdamW's version of it)
// exactly lab06 with 307,923 numbers in place of 2.
#ifndef SGDLAB_BEARS_LEARNER_H
#define SGDLAB_BEARS_LEARNER_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "dataset.h"
#include "model.h"
#include "optim.h"

typedef struct {
    DatasetOptions data; // folder split and size
    int bs;              // minibatch size
    float wd;            // AdamW weight decay
    bool augment;        // the training split through aug (augment.h); false: the plain centre crop
    Augment aug;         // augment_default() unless flags change it
    float smoothing;     // label smoothing eps (0: none; fastai: 0.1)
    float mixup;         // mixup's Beta(alpha, alpha) (0: none; fastai: 0.4)
    int seed;            // weights, batch order and augmentation
    bool quiet;          // no data summary
    const char *arch;    // one of BEAR_ARCHS (model.h)
    // Transfer learning: a safetensors file of the arch's weights (torchvision's names). Its body is
    // kept, the head is new for the data's classes, and pictures are normalised with ImageNet's
    // statistics, the ones the body learned with. NULL: every weight starts random.
    const char *pretrained;
    Device device; // where the model trains: the CPU, or an NVIDIA GPU (core/cuda/)
} LearnerOptions;

LearnerOptions learner_defaults(void); // bearnet-s, bs 32, wd 0.01, augment on, seed 42, size 64, valid 20%
// Set o->data.size from --size (0 when not given: 64 for bearnet-s, 224, ImageNet's, for the ResNets).
// false with why set when the size does not suit the arch, or when --pretrained is given for bearnet-s
// (ImageNet weights exist for the ResNets only): usage errors, found before any picture is decoded.
bool learner_set_size(LearnerOptions *o, int size, char *why, size_t why_size);

// --device NAME into o->device, opening the GPU for "cuda". An arch the GPU backend cannot train is a usage
// error (cli_usage_error exits 2); no usable GPU, or a build without CUDA, prints why as cli's program
// and returns 1 (the exit code); else 0.
int learner_select_device(LearnerOptions *o, const char *name, const Cli *cli);

typedef struct {
    Dataset ds;
    BearModel model;
    // fastai's parameter groups, as two optimisers: the head (fc) at the lr, the body at
    // lr * body_lr_scale (discriminative learning rates: slice(lr_body, lr)). While frozen, the
    // body's weights do not require grad, so its forward records nothing on the tape.
    Optimizer *opt_body, *opt_head;
    float body_lr_scale;
    bool frozen;
    Augment aug;
    float smoothing, mixup;
    float *targets; // (bs, classes): what the loss aims at for each picture (augment_targets)
    Rng rng;
    int bs;
    Tensor *x;        // (bs,3,S,S), reused by every batch
    Tensor *x_device; // its copy on the GPU when training there (NULL on the CPU)
    int *y;
    int *order;            // the training indices, reshuffled each epoch
    float *before, *after; // the weights around the last step, to measure how far it moved them
    float update_ratio;    // ||w_after - w_before|| / ||w_before|| of the last step
} Learner;

// Load the folder, build the arch (from o->pretrained's body when set) and the AdamW optimisers.
// false + message on bad data or a pretrained file that does not fit the arch.
bool learner_init(Learner *l, const char *dir, const LearnerOptions *o, char *err, size_t err_size);
// Freeze (train the head only) or unfreeze the body.
void learner_freeze(Learner *l, bool frozen);
void learner_free(Learner *l);

// Batches per epoch (the last, partial batch is dropped when it has fewer than 2 pictures:
// batch norm needs at least two to compute a variance).
int learner_batches(const Learner *l);
// Shuffle the training order for a new epoch.
void learner_shuffle(Learner *l);
// One SGD step on batch b of the current order at this lr / momentum; returns the batch loss and
// sets l->update_ratio: the size of the step relative to the size of the weights. Healthy training
// moves the weights by roughly 0.1-1% per step; far more means the lr is too high, whatever the loss says.
float learner_step(Learner *l, int b, float lr, float momentum);
// Loss and error rate on the validation split (eval mode, no tape).
void learner_validate(Learner *l, float *loss, float *error_rate);

// A one-line progress bar on stderr (only when stderr is a terminal).
void progress_bar(const char *label, int done, int total, double seconds);
double now_seconds(void);

#endif
