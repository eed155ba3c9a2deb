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
} Scored;

typedef struct {
    BearModel model;
    Dataset ds;
    Scored *items; // sorted by loss, largest first
    int n;
} Interpretation;

// split: "valid", "train" or "all"; valid_pct and seed must be the ones used for training.
// tta: score each picture by the mean of it and its mirror image (model.h).
// Refuses a model whose classes differ from DIR's folders.
bool interpret_score(const char *model_path, const char *dir, const char *split, float valid_pct, int seed,
                     bool tta, Interpretation *out, char *err, size_t err_size);
void interpret_free(Interpretation *in);

#endif
