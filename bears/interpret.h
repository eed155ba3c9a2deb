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

// split: "valid", "train" or "all". valid_pct <= 0 and seed < 0 mean "the split stored in the model"
// (0.2 and 42 for an older model that stored none, with a warning); other values are used as given,
// with a warning when they differ from the model's. Warns on stderr when DIR has changed since training
// (its "valid" pictures may then include training ones). Refuses a model whose classes differ from DIR's.
bool interpret_score(const char *model_path, const char *dir, const char *split, float valid_pct, int seed,
                     Interpretation *out, char *err, size_t err_size);
void interpret_free(Interpretation *in);

#endif
