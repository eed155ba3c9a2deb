// dataset.c — listing, splitting, decoding once, normalisation statistics and batch cutting.
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "printable.h"

__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t err_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return false;
}

static char *join_path(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// The sorted names of the non-hidden entries of `dir` that are folders (want_dirs) or regular files.
// Returns the count, or -1 when the folder cannot be read.
static int list_names(const char *dir, bool want_dirs, char ***names_out) {
    DIR *d = opendir(dir);
    *names_out = NULL;
    if (!d) return -1;
    char **names = NULL;
    int n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue; // ".", "..", and hidden entries such as .trash
        char *path = join_path(dir, e->d_name);
        struct stat st;
        bool keep = path && stat(path, &st) == 0 && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
        free(path);
        if (!keep) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, sizeof(char *) * cap);
            if (!grown) break;
            names = grown;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(char *), compare_strings);
    *names_out = names;
    return n;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

bool class_name_ok(const char *name, char *why, size_t why_size) {
    size_t n = strlen(name);
    const char *bad = n == 0 ? "is empty" : n > 128 ? "is over 128 characters" : NULL;
    for (const unsigned char *p = (const unsigned char *)name; !bad && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            bad = "holds a control character";
        else if (*p == '"' || *p == '\\' || *p == '/')
            bad = "holds a quote, backslash or slash";
    if (!bad) return true;
    char shown[PRINTABLE_SIZE(40)]; // the name itself, never raw
    snprintf(why, why_size, "the class name \"%s\" %s", printable(name, n, 40, shown), bad);
    return false;
}

static bool is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// The files of each class folder of `base` (classes named as in out->classes), labelled by class,
// rel = "<prefix><class>/<name>".
static void list_files(DataListing *out, const char *base, const char *prefix, bool valid, int *cap) {
    for (int c = 0; c < out->n_classes; c++) {
        char *class_dir = join_path(base, out->classes[c]), **names;
        int n = list_names(class_dir, false, &names);
        for (int i = 0; i < n; i++) {
            if (out->n_files == *cap) {
                *cap = *cap ? 2 * *cap : 256;
                out->files = realloc(out->files, sizeof(DataFile) * *cap);
            }
            size_t len = strlen(prefix) + strlen(out->classes[c]) + strlen(names[i]) + 2;
            char *rel = malloc(len);
            snprintf(rel, len, "%s%s/%s", prefix, out->classes[c], names[i]);
            out->files[out->n_files++] = (DataFile){join_path(class_dir, names[i]), rel, c, valid};
        }
        free_names(names, n > 0 ? n : 0);
        free(class_dir);
    }
}

bool data_list(const char *dir, DataListing *out, char *err, size_t err_size) {
    *out = (DataListing){0};
    struct stat st;
    if (stat(dir, &st) != 0) return fail(err, err_size, "cannot open folder '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fail(err, err_size, "'%s' is not a folder", dir);
    // DIR/train + DIR/valid: a split made by whoever made the data (fastai's from_folder(train=, valid=)).
    char *train_dir = join_path(dir, "train"), *valid_dir = join_path(dir, "valid");
    out->fixed_split = is_folder(train_dir) && is_folder(valid_dir);
    const char *classes_dir = out->fixed_split ? train_dir : dir;
    int n_classes = list_names(classes_dir, true, &out->classes);
    if (n_classes < 0) {
        fail(err, err_size, "cannot read folder '%s': %s", classes_dir, strerror(errno));
        goto failed;
    }
    out->n_classes = n_classes;
    out->root = strdup(dir);
    if (n_classes == 0) {
        if (out->fixed_split)
            fail(err, err_size, "'%s' has no class folders: put the pictures in %s/<class>/ and %s/<class>/",
                 train_dir, train_dir, valid_dir);
        else
            fail(err, err_size,
                 "'%s' has no class folders: put the pictures in %s/<class>/, one folder per class "
                 "(try: bears synth %s)",
                 dir, dir, dir);
        goto failed;
    }
    for (int c = 0; c < n_classes; c++) {
        char why[300];
        if (!class_name_ok(out->classes[c], why, sizeof why)) {
            fail(err, err_size, "%s: %s; a class folder needs a plain name (rename it)", classes_dir, why);
            goto failed;
        }
    }
    int cap = 0;
    if (out->fixed_split) {
        // Every valid class must be a train class: a model cannot be scored on a class it never saw.
        char **valid_classes;
        int n_valid = list_names(valid_dir, true, &valid_classes);
        const char *unknown = NULL;
        for (int v = 0; v < n_valid && !unknown; v++)
            if (!bsearch(&valid_classes[v], out->classes, (size_t)n_classes, sizeof(char *), compare_strings))
                unknown = valid_classes[v];
        if (unknown)
            fail(err, err_size, "'%s/%.128s' has no matching '%s/%.128s' folder", valid_dir, unknown,
                 train_dir, unknown);
        free_names(valid_classes, n_valid > 0 ? n_valid : 0);
        if (unknown) goto failed;
        list_files(out, train_dir, "train/", false, &cap);
        list_files(out, valid_dir, "valid/", true, &cap);
    } else {
        list_files(out, dir, "", false, &cap);
    }
    free(train_dir), free(valid_dir);
    return true;
failed:
    free(train_dir), free(valid_dir);
    data_listing_free(out);
    return false;
}

void data_listing_free(DataListing *l) {
    for (int i = 0; i < l->n_files; i++) free(l->files[i].path), free(l->files[i].rel);
    free(l->files);
    free_names(l->classes, l->n_classes);
    free(l->root);
    *l = (DataListing){0};
}

DatasetOptions dataset_defaults(void) {
    return (DatasetOptions){.size = 64, .valid_pct = 0.2f, .seed = 42};
}

int dataset_stored_size(int size) {
    return size + (size + 7) / 8;
}

Image dataset_image(const Dataset *ds, int i) {
    return (Image){ds->stored, ds->stored, ds->pixels + (size_t)i * ds->stored * ds->stored * 3};
}

void dataset_free(Dataset *ds) {
    free_names(ds->classes, ds->n_classes);
    free_names(ds->paths, ds->n);
    free(ds->labels), free(ds->train), free(ds->valid), free(ds->pixels);
    *ds = (Dataset){0};
}

// Decode every candidate once, in parallel; ok[i] says which worked, messages hold the reasons.
static void decode_all(DataFile *const *files, int n, int stored, uint8_t *pixels, bool *ok,
                       char (*messages)[200]) {
    size_t per_image = (size_t)stored * stored * 3;
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < n; i++) {
        Image img, square;
        ok[i] = image_load(files[i]->path, &img, messages[i], sizeof messages[i]);
        if (!ok[i]) continue;
        // Keep the centre square: the lesson's default crop. A wide photo loses its sides, not its shape.
        ok[i] = image_center_square(&img, stored, &square);
        if (ok[i])
            memcpy(pixels + i * per_image, square.rgb, per_image);
        else
            snprintf(messages[i], sizeof messages[i], "out of memory while resizing");
        image_free(&img), image_free(&square);
    }
}

// The indices of the pictures marked valid and of the rest, ascending: DIR/train and DIR/valid give the
// marks, or split() draws them.
static void split_from_marks(Dataset *ds, const bool *in_valid) {
    ds->train = malloc(sizeof(int) * ds->n);
    ds->valid = malloc(sizeof(int) * ds->n);
    for (int i = 0; i < ds->n; i++) {
        if (in_valid[i])
            ds->valid[ds->n_valid++] = i;
        else
            ds->train[ds->n_train++] = i;
    }
}

// Per class, shuffle its pictures with the seed and hold out round(valid_pct * count) of them. Stratified,
// so a class with few pictures still shows up in validation.
static void split(Dataset *ds, float valid_pct, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, 0x5e1f); // a stream of its own: the split must not depend on anything else drawn
    bool *is_valid = calloc(ds->n, sizeof(bool));
    int *members = malloc(sizeof(int) * ds->n);
    for (int c = 0; c < ds->n_classes; c++) {
        int m = 0;
        for (int i = 0; i < ds->n; i++)
            if (ds->labels[i] == c) members[m++] = i;
        rng_shuffle(&rng, members, m);
        int n_valid = (int)lroundf(valid_pct * (float)m);
        for (int k = 0; k < n_valid; k++) is_valid[members[k]] = true;
    }
    split_from_marks(ds, is_valid);
    free(is_valid);
    free(members);
}

