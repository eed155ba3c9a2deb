// data.c — `bears data DIR`: the notebook's `data.classes, len(data.train_ds), len(data.valid_ds)` step.
// Loads the folder exactly as training will (same split, same size, same normalisation) and prints what
// it found, so a learner can check the classes and the split before spending minutes on training.
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"

int cmd_data(int argc, char **argv) {
    DatasetOptions opt = dataset_defaults();
    int seed = (int)opt.seed;
    Flag flags[] = {
        {"--size", FLAG_INT, &opt.size, 8, 1024, false, NULL, "side of the pictures the model sees"},
        {"--valid-pct", FLAG_FLOAT, &opt.valid_pct, 0, 0.95, false, NULL,
         "share of each class held out for validation"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "seed of the train/valid split"},
    };
    Cli cli = {"bears data",
               "load DIR/<class>/ (or DIR/train + DIR/valid) as training will: classes, split, statistics",
               "ImageDataBunch.from_folder(path, valid_pct=0.2, size=224); data.classes",
               "DIR",
               "bears data data/bears --valid-pct 0.2 --seed 42",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *dir = NULL;
    if (cli_parse(&cli, argc, argv, &dir, 1) != 1)
        cli_usage_error(&cli, "needs the data folder, e.g. data/bears");
    opt.seed = (uint64_t)seed;
    Dataset ds;
    char err[512];
    if (!dataset_load(dir, &opt, &ds, err, sizeof err)) {
        fprintf(stderr, "bears data: %s\n", err);
        return 1;
    }
    for (int c = 0; c < ds.n_classes; c++) {
        int train = 0, valid = 0;
        for (int i = 0; i < ds.n_train; i++) train += ds.labels[ds.train[i]] == c;
        for (int i = 0; i < ds.n_valid; i++) valid += ds.labels[ds.valid[i]] == c;
        printf("  class %d %-12s %5d train %5d valid\n", c, ds.classes[c], train, valid);
    }
    dataset_free(&ds);
    return 0;
}
