// import.c — `bears import fashion-mnist DIR`: a real data set that works offline.
//
// Drawn bears are easy: centred, clean, one style. Fashion-MNIST (Zalando, 2017) is 70,000 real
// photographs of clothes, greyscale 28x28, in 10 classes, shipped by Debian (dataset-fashion-mnist)
// as IDX files. This writes them as the layout every bears command reads, with the data set's own
// test split as the validation split (fastai's from_folder(train=, valid=)):
//     DIR/train/<class>/00001.png ...  (60,000)      DIR/valid/<class>/00001.png ...  (10,000)
// Greyscale pictures are saved as RGB (three equal channels), so nothing downstream changes.
#include <errno.h>
#include <dirent.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "idx.h"
#include "image.h"
#include "trash.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

// The data set's label order; folder names (sorted, they become class 0..9 in another order).
static const char *const fashion_classes[10] = {"tshirt_top", "trouser", "pullover", "dress", "coat",
                                                "sandal",     "shirt",   "sneaker",  "bag",   "ankle_boot"};

typedef struct {
    uint8_t *image_bytes, *label_bytes;
    IdxArray images, labels;
} IdxSplit;

static bool load_split(const char *source, const char *prefix, IdxSplit *s, char *err, size_t err_size) {
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", source, prefix);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", source, prefix);
    size_t ni, nl;
    if (!idx_read_gz(images, 64u << 20, &s->image_bytes, &ni, err, err_size) ||
        !idx_read_gz(labels, 1u << 20, &s->label_bytes, &nl, err, err_size) ||
        !idx_parse(images, s->image_bytes, ni, &s->images, err, err_size) ||
        !idx_parse(labels, s->label_bytes, nl, &s->labels, err, err_size))
        return false;
    if (s->images.dims != 3 || s->labels.dims != 1 || s->images.size[0] != s->labels.size[0]) {
        snprintf(err, err_size, "%.400s and %.400s do not pair up: %u pictures of %u dimensions, %u labels",
                 images, labels, s->images.size[0], s->images.dims, s->labels.size[0]);
        return false;
    }
    for (size_t i = 0; i < s->labels.count; i++)
        if (s->labels.values[i] >= 10) {
            snprintf(err, err_size, "%.900s: label %u of picture %zu is not one of the 10 classes", labels,
                     s->labels.values[i], i);
            return false;
        }
    return true;
}

// How many of a split's first pictures it takes to hold every class: a smaller --limit would leave a
// class folder empty, which no bears command can train or score on.
static int pictures_for_every_class(const IdxSplit *s, int *missing) {
    bool seen[10] = {false};
    int classes = 0;
    for (size_t i = 0; i < s->labels.count; i++)
        if (!seen[s->labels.values[i]]) {
            seen[s->labels.values[i]] = true;
            if (++classes == 10) return (int)i + 1;
        }
    int c = 0;
    while (seen[c]) c++;
    *missing = c;
    return -1;
}

static void free_split(IdxSplit *s) {
    free(s->image_bytes), free(s->label_bytes);
}

// The first `limit` pictures of a split as DIR/<name>/<class>/<n>.png; false + err on the first failure.
static bool write_split(const IdxSplit *s, const char *dir, const char *name, int limit, int *written,
                        char *err, size_t err_size) {
    int rows = (int)s->images.size[1], cols = (int)s->images.size[2];
    int n = (int)s->images.size[0] < limit ? (int)s->images.size[0] : limit;
    for (int c = 0; c < 10; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/%s", dir, name, fashion_classes[c]);
        if (!make_dirs(path)) {
            snprintf(err, err_size, "cannot create the folder '%.900s': %s", path, strerror(errno));
            return false;
        }
    }
    int failed = -1;
    char first_err[512] = "";
#pragma omp parallel for schedule(dynamic, 64)
    for (int i = 0; i < n; i++) {
        if (failed >= 0) continue; // stop early once one write failed
        Image img;
        char path[4096], why[256];
        bool ok = image_alloc(&img, cols, rows);
        const uint8_t *grey = s->images.values + (size_t)i * rows * cols;
        for (int p = 0; ok && p < rows * cols; p++)
            img.rgb[3 * p] = img.rgb[3 * p + 1] = img.rgb[3 * p + 2] = grey[p];
        snprintf(path, sizeof path, "%s/%s/%s/%05d.png", dir, name, fashion_classes[s->labels.values[i]],
                 i + 1);
        if (ok)
            ok = image_save_png(path, &img, why, sizeof why);
        else
            snprintf(why, sizeof why, "out of memory");
        image_free(&img);
        if (!ok)
#pragma omp critical
            if (failed < 0) failed = i, snprintf(first_err, sizeof first_err, "%.240s: %.240s", path, why);
    }
    if (failed >= 0) {
        snprintf(err, err_size, "%s", first_err);
        return false;
    }
    *written = n;
    return true;
}