// Mean and standard deviation of each channel over all training pixels (0..1 units), the numbers that
// normalize() subtracts and divides by so every channel enters the model centred with unit spread.
static void channel_stats(Dataset *ds) {
    double sum[3] = {0}, sum2[3] = {0};
    size_t per_image = (size_t)ds->stored * ds->stored;
    for (int t = 0; t < ds->n_train; t++) {
        const uint8_t *p = ds->pixels + (size_t)ds->train[t] * per_image * 3;
        for (size_t k = 0; k < per_image; k++)
            for (int c = 0; c < 3; c++) {
                double v = p[3 * k + c] / 255.0;
                sum[c] += v, sum2[c] += v * v;
            }
    }
    double count = (double)per_image * ds->n_train;
    for (int c = 0; c < 3; c++) {
        double mean = sum[c] / count, var = sum2[c] / count - mean * mean;
        ds->mean[c] = (float)mean;
        ds->std[c] = (float)(var > 1e-6 ? sqrt(var) : 1e-3); // a flat channel must not divide by zero
    }
}

bool dataset_load(const char *dir, const DatasetOptions *opt, Dataset *ds, char *err, size_t err_size) {
    *ds = (Dataset){0};
    bool success = false;
    DataListing list;
    if (!data_list(dir, &list, err, err_size)) return false;
    if (list.n_classes < 2) {
        // A lone train/ (or valid/) is a fixed split missing its other half, not a class.
        if (strcmp(list.classes[0], "train") == 0 || strcmp(list.classes[0], "valid") == 0)
            fail(err, err_size,
                 "'%s' has only one class folder ('%s'): a fixed split needs both %s/train/ and %s/valid/, "
                 "each with a folder per class",
                 dir, list.classes[0], dir, dir);
        else
            fail(err, err_size, "'%s' has only one class folder ('%s'): a classifier needs at least two", dir,
                 list.classes[0]);
        data_listing_free(&list);
        return false;
    }
    double t0 = omp_get_wtime();
    // Skip what is plainly not a picture by its first bytes; decode the rest.
    DataFile **candidates = malloc(sizeof(DataFile *) * (list.n_files + 1));
    int n_candidates = 0;
    for (int i = 0; i < list.n_files; i++) {
        if (image_sniff_file(list.files[i].path) != IMAGE_UNKNOWN)
            candidates[n_candidates++] = &list.files[i];
        else
            ds->n_not_image++;
    }
    ds->size = opt->size;
    ds->stored = dataset_stored_size(opt->size);
    size_t per_image = (size_t)ds->stored * ds->stored * 3;
    ds->pixels = malloc(per_image * (n_candidates + 1));
    bool *ok = malloc(sizeof(bool) * (n_candidates + 1));
    char(*messages)[200] = malloc(sizeof *messages * (n_candidates + 1));
    ds->paths = malloc(sizeof(char *) * (n_candidates + 1));
    ds->labels = malloc(sizeof(int) * (n_candidates + 1));
    bool *in_valid = malloc(sizeof(bool) * (n_candidates + 1));
    if (!ds->pixels || !ok || !messages || !ds->paths || !ds->labels || !in_valid) {
        fail(err, err_size, "out of memory for %d pictures of %dx%d", n_candidates, ds->stored, ds->stored);
        goto done;
    }
    decode_all(candidates, n_candidates, ds->stored, ds->pixels, ok, messages);

    // Keep the pictures that decoded, in listing order.
    for (int i = 0; i < n_candidates; i++) {
        if (!ok[i]) {
            ds->n_unreadable++;
            if (!opt->quiet) fprintf(stderr, "data: skipping %s: %s\n", candidates[i]->rel, messages[i]);
            continue;
        }
        if (ds->n != i) memcpy(ds->pixels + ds->n * per_image, ds->pixels + i * per_image, per_image);
        ds->paths[ds->n] = strdup(candidates[i]->path);
        in_valid[ds->n] = candidates[i]->valid;
        ds->labels[ds->n++] = candidates[i]->label;
    }
    if (ds->n == 0) {
        fail(err, err_size, "no readable pictures in '%s' (%d files are not images, %d did not decode)", dir,
             ds->n_not_image, ds->n_unreadable);
        goto done;
    }
    for (int c = 0; c < list.n_classes; c++) {
        int count = 0;
        for (int i = 0; i < ds->n; i++) count += ds->labels[i] == c && !in_valid[i];
        if (count == 0) {
            fail(err, err_size, "class folder '%s/%s%s' has no readable pictures", dir,
                 list.fixed_split ? "train/" : "", list.classes[c]);
            goto done;
        }
    }
    ds->classes = list.classes, ds->n_classes = list.n_classes;
    list.classes = NULL, list.n_classes = 0; // now owned by ds
    ds->fixed_split = list.fixed_split;
    if (ds->fixed_split)
        split_from_marks(ds, in_valid);
    else
        split(ds, opt->valid_pct, opt->seed);
    if (ds->n_train == 0) {
        fail(err, err_size, "valid_pct %.2f leaves no training pictures out of %d", opt->valid_pct, ds->n);
        goto done;
    }
    channel_stats(ds);
    if (!opt->quiet) {
        printf("data: %d classes (", ds->n_classes);
        for (int c = 0; c < ds->n_classes; c++) printf("%s%s", c ? ", " : "", ds->classes[c]);
        if (ds->fixed_split)
            printf("), %d pictures: %d train, %d valid (the folders' own split: %s/train, %s/valid%s)\n",
                   ds->n, ds->n_train, ds->n_valid, dir, dir,
                   opt->valid_pct != dataset_defaults().valid_pct ? "; --valid-pct is not used" : "");
        else
            printf("), %d pictures: %d train, %d valid (valid_pct %.2f, seed %llu)\n", ds->n, ds->n_train,
                   ds->n_valid, opt->valid_pct, (unsigned long long)opt->seed);
        printf("data: decoded once at %dx%d in %.2f s on %d threads; the model sees %dx%d\n", ds->stored,
               ds->stored, omp_get_wtime() - t0, omp_get_max_threads(), ds->size, ds->size);
        if (ds->n_not_image || ds->n_unreadable)
            printf(
                "data: skipped %d files that are not images and %d that do not decode (bears verify %s lists "
                "them)\n",
                ds->n_not_image, ds->n_unreadable, dir);
        if (!opt->own_stats)
            printf("data: normalise with mean (%.3f, %.3f, %.3f), std (%.3f, %.3f, %.3f) from the training "
                   "split\n",
                   ds->mean[0], ds->mean[1], ds->mean[2], ds->std[0], ds->std[1], ds->std[2]);
    }
    success = true;
done:
    free(candidates), free(ok), free(messages), free(in_valid);
    data_listing_free(&list);
    if (!success) dataset_free(ds);
    return success;
}

