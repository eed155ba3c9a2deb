// dataset.h — a folder of bear pictures as float tensors: fastai's ImageDataBunch.from_folder in C.
//
// Layout (what `bears synth` writes and what the lesson's download cells make):
//     DIR/black/0001.jpg  DIR/grizzly/0002.png  DIR/teddy/...
// or, for data that comes with its own split (`bears import fashion-mnist`, fastai's
// from_folder(train="train", valid="valid")), both of
//     DIR/train/<class>/...  DIR/valid/<class>/...
// where the classes are train's folders and valid_pct is not used.
// The class of a picture is the name of the folder it sits in, never a piece of its path (darknet's
// substring labels are a classic bug). Classes are sorted by name, so class k means the same thing in
// every run and in a saved model. Hidden folders (.trash, where `bears verify --delete` puts files) and
// files directly in DIR (PLANTED.csv) belong to no class.
//
// dataset_load() lists the files, skips non-images by their first bytes (counted, not fatal), splits
// off a validation set with a seed (same seed, same split: the lesson's np.random.seed(42) before
// valid_pct=0.2), decodes every picture once (both cores, OpenMP) into memory at a little more than
// the training size, and computes the per-channel mean and std of the training split for normalisation.
// Each batch is then cut from memory: a random view (augment.h) for training, the centre crop for
// validation, so epochs never decode a file again.
//
//     Dataset ds;
//     char err[256];
//     DatasetOptions opt = dataset_defaults();      // size 64, valid_pct 0.2, seed 42
//     if (!dataset_load("data/bears", &opt, &ds, err, sizeof err)) { fprintf(stderr, "%s\n", err); ... }
//     Tensor *x = tensor_zeros(SHAPE(bs, 3, ds.size, ds.size));
//     int y[bs];
//     Augment aug = augment_default();
//     dataset_batch(&ds, ds.train + start, bs, &aug, &rng, x, y); // x: (bs,3,S,S) normalised, y: labels
//     ...
//     dataset_free(&ds);
#ifndef SGDLAB_BEARS_DATASET_H
#define SGDLAB_BEARS_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "augment.h"
#include "image.h"
#include "rng.h"
#include "tensor.h"

// ---- listing: the folder layout, before any decoding ----

typedef struct {
    char *path; // DIR/class/name, for opening
    char *rel;  // class/name (or train/class/name, valid/class/name), for messages, manifests and the trash
    int label;  // index into classes
    bool valid; // in DIR/valid (a fixed split)
} DataFile;

typedef struct {
    char *root;
    char **classes; // sorted, n_classes
    int n_classes;
    DataFile *files; // every regular, non-hidden file of every class folder, by class then name
    int n_files;
    bool fixed_split; // DIR/train/<class>/ and DIR/valid/<class>/: classes from train, files from both
} DataListing;

// A class name (a folder name, and a label printed to terminals, plots, CSV and web pages) is 1..128
// bytes with no control character, quote, backslash or slash. False with why showing the name escaped.
bool class_name_ok(const char *name, char *why, size_t why_size);

// List DIR. Fails with a message when DIR is missing, is not a folder, has no class folders or a class
// folder whose name fails class_name_ok().
bool data_list(const char *dir, DataListing *out, char *err, size_t err_size);
void data_listing_free(DataListing *l);

// ---- the loaded data set ----

typedef struct {
    int size;        // S: pictures reach the model as S x S (default 64)
    float valid_pct; // share of each class held out for validation, in [0, 1) (default 0.2)
    uint64_t seed;   // the split's seed (default 42)
    bool quiet;      // no summary line and no per-file warnings on stdout/stderr
    bool own_stats;  // the caller normalises with other statistics (a pretrained body's): not printed
} DatasetOptions;

DatasetOptions dataset_defaults(void);

typedef struct {
    char **classes; // sorted class names (owned)
    int n_classes;
    int n;               // readable pictures
    char **paths;        // n paths DIR/class/name (owned)
    int *labels;         // n labels
    int *train, n_train; // indices into 0..n-1, ascending
    int *valid, n_valid;
    bool fixed_split;      // the split came from DIR/train and DIR/valid, not from valid_pct
    int n_not_image;       // files skipped because their first bytes are no PNG, JPEG, WEBP or GIF
    int n_unreadable;      // files that looked like images but did not decode (truncated, corrupt)
    int size;              // S
    int stored;            // L >= S: pictures are kept L x L so training crops have room to move
    uint8_t *pixels;       // n x L x L x 3, RGB8
    float mean[3], std[3]; // per channel, in 0..1 units, over the training pictures
} Dataset;

bool dataset_load(const char *dir, const DatasetOptions *opt, Dataset *ds, char *err, size_t err_size);
void dataset_free(Dataset *ds);
// A 64-bit fingerprint of which pictures the set holds: each class/name and its label, in order
// (not the folder's own path, so a moved folder keeps its fingerprint). A model stores it to notice
// later that the folder changed since training.
uint64_t dataset_fingerprint(const Dataset *ds);

// The side at which pictures are stored for a model size S (S plus an eighth).
int dataset_stored_size(int size);
// Picture i as an Image that points into ds->pixels (do not free it): for grids of examples.
Image dataset_image(const Dataset *ds, int i);

// ---- batches ----

// Pictures idx[0..n) into the first n rows of x, shape (>= n, 3, S, S), normalised with ds->mean/std;
// their labels into y (may be NULL). aug NULL means the plain centre crop. rng is only drawn from when
// aug has something random, in a fixed order, so the same seed gives the same batches.
void dataset_batch(const Dataset *ds, const int *idx, int n, const Augment *aug, Rng *rng, Tensor *x, int *y);
// The same pictures through TTA view `view` (augment_tta_view) instead.
void dataset_batch_tta(const Dataset *ds, const int *idx, int n, int view, Tensor *x);
// A whole split, no augmentation: a new (n, 3, S, S) tensor and, when labels is not NULL, a new array
// of labels that the caller frees. NULL when the split is empty.
Tensor *dataset_split_tensor(const Dataset *ds, bool valid, int **labels);

// Predict's pre-processing, identical to validation: centre square, stored size, centre crop S,
// normalised, into out's first 3 * size * size floats (C, H, W order); views > 1 adds TTA views
// 0..views-2 after it (views is 1 or 1 + TTA_VIEWS).
bool dataset_prepare_image(const Image *img, int size, const float mean[3], const float std[3], int views,
                           float *out);

#endif
