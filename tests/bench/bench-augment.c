// bench-augment — what augmentation costs per epoch: dataset_batch() through the plain view, fastai's
// default transforms, and those plus mixup's blend, on pictures held in memory as bears train holds
// them. Prints seconds per 60,000 pictures (one Fashion-MNIST epoch) for each, the fastest of --runs
// passes, to set beside the epoch time `bears train` prints: augmentation must not dominate it.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "augment.h"
#include "cli.h"
#include "dataset.h"

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    int size = 32, n = 4096, bs = 32, runs = 3;
    Flag flags[] = {
        {"--size", FLAG_INT, &size, 16, 512, false, NULL, "the model's picture side S (stored at S + S/8)"},
        {"--n", FLAG_INT, &n, 64, 100000, false, NULL, "pictures per pass"},
        {"--bs", FLAG_INT, &bs, 2, 4096, false, NULL, "minibatch size"},
        {"--runs", FLAG_INT, &runs, 1, 100, false, NULL, "passes; the fastest counts"},
    };
    Cli cli = {"bench-augment",
               "seconds per 60,000 pictures for plain, augmented and mixed-up batches",
               "data augmentation (fastai's get_transforms), measured",
               NULL,
               "bench-augment --size 32",
               flags,
               sizeof flags / sizeof flags[0]};
    cli_parse(&cli, argc, argv, NULL, 0);
    Dataset ds = {0};
    ds.size = size, ds.stored = dataset_stored_size(size), ds.n = n, ds.n_classes = 10;
    size_t per = (size_t)ds.stored * ds.stored * 3;
    ds.pixels = malloc(per * n);
    ds.labels = malloc(sizeof(int) * n);
    int *idx = malloc(sizeof(int) * n);
    Rng rng;
    rng_seed(&rng, 1, 0);
    for (size_t i = 0; i < per * n; i++) ds.pixels[i] = (uint8_t)rng_below(&rng, 256);
    for (int i = 0; i < n; i++) ds.labels[i] = i % 10, idx[i] = i;
    for (int c = 0; c < 3; c++) ds.mean[c] = 0.5f, ds.std[c] = 0.25f;
    Tensor *x = tensor_zeros(SHAPE(bs, 3, size, size));
    int *y = malloc(sizeof(int) * bs);
    float *targets = malloc(sizeof(float) * bs * 10);
    Augment fastai = augment_default();
    const char *names[3] = {"plain centre crop", "fastai's transforms", "fastai's + mixup 0.4"};
    printf("size %d (stored %d), %d pictures a pass, batch %d\n", size, ds.stored, n, bs);
    for (int mode = 0; mode < 3; mode++) {
        double best = 1e30;
        for (int r = 0; r < runs; r++) {
            double t0 = seconds();
            for (int start = 0; start + bs <= n; start += bs) {
                dataset_batch(&ds, idx + start, bs, mode ? &fastai : NULL, &rng, x, y);
                if (mode == 2)
                    augment_targets(x->data, (size_t)3 * size * size, y, bs, 10, 0, 0.4f, &rng, targets);
            }
            double t = seconds() - t0;
            if (t < best) best = t;
        }
        printf("%-22s %7.2f s per 60,000 pictures\n", names[mode], best * 60000.0 / (n / bs * bs));
    }
    free(ds.pixels), free(ds.labels), free(idx), free(y), free(targets);
    tensor_free(x);
    return 0;
}