// ---- cutting batches ----

// Render picture idx[i] through views[i] into row i of x (both cores; the views are drawn already).
static void render_batch(const Dataset *ds, const int *idx, int n, const AugmentView *views, Tensor *x) {
    int S = ds->size, L = ds->stored;
    if (x->rank != 4 || x->shape[0] < n || x->shape[1] != 3 || x->shape[2] != S || x->shape[3] != S) {
        char shape[64];
        sgd_panic("dataset_batch: x has shape %s, needs (>=%d, 3, %d, %d)",
                  tensor_shape_str(x, shape, sizeof shape), n, S, S);
    }
    size_t per_image = (size_t)L * L * 3, per_row = (size_t)3 * S * S;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        augment_render(ds->pixels + (size_t)idx[i] * per_image, L, S, &views[i], ds->mean, ds->std,
                       x->data + i * per_row);
}

void dataset_batch(const Dataset *ds, const int *idx, int n, const Augment *aug, Rng *rng, Tensor *x,
                   int *y) {
    // Draw every random number first, in order, so the parallel loop cannot change the result.
    AugmentView *views = calloc((size_t)(n > 0 ? n : 1), sizeof(AugmentView));
    for (int i = 0; i < n; i++)
        views[i] = aug ? augment_draw(aug, ds->size, ds->stored, rng) : augment_plain(ds->size, ds->stored);
    render_batch(ds, idx, n, views, x);
    if (y)
        for (int i = 0; i < n; i++) y[i] = ds->labels[idx[i]];
    free(views);
}

