// test_dataset.c — bears/dataset on a small folder built here: classes are folder names (sorted, never
// a substring of the path), hidden folders and stray files are ignored, non-images are skipped and
// counted, the split follows valid_pct and the seed, tensors are (N,3,S,S) and normalised, and every
// bad layout fails with a message.
//
// Each class's pictures are filled with one colour, so a picture's pixels tell which folder it came from.
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dataset.h"

static char root[64];
static const char *classes[3] = {"teddybear", "bear",
                                 "grizzly"}; // created unsorted; "bear" is inside "teddybear"
static const uint8_t colours[3][3] = {{200, 40, 40}, {40, 200, 40}, {40, 40, 200}};
enum { PER_CLASS = 20, SIZE = 16 };

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

// root/sub/name as a solid picture of `colour`, w x h.
static void write_picture(const char *dir, const char *sub, const char *name, const uint8_t *colour, int w,
                          int h) {
    char path[256], err[128];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    Image img;
    image_alloc(&img, w, h);
    for (int i = 0; i < w * h; i++) memcpy(img.rgb + 3 * i, colour, 3);
    bool ok = strstr(name, ".png") ? image_save_png(path, &img, err, sizeof err)
                                   : image_save_jpeg(path, &img, 95, err, sizeof err);
    if (!ok) fprintf(stderr, "fixture: %s\n", err);
    image_free(&img);
}

static void make_fixture(void) {
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < PER_CLASS; k++) {
            char name[32];
            snprintf(name, sizeof name, "%02d.%s", k, k % 3 ? "png" : "jpg");
            write_picture(root, classes[c], name, colours[c], 24 + k, 20 + 2 * k); // sizes vary, not square
        }
    char path[256];
    snprintf(path, sizeof path, "%s/bear/notes.jpg", root); // a text file named .jpg
    write_text(path, "these are my bears\n");
    snprintf(path, sizeof path, "%s/grizzly/empty.png", root);
    write_text(path, "");
    // A truncated PNG: looks like an image, does not decode.
    snprintf(path, sizeof path, "%s/teddybear/01.png", root);
    char cut[256];
    snprintf(cut, sizeof cut, "%s/teddybear/cut.png", root);
    FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
    uint8_t buf[4096];
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (out) fwrite(buf, 1, n / 2, out), fclose(out);
    if (in) fclose(in);
    // Ignored: a hidden trash folder full of pictures and a stray file at the top.
    write_picture(root, ".trash", "old.png", colours[0], 8, 8);
    snprintf(path, sizeof path, "%s/README.txt", root);
    write_text(path, "not a class\n");
}