int cmd_import(int argc, char **argv) {
    int limit = 70000;
    const char *source = FASHION_MNIST_DIR;
    Flag flags[] = {
        {"--limit", FLAG_INT, &limit, 1, 70000, false, NULL, "at most this many pictures of each split"},
        {"--source", FLAG_STRING, &source, 0, 0, false, NULL,
         "folder of the four *-idx?-ubyte.gz files (Debian's dataset-fashion-mnist)"},
    };
    Cli cli = {"bears import",
               "write Fashion-MNIST (70,000 real greyscale photos, 10 classes) as DIR/train + DIR/valid",
               "beyond drawn bears: a real data set, with its own validation split, offline",
               "fashion-mnist DIR",
               "bears import fashion-mnist data/fashion && bears train data/fashion --size 32",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *args[2] = {NULL, NULL};
    if (cli_parse(&cli, argc, argv, args, 2) != 2)
        cli_usage_error(&cli, "needs the data set's name and a folder");
    if (strcmp(args[0], "fashion-mnist") != 0)
        cli_usage_error(&cli, "'%s' is not a data set it knows; the one it imports is fashion-mnist",
                        args[0]);
    const char *dir = args[1];
    // Never write over somebody's pictures: both split folders must be new.
    for (int k = 0; k < 2; k++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, k ? "valid" : "train");
        if (stat(path, &st) == 0) {
            fprintf(stderr, "bears import: '%s' already exists; give a new folder\n", path);
            return 1;
        }
    }
    // Nor beside them: train/ and valid/ in a folder of class folders (data/bears, say) would make every
    // bears command read that folder as this split and leave its own pictures out.
    DIR *existing = opendir(dir);
    for (struct dirent *e; existing && (e = readdir(existing));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            fprintf(stderr,
                    "bears import: '%s' already holds files ('%s', ...); give a new or empty folder\n", dir,
                    e->d_name);
            closedir(existing);
            return 1;
        }
    if (existing) closedir(existing);
    char err[1024];
    IdxSplit train = {0}, test = {0}; // both freed below, whichever load failed
    bool ok = load_split(source, "train", &train, err, sizeof err) &&
              load_split(source, "t10k", &test, err, sizeof err);
    if (!ok) {
        fprintf(stderr, "bears import: %s%s\n", err,
                strcmp(source, FASHION_MNIST_DIR) == 0
                    ? " (install it: apt-get install dataset-fashion-mnist)"
                    : "");
        free_split(&train), free_split(&test);
        return 1;
    }
    for (int k = 0; k < 2; k++) {
        int missing = 0, needed = pictures_for_every_class(k ? &test : &train, &missing);
        if (needed < 0) {
            fprintf(stderr, "bears import: the %s split of %s has no picture of %s\n", k ? "test" : "train",
                    source, fashion_classes[missing]);
            free_split(&train), free_split(&test);
            return 1;
        }
        if (limit < needed)
            cli_usage_error(&cli,
                            "--limit %d leaves a class without pictures in the %s split (its first %d "
                            "pictures hold all 10 classes): give --limit %d or more",
                            limit, k ? "valid" : "train", needed, needed);
    }
    double t0 = omp_get_wtime();
    int n_train = 0, n_valid = 0;
    ok = write_split(&train, dir, "train", limit, &n_train, err, sizeof err) &&
         write_split(&test, dir, "valid", limit, &n_valid, err, sizeof err);
    free_split(&train), free_split(&test);
    if (!ok) {
        fprintf(stderr, "bears import: %s\n", err);
        return 1;
    }
    printf("imported fashion-mnist into %s: %d train and %d valid pictures (the data set's test split), 10 "
           "classes, in %.1f s\n",
           dir, n_train, n_valid, omp_get_wtime() - t0);
    printf("next: bears train %s --size 32   (28x28 photos; the model sees them at 32x32)\n", dir);
    return 0;
}
