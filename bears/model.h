// model.h — a trained bear classifier as it lives on disk: the network plus everything needed to
// read a new picture the way training did (class names in order, image size, normalisation).
//
// One file, MODEL.safetensors: the network's tensors under PyTorch state_dict names, and in the
// "__metadata__" map: arch (bearnet-s, resnet18, resnet34), format_version, classes (a JSON list),
// image_size, mean and std (JSON lists of 3). A model without any of these is refused with a
// message, never guessed at. Loading builds the arch the file names, so every command works for all.
// The train/valid split it was trained with is stored too (valid_pct, split_seed, and the folder's
// data_pictures and data_fingerprint), so `interpret` scores the same valid pictures by default; a
// model saved before that has none, and a malformed one is refused.
#ifndef SGDLAB_BEARS_MODEL_H
#define SGDLAB_BEARS_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "bearnet.h"
#include "dataset.h"
#include "image.h"
#include "resnet.h"

#define BEAR_ARCHS "bearnet-s|resnet18|resnet34"

typedef struct {
    BearNet *bearnet; // exactly one of the two networks is set, by the arch
    ResNet *resnet;
    StateDict *sd; // its tensors, whatever the arch
    int n_classes;
    char **classes; // owned copies, sorted as in training
    int size;       // the model sees size x size pictures
    float mean[3], std[3];
    // The split of training (has_split false for a model file from before it was stored).
    bool has_split;
    float valid_pct;
    int split_seed;
    int data_pictures;         // readable pictures in the folder then
    uint64_t data_fingerprint; // dataset_fingerprint() of the folder then
    bool tta; // test-time augmentation (augment.h): the plain view mixed with TTA_VIEWS fixed views (not
              // saved)
} BearModel;

// A fresh network of arch (one of BEAR_ARCHS) for m->n_classes classes; false for an unknown arch.
bool bear_model_build(BearModel *m, const char *arch, Rng *rng);
const char *bear_model_arch(const BearModel *m);
// The smallest picture side the arch takes (16 for bearnet-s, 32 for the ResNets).
int bear_arch_min_size(const char *arch);
// How many pooled features the head reads: 128 for bearnet-s, 512 for the ResNets.
int bear_model_n_features(const BearModel *m);
// Logits (N,n_classes) for x (N,3,S,S), in training mode (batch statistics) or eval mode.
Tensor *bear_model_forward(BearModel *m, Tensor *x, bool training);

// Save atomically (an existing file is replaced only once the new one is complete).
bool bear_model_save(const BearModel *m, const char *path, char *err, size_t err_size);
// Load and check a model file; on failure *m is empty and err says why.
bool bear_model_load(const char *path, BearModel *m, char *err, size_t err_size);
void bear_model_free(BearModel *m);

// Class probabilities for a batch x (N,3,S,S) already normalised: probs is N x n_classes.
// Eval mode, no tape: the answer for a picture does not depend on its batch-mates. No TTA here: its
// views are cut from the picture itself (the two functions below).
void bear_model_predict(BearModel *m, Tensor *x, float *probs);
// The same for pictures idx[0..n) of a data set, in batches through x (bs,3,S,S), a tensor the
// caller reuses: probs gets n x n_classes, labels the n labels, and features (NULL: not wanted) the n x
// bear_model_n_features() pooled features the classifier read.
void bear_model_predict_pictures(BearModel *m, const Dataset *ds, const int *idx, int n, Tensor *x,
                                 float *probs, int *labels, float *features);
// The same for one decoded picture (any size; centre square, resized, normalised).
bool bear_model_predict_image(BearModel *m, const Image *img, float *probs, char *err, size_t err_size);

// Softmax of each row of logits (N,C) into probs, stable (subtracts the row maximum).
void softmax_rows(const Tensor *logits, float *probs);

#endif