static void test_load(void) {
    DatasetOptions opt = dataset_defaults();
    opt.size = SIZE, opt.valid_pct = 0.25f, opt.seed = 7, opt.quiet = true;
    Dataset ds;
    char err[256] = "";
    CHECK(dataset_load(root, &opt, &ds, err, sizeof err), "load: %s", err);
    if (!ds.n) return;
    CHECK(ds.n_classes == 3, "classes %d", ds.n_classes);
    CHECK(strcmp(ds.classes[0], "bear") == 0 && strcmp(ds.classes[1], "grizzly") == 0 &&
              strcmp(ds.classes[2], "teddybear") == 0,
          "classes sorted: %s %s %s", ds.classes[0], ds.classes[1], ds.classes[2]);
    CHECK(ds.n_not_image == 2, "non-images skipped and counted: %d", ds.n_not_image);
    CHECK(ds.n_unreadable == 1, "truncated PNG skipped and counted: %d", ds.n_unreadable);
    CHECK(ds.n == 3 * PER_CLASS, "readable pictures %d", ds.n);
    CHECK(ds.n_train + ds.n_valid == ds.n, "split covers everything: %d + %d", ds.n_train, ds.n_valid);
    CHECK(ds.n_valid == 3 * 5, "25%% of 20 per class held out: %d", ds.n_valid); // stratified: 5 per class

    // Labels come from the folder: each picture's colour matches its class (teddybear is not "bear").
    int wrong = 0;
    for (int i = 0; i < ds.n; i++) {
        Image img = dataset_image(&ds, i);
        int expect = strcmp(ds.classes[ds.labels[i]], "bear") == 0      ? 1
                     : strcmp(ds.classes[ds.labels[i]], "grizzly") == 0 ? 2
                                                                        : 0;
        wrong += abs(img.rgb[0] - colours[expect][0]) > 6 || abs(img.rgb[1] - colours[expect][1]) > 6;
    }
    CHECK(wrong == 0, "%d pictures carry another folder's label", wrong);

    int *labels = NULL;
    Tensor *valid = dataset_split_tensor(&ds, true, &labels);
    CHECK(valid && valid->rank == 4 && valid->shape[0] == ds.n_valid && valid->shape[1] == 3 &&
              valid->shape[2] == SIZE && valid->shape[3] == SIZE,
          "valid tensor is (n_valid, 3, S, S)");
    for (int i = 0; valid && i < ds.n_valid; i++) CHECK(labels[i] == ds.labels[ds.valid[i]], "label %d", i);
    // Normalised with the training statistics: each channel of the training split has mean 0, std 1.
    Tensor *train = dataset_split_tensor(&ds, false, NULL);
    for (int c = 0; train && c < 3; c++) {
        double sum = 0, sum2 = 0;
        int per = SIZE * SIZE;
        for (int i = 0; i < ds.n_train; i++)
            for (int k = 0; k < per; k++) {
                float v = train->data[(size_t)i * 3 * per + (size_t)c * per + k];
                sum += v, sum2 += (double)v * v;
            }
        double mean = sum / ((double)ds.n_train * per), var = sum2 / ((double)ds.n_train * per) - mean * mean;
        CHECK_NEAR(mean, 0, 0.02);
        CHECK_NEAR(sqrt(var), 1, 0.02);
    }
    // predict's pre-processing gives exactly the validation tensor's row for the same file.
    Image img;
    float row[3 * SIZE * SIZE];
    int v0 = ds.valid[0];
    CHECK(image_load(ds.paths[v0], &img, err, sizeof err) &&
              dataset_prepare_image(&img, SIZE, ds.mean, ds.std, 1, row),
          "prepare: %s", err);
    float max_diff = 0;
    for (int k = 0; valid && k < 3 * SIZE * SIZE; k++)
        max_diff = fmaxf(max_diff, fabsf(row[k] - valid->data[k]));
    CHECK(max_diff < 1e-5f, "predict path differs from validation by %g", max_diff);
    image_free(&img);

    // Augmented batches: same rng seed, same batch; the batch keeps its labels.
    Augment aug = augment_default();
    Tensor *a = tensor_zeros(SHAPE(8, 3, SIZE, SIZE)), *b = tensor_zeros(SHAPE(8, 3, SIZE, SIZE));
    int ya[8], yb[8];
    Rng r1, r2;
    rng_seed(&r1, 1, 0), rng_seed(&r2, 1, 0);
    dataset_batch(&ds, ds.train, 8, &aug, &r1, a, ya);
    dataset_batch(&ds, ds.train, 8, &aug, &r2, b, yb);
    CHECK(memcmp(a->data, b->data, a->numel * sizeof(float)) == 0 && memcmp(ya, yb, sizeof ya) == 0,
          "same seed, same augmented batch");
    for (int i = 0; i < 8; i++) CHECK(ya[i] == ds.labels[ds.train[i]], "batch label %d", i);
    tensor_free(a), tensor_free(b), tensor_free(valid), tensor_free(train), free(labels);

    // Same seed, same split; another seed, another split.
    Dataset again, other;
    CHECK(dataset_load(root, &opt, &again, err, sizeof err), "reload: %s", err);
    CHECK(again.n_valid == ds.n_valid && memcmp(again.valid, ds.valid, sizeof(int) * ds.n_valid) == 0,
          "same seed, same split");
    opt.seed = 8;
    CHECK(dataset_load(root, &opt, &other, err, sizeof err), "other seed: %s", err);
    CHECK(other.n_valid == ds.n_valid && memcmp(other.valid, ds.valid, sizeof(int) * ds.n_valid) != 0,
          "another seed, another split");
    opt.valid_pct = 0;
    dataset_free(&other);
    CHECK(dataset_load(root, &opt, &other, err, sizeof err) && other.n_valid == 0,
          "valid_pct 0: no validation set");
    dataset_free(&other), dataset_free(&again), dataset_free(&ds);
}