void dataset_batch_tta(const Dataset *ds, const int *idx, int n, int view, Tensor *x) {
    AugmentView *views = calloc((size_t)(n > 0 ? n : 1), sizeof(AugmentView));
    for (int i = 0; i < n; i++) views[i] = augment_tta_view(view, ds->size, ds->stored);
    render_batch(ds, idx, n, views, x);
    free(views);
}

Tensor *dataset_split_tensor(const Dataset *ds, bool valid, int **labels) {
    int n = valid ? ds->n_valid : ds->n_train;
    if (labels) *labels = NULL;
    if (n == 0) return NULL;
    Tensor *x = tensor_zeros(SHAPE(n, 3, ds->size, ds->size));
    int *y = malloc(sizeof(int) * n);
    dataset_batch(ds, valid ? ds->valid : ds->train, n, NULL, NULL, x, y);
    if (labels)
        *labels = y;
    else
        free(y);
    return x;
}

bool dataset_prepare_image(const Image *img, int size, const float mean[3], const float std[3], int views,
                           float *out) {
    int stored = dataset_stored_size(size);
    Image square;
    if (!image_center_square(img, stored, &square)) return false;
    for (int k = 0; k < views; k++) {
        AugmentView v = k == 0 ? augment_plain(size, stored) : augment_tta_view(k - 1, size, stored);
        augment_render(square.rgb, stored, size, &v, mean, std, out + (size_t)k * 3 * size * size);
    }
    image_free(&square);
    return true;
}

uint64_t dataset_fingerprint(const Dataset *ds) {
    uint64_t h = 1469598103934665603ull; // FNV-1a: a few lines, and any change of name or label shows
    for (int i = 0; i < ds->n; i++) {
        const char *p = ds->paths[i], *name = p;
        for (int slashes = 0, k = (int)strlen(p) - 1; k >= 0; k--) // class/name: after the second-last '/'
            if (p[k] == '/' && ++slashes == 2) {
                name = p + k + 1;
                break;
            }
        for (; *name; name++) h = (h ^ (unsigned char)*name) * 1099511628211ull;
        h = (h ^ (unsigned char)(ds->labels[i] + 1)) * 1099511628211ull;
    }
    return h;
}
