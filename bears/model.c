// model.c — save / load / predict for a bear classifier file.
#include "model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "dataset.h"

static char *json_floats(const float *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

bool bear_model_build(BearModel *m, const char *arch, Rng *rng) {
    if (strcmp(arch, BEARNET_ARCH) == 0) {
        m->bearnet = bearnet_new(m->n_classes, rng);
        m->sd = &m->bearnet->sd;
    } else if ((m->resnet = resnet_new(arch, m->n_classes, rng))) {
        m->sd = &m->resnet->sd;
    }
    return m->sd != NULL;
}

const char *bear_model_arch(const BearModel *m) {
    return m->resnet ? m->resnet->arch : BEARNET_ARCH;
}

int bear_arch_min_size(const char *arch) {
    return resnet_arch_known(arch) ? RESNET_MIN_SIZE : 16;
}

// The mode is written only when it changes: server threads share a loaded (eval) model read-only.
static void set_training(BearModel *m, bool training) {
    bool *mode = m->resnet ? &m->resnet->training : &m->bearnet->training;
    if (*mode != training) *mode = training;
}

Tensor *bear_model_forward(BearModel *m, Tensor *x, bool training) {
    set_training(m, training);
    return m->resnet ? resnet_forward(m->resnet, x) : bearnet_forward(m->bearnet, x);
}

bool bear_model_save(const BearModel *m, const char *path, char *err, size_t err_size) {
    SafetensorsMeta meta = {0};
    cJSON *classes = cJSON_CreateStringArray((const char *const *)m->classes, m->n_classes);
    char *classes_s = cJSON_PrintUnformatted(classes), *mean_s = json_floats(m->mean, 3),
         *std_s = json_floats(m->std, 3), size_s[16];
    snprintf(size_s, sizeof size_s, "%d", m->size);
    safetensors_meta_set(&meta, "classes", classes_s);
    safetensors_meta_set(&meta, "image_size", size_s);
    safetensors_meta_set(&meta, "mean", mean_s);
    safetensors_meta_set(&meta, "std", std_s);
    char pct_s[32], seed_s[16], pictures_s[16], fingerprint_s[24];
    if (m->has_split) {
        snprintf(pct_s, sizeof pct_s, "%.9g", m->valid_pct);
        snprintf(seed_s, sizeof seed_s, "%d", m->split_seed);
        snprintf(pictures_s, sizeof pictures_s, "%d", m->data_pictures);
        snprintf(fingerprint_s, sizeof fingerprint_s, "%016llx", (unsigned long long)m->data_fingerprint);
        safetensors_meta_set(&meta, "valid_pct", pct_s);
        safetensors_meta_set(&meta, "split_seed", seed_s);
        safetensors_meta_set(&meta, "data_pictures", pictures_s);
        safetensors_meta_set(&meta, "data_fingerprint", fingerprint_s);
    }
    const char *e = m->resnet ? resnet_save(m->resnet, path, &meta) : bearnet_save(m->bearnet, path, &meta);
    if (e) snprintf(err, err_size, "cannot save the model: %s", e);
    cJSON_Delete(classes);
    free(classes_s), free(mean_s), free(std_s);
    safetensors_meta_free(&meta);
    return e == NULL;
}

// A JSON list of exactly n finite numbers, or false.
static bool parse_floats(const char *text, float *out, int n) {
    cJSON *a = text ? cJSON_Parse(text) : NULL;
    bool ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == n;
    for (int i = 0; ok && i < n; i++) {
        cJSON *v = cJSON_GetArrayItem(a, i);
        ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
        if (ok) out[i] = (float)v->valuedouble;
    }
    cJSON_Delete(a);
    return ok;
}

// Class names reach terminals, plots and web pages: the same rule as class folders (escape codes and
// quotes never come through). why is set when a name is the problem.
static bool parse_classes(const char *text, BearModel *m, char *why, size_t why_size) {
    cJSON *a = text ? cJSON_Parse(text) : NULL;
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    bool ok = n >= 2 && n <= 1000;
    if (ok) m->classes = calloc((size_t)n, sizeof(char *));
    for (int i = 0; ok && i < n; i++) {
        cJSON *v = cJSON_GetArrayItem(a, i);
        ok = cJSON_IsString(v) && class_name_ok(v->valuestring, why, why_size);
        if (ok) m->classes[m->n_classes++] = strdup(v->valuestring);
    }
    cJSON_Delete(a);
    return ok;
}

// Whole-string integer in [lo, hi].
static bool parse_int(const char *text, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || end == text || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

// The split: all four keys, or none (a model from before splits were stored). Returns what is
// missing or wrong, or NULL.
static const char *parse_split(const SafetensorsMeta *meta, BearModel *m) {
    const char *pct = safetensors_meta_get(meta, "valid_pct"),
               *seed = safetensors_meta_get(meta, "split_seed"),
               *pictures = safetensors_meta_get(meta, "data_pictures"),
               *fingerprint = safetensors_meta_get(meta, "data_fingerprint");
    if (!pct && !seed && !pictures && !fingerprint) return NULL;
    char *end = NULL;
    double v = pct ? strtod(pct, &end) : NAN;
    long s = 0, n = 0;
    if (!pct || end == pct || *end || !(v > 0 && v < 1)) return "a valid_pct between 0 and 1";
    if (!parse_int(seed, 0, 2147483647, &s)) return "a split_seed (0..2147483647)";
    if (!parse_int(pictures, 0, 2147483647, &n)) return "a data_pictures count";
    if (!fingerprint || strlen(fingerprint) != 16 || strspn(fingerprint, "0123456789abcdef") != 16)
        return "a data_fingerprint (16 hex digits)";
    m->has_split = true, m->valid_pct = (float)v, m->split_seed = (int)s, m->data_pictures = (int)n;
    m->data_fingerprint = strtoull(fingerprint, NULL, 16);
    return NULL;
}

void bear_model_free(BearModel *m) {
    bearnet_free(m->bearnet);
    resnet_free(m->resnet);
    for (int i = 0; i < m->n_classes; i++) free(m->classes[i]);
    free(m->classes);
    memset(m, 0, sizeof *m);
}

bool bear_model_load(const char *path, BearModel *m, char *err, size_t err_size) {
    memset(m, 0, sizeof *m);
    SafetensorsFile f;
    const char *e = safetensors_load(path, &f);
    if (e) {
        snprintf(err, err_size, "cannot load the model: %s", e);
        return false;
    }
    const char *what = NULL;
    char why[300] = "";
    const char *size_s = safetensors_meta_get(&f.meta, "image_size");
    char *end = NULL;
    long size = size_s ? strtol(size_s, &end, 10) : 0;
    const char *arch = safetensors_meta_get(&f.meta, "arch");
    if (!arch || !(strcmp(arch, BEARNET_ARCH) == 0 || resnet_arch_known(arch)))
        what = "an arch sgdlab builds (" BEAR_ARCHS ")";
    else if (!parse_classes(safetensors_meta_get(&f.meta, "classes"), m, why, sizeof why))
        what = why[0] ? why : "a list of at least 2 class names";
    else if (!size_s || *end || size < bear_arch_min_size(arch) || size > 1024 || size % 8)
        what = "an image size (a multiple of 8, 16..1024; at least 32 for a ResNet)";
    else if (!parse_floats(safetensors_meta_get(&f.meta, "mean"), m->mean, 3))
        what = "the normalisation mean";
    else if (!parse_floats(safetensors_meta_get(&f.meta, "std"), m->std, 3))
        what = "the normalisation std";
    for (int c = 0; !what && c < 3; c++)
        if (m->std[c] <= 0) what = "a positive normalisation std";
    const char *split_problem = what ? NULL : parse_split(&f.meta, m);
    if (split_problem) snprintf(why, sizeof why, "its split needs %s", split_problem), what = why;
    if (what) {
        // ImageNet weights (torchvision's, timm's, the converter's) name no classes: a body to fine-tune.
        bool body = !safetensors_meta_get(&f.meta, "classes") && safetensors_get(&f, "conv1.weight");
        snprintf(
            err, err_size,
            why[0] ? "%s: not a usable bears model: %s%s" : "%s: not a bears model: its metadata lacks %s%s",
            path, what,
            body ? " (ImageNet weights are a body to fine-tune: bears train DIR --arch resnet18|resnet34 "
                   "--pretrained FILE)"
                 : "");
        safetensors_file_free(&f);
        bear_model_free(m);
        return false;
    }
    m->size = (int)size;
    Rng rng; // the weights are overwritten by the file; the seed does not matter
    rng_seed(&rng, 0, 0);
    bear_model_build(m, arch, &rng);
    if ((e = m->resnet ? resnet_load_state(m->resnet, &f, false) : bearnet_load_state(m->bearnet, &f))) {
        snprintf(err, err_size, "%s: %s", path, e);
        safetensors_file_free(&f);
        bear_model_free(m);
        return false;
    }
    safetensors_file_free(&f);
    // A diverged training run saves NaN weights, which would predict "black (nan%)": refuse them here.
    const char *bad = state_dict_first_nonfinite(m->sd);
    if (bad) {
        snprintf(err, err_size,
                 "%s: tensor '%s' holds NaN or infinite values (the training that wrote it diverged); "
                 "train again with a lower --lr",
                 path, bad);
        bear_model_free(m);
        return false;
    }
    set_training(m, false);
    return true;
}

void softmax_rows(const Tensor *logits, float *probs) {
    int N = logits->shape[0], C = logits->shape[1];
    for (int i = 0; i < N; i++) {
        const float *z = logits->data + (size_t)i * C;
        float *p = probs + (size_t)i * C, top = z[0];
        for (int c = 1; c < C; c++) top = fmaxf(top, z[c]);
        double total = 0;
        for (int c = 0; c < C; c++) total += p[c] = expf(z[c] - top);
        for (int c = 0; c < C; c++) p[c] = (float)(p[c] / total);
    }
}

int bear_model_n_features(const BearModel *m) {
    return m->resnet ? RESNET_FEATURES : BEARNET_FEATURES;
}

// t itself when it is on device, else a step copy there: a GPU-trained model validates on the GPU.
static Tensor *on_device(Tensor *t, Device device) {
    if (t->device == device) return t;
    Tensor *copy = step_tensor_on(device, t->rank, t->shape);
    tensor_copy_(copy, t);
    return copy;
}

// One batch in eval mode without the tape; features (N x bear_model_n_features) may be NULL. A loaded
// model is already in eval mode and is then only read, so server threads may share it. x is on the host;
// the model may be on the GPU (the learner's, validating).
static void predict_batch(BearModel *m, Tensor *x, float *probs, float *features) {
    bool grad = set_grad_enabled(false);
    set_training(m, false);
    Device device = state_dict_device(m->sd);
    Tensor *in = on_device(x, device);
    Tensor *h = m->resnet ? resnet_features(m->resnet, in) : bearnet_features(m->bearnet, in);
    if (features) tensor_read(h, features);
    softmax_rows(on_device(m->resnet ? linear(h, m->resnet->fc_weight, m->resnet->fc_bias)
                                     : linear(h, m->bearnet->fc_weight, m->bearnet->fc_bias),
                           DEVICE_CPU),
                 probs);
    tape_reset();
    set_grad_enabled(grad);
}

void bear_model_predict(BearModel *m, Tensor *x, float *probs) {
    predict_batch(m, x, probs, NULL);
}

void bear_model_predict_pictures(BearModel *m, const Dataset *ds, const int *idx, int n, Tensor *x,
                                 float *probs, int *labels, float *features) {
    int bs = x->shape[0], C = m->n_classes;
    float *view = m->tta ? malloc(sizeof(float) * (size_t)bs * C) : NULL,
          *views_sum = m->tta ? malloc(sizeof(float) * (size_t)bs * C) : NULL;
    for (int start = 0; start < n; start += bs) {
        int k = n - start < bs ? n - start : bs;
        Tensor *rows = k == bs ? x : tensor_rows(x, 0, k); // the last batch may be short
        float *p = probs + (size_t)start * C;
        dataset_batch(ds, idx + start, k, NULL, NULL, x, labels + start);
        predict_batch(m, rows, p, features ? features + (size_t)start * bear_model_n_features(m) : NULL);
        if (m->tta) { // fastai's TTA: the plain view mixed with the mean over fixed augmented views
            memset(views_sum, 0, sizeof(float) * (size_t)k * C);
            for (int v = 0; v < TTA_VIEWS; v++) {
                dataset_batch_tta(ds, idx + start, k, v, x);
                predict_batch(m, rows, view, NULL);
                for (size_t i = 0; i < (size_t)k * C; i++) views_sum[i] += view[i];
            }
            augment_tta_mix(p, views_sum, k, C);
        }
        if (rows != x) tensor_free(rows);
    }
    free(view), free(views_sum);
}

bool bear_model_predict_image(BearModel *m, const Image *img, float *probs, char *err, size_t err_size) {
    int views = m->tta ? 1 + TTA_VIEWS : 1, C = m->n_classes;
    Tensor *x = tensor_zeros(SHAPE(views, 3, m->size, m->size));
    bool ok = dataset_prepare_image(img, m->size, m->mean, m->std, views, x->data);
    if (ok && views == 1) {
        bear_model_predict(m, x, probs);
    } else if (ok) { // row 0 the plain view, rows 1.. the TTA views, all in one batch
        float *all = malloc(sizeof(float) * (size_t)views * C), *views_sum = calloc((size_t)C, sizeof(float));
        bear_model_predict(m, x, all);
        for (int v = 1; v < views; v++)
            for (int c = 0; c < C; c++) views_sum[c] += all[(size_t)v * C + c];
        memcpy(probs, all, sizeof(float) * C);
        augment_tta_mix(probs, views_sum, 1, C);
        free(all), free(views_sum);
    }
    if (!ok) snprintf(err, err_size, "the picture is too small or empty (%dx%d)", img->width, img->height);
    tensor_free(x);
    return ok;
}