// Rotation: a picture whose brightness grows left to right, turned by up to 10 degrees, grows a little
// top to bottom too: at the centre, d/dy over d/dx is -tan(angle), so |ratio| <= tan(10 deg); unturned, 0.
static void test_rotation(void) {
    enum { S = 32, L = 36 };
    Dataset ds = {0};
    uint8_t pixels[L * L * 3];
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++)
            for (int c = 0; c < 3; c++) pixels[(y * L + x) * 3 + c] = (uint8_t)(60 + 4 * x);
    int label = 0, idx[8] = {0};
    ds.n = 1, ds.size = S, ds.stored = L, ds.pixels = pixels, ds.labels = &label;
    for (int c = 0; c < 3; c++) ds.mean[c] = 0, ds.std[c] = 1;
    Augment aug = augment_none();
    aug.max_rotate = 10, aug.p_affine = 1;
    Tensor *x = tensor_zeros(SHAPE(8, 3, S, S));
    Rng rng;
    rng_seed(&rng, 5, 0);
    for (int pass = 0; pass < 2; pass++) {
        dataset_batch(&ds, idx, 8, pass ? &aug : NULL, &rng, x, NULL);
        float biggest = 0, largest_allowed = tanf(10.0f * 3.14159265f / 180) + 0.02f;
        for (int i = 0; i < 8; i++) {
            const float *p = x->data + (size_t)i * 3 * S * S;
            float dx = p[(S / 2) * S + S / 2 + 1] - p[(S / 2) * S + S / 2 - 1];
            float dy = p[(S / 2 + 1) * S + S / 2] - p[(S / 2 - 1) * S + S / 2];
            biggest = fmaxf(biggest, fabsf(dy / dx));
        }
        if (pass == 0)
            CHECK(biggest == 0, "unturned: no top-to-bottom change (%g)", biggest);
        else
            CHECK(biggest > 0.02f && biggest <= largest_allowed,
                  "turned by up to 10 degrees: the largest |dy/dx| %g is in (0.02, %g]", biggest,
                  largest_allowed);
    }
    tensor_free(x);
}

static void expect_failure(const char *dir, const char *needle) {
    DatasetOptions opt = dataset_defaults();
    opt.quiet = true;
    Dataset ds;
    char err[256] = "";
    CHECK(!dataset_load(dir, &opt, &ds, err, sizeof err), "%s should fail", dir);
    CHECK(strstr(err, needle) != NULL, "%s: message '%s' should mention '%s'", dir, err, needle);
    CHECK(ds.n == 0 && ds.pixels == NULL, "%s: nothing left allocated", dir);
}

static void test_bad_layouts(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/missing", root);
    expect_failure(path, "cannot open");
    snprintf(path, sizeof path, "%s/empty", root);
    mkdir(path, 0777);
    expect_failure(path, "no class folders");
    snprintf(path, sizeof path, "%s/one", root);
    mkdir(path, 0777);
    write_picture(path, "black", "a.png", colours[0], 8, 8);
    expect_failure(path, "only one class");
    snprintf(path, sizeof path, "%s/unreadable", root);
    mkdir(path, 0777);
    for (int c = 0; c < 2; c++) {
        char file[300];
        snprintf(file, sizeof file, "%s/%s", path, classes[c]);
        mkdir(file, 0777);
        snprintf(file, sizeof file, "%s/%s/x.jpg", path, classes[c]);
        write_text(file, "<html>404</html>");
    }
    expect_failure(path, "no readable pictures");
    write_picture(path, "bear", "ok.png", colours[1], 8, 8);
    expect_failure(path, "teddybear' has no readable pictures");
    snprintf(path, sizeof path, "%s/bear/01.png", root);
    expect_failure(path, "not a folder");
}

int main(void) {
    snprintf(root, sizeof root, "%s/sgdlab-test-dataset-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror(root);
        return 1;
    }
    make_fixture();
    test_load();
    test_rotation();
    test_bad_layouts();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root); // our own scratch folder
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return check_done("test_dataset");
}
