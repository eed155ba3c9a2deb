// interpret.h — score every picture of a split with a trained model, worst first. Shared by
// `bears interpret` and `bears clean` (which pages through the same top losses).
#ifndef SGDLAB_BEARS_INTERPRET_H
#define SGDLAB_BEARS_INTERPRET_H

#include <stdbool.h>
#include <stddef.h>

#include "dataset.h"
#include "model.h"

typedef struct {
    int index;            // into ds.paths
    int label, predicted; // class indices
    float loss;           // -log p(label): large when the model is confidently wrong
    float prob_label, prob_predicted;
    float margin; // top probability minus the runner-up: near 0 when the model cannot decide
    bool valid;   // in the validation split (the model never trained on it)
} Scored;

typedef struct {
    BearModel model;
    Dataset ds;
    Scored *items; // sorted by loss, largest first
    int n;
    float *
        features; // ds.n x bear_model_n_features() pooled features, by ds index (rows of unscored pictures 0)
} Interpretation;

typedef enum { RANK_BY_LOSS, RANK_BY_UNSURE } RankBy;

// split: "valid", "train" or "all". valid_pct <= 0 and seed < 0 mean "the split stored in the model"
// (0.2 and 42 for an older model that stored none, with a warning); other values are used as given,
// with a warning when they differ from the model's. Warns on stderr when DIR has changed since training
// (its "valid" pictures may then include training ones). Refuses a model whose classes differ from DIR's.
// tta: score each picture with test-time augmentation (model.h, augment.h).
bool interpret_score(const char *model_path, const char *dir, const char *split, float valid_pct, int seed,
                     bool tta, Interpretation *out, char *err, size_t err_size);
void interpret_free(Interpretation *in);
// Sort the items again: by loss (largest first) or by margin (smallest first); with valid_first, the
// validation pictures come before the training ones, each part in that order (the cleaner's ranking:
// a model's verdict on pictures it never trained on is the more telling).
void interpret_rank(Interpretation *in, RankBy by, bool valid_first);

// A contact sheet of items[0..k), cols across, tile pixels a picture, captioned "predicted/actual loss
// probability", or "N predicted/actual loss" when numbered (N = 1..k: the cleaner's list), saved as a PNG.
bool interpret_save_sheet(const Interpretation *in, const Scored *items, int k, int cols, int tile,
                          bool numbered, const char *path, char *err, size_t err_size);

#endif
