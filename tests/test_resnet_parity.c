// test_resnet_parity.c — ResNet-18/34 in C against torchvision's own ResNet code.
//
// tests/data/resnet_golden.safetensors (from tests/gen_resnet_golden.py, run once) holds an input
// batch and what torchvision computed in float64 for both archs: logits and loss in training mode,
// the gradients of the input and of a few parameters, the sum of squares of every parameter's
// gradient, running statistics after the step, eval-mode logits; and, in its metadata, the
// state_dict names in order and the parameter count. The weights themselves come from a formula
// both sides compute (seeded_value), so the file need not hold ResNet-34's 85 MB of them.
// Then: loading refuses another arch, a missing or extra tensor, a wrong shape, naming the first
// one; a pretrained body loads under a head for another number of classes.
// Tolerance: see parity.h.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "check.h"
#include "parity.h"
#include "resnet.h"

#define GOLDEN SGDLAB_TEST_DATA "/resnet_golden.safetensors"

// n values in [-1, 1) for tensor k: a 32-bit integer hash of (k, i), as weight_value() in the script.
static double hash_uniform(int k, uint32_t i) {
    uint32_t h = i * 0x9E3779B1u + (uint32_t)(k + 1) * 0x85EBCA77u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    h ^= h >> 15;
    return (double)h / 4294967296.0 * 2.0 - 1.0;
}

// Tensor k of the state, named name, filled as fill() in the script does.
static void seeded_value(const char *name, Tensor *t, int k, bool running_only) {
    size_t len = strlen(name);
    bool running = strstr(name, "running_") != NULL;
    if (running_only && !running) return;
    bool bias = len > 4 && strcmp(name + len - 4, "bias") == 0;
    for (size_t i = 0; i < t->numel; i++) {
        double u = hash_uniform(k, (uint32_t)i), v;
        if (strstr(name, "running_var"))
            v = 1.0 + 0.5 * u;
        else if (strstr(name, "running_mean") || (t->rank == 1 && bias))
            v = 0.1 * u;
        else if (t->rank == 1) // BN weight
            v = 1.0 + 0.25 * u;
        else // conv / linear weight: std sqrt(2 / fan_in)
            v = u * sqrt(6.0 / (double)(t->numel / (size_t)t->shape[0]));
        t->data[i] = (float)v;
    }
}

static void seed_weights(ResNet *m, bool running_only) {
    for (int k = 0; k < m->sd.n_state; k++) seeded_value(m->sd.names[k], m->sd.state[k], k, running_only);
}

static Tensor *golden(const SafetensorsFile *g, const char *arch, const char *what) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, what);
    return safetensors_get(g, name);
}

static void test_arch(const SafetensorsFile *g, const char *arch) {
    Rng rng;
    rng_seed(&rng, 1, 0);
    ResNet *m = resnet_new(arch, 3, &rng);
    CHECK(m != NULL, "%s builds", arch);
    if (!m) return;
    printf("-- %s\n", arch);
    // torchvision's state_dict names, in its order, and its parameter count
    char key[64];
    snprintf(key, sizeof key, "%s.names", arch);
    cJSON *names = cJSON_Parse(safetensors_meta_get(&g->meta, key));
    int n = cJSON_GetArraySize(names), first_bad = -1;
    for (int i = 0; i < n && i < m->sd.n_state && first_bad < 0; i++)
        if (strcmp(cJSON_GetArrayItem(names, i)->valuestring, m->sd.names[i]) != 0) first_bad = i;
    CHECK(n == m->sd.n_state && first_bad < 0,
          "%s: %d state tensors named as torchvision's %d (first difference at %d)", arch, m->sd.n_state, n,
          first_bad);
    cJSON_Delete(names);
    snprintf(key, sizeof key, "%s.num_params", arch);
    const char *count = safetensors_meta_get(&g->meta, key);
    CHECK(count && (size_t)atol(count) == state_dict_num_params(&m->sd), "%s: %zu parameters, torchvision %s",
          arch, state_dict_num_params(&m->sd), count);

    seed_weights(m, false);
    Tensor *x = tensor_copy(safetensors_get(g, "input")), *label_floats = safetensors_get(g, "labels");
    int labels[2] = {(int)label_floats->data[0], (int)label_floats->data[1]};
    x->requires_grad = true;
    m->training = true;
    Tensor *logits = resnet_forward(m, x);
    Tensor *loss = cross_entropy(logits, labels);
    backward(loss);
    compare("train.logits", logits, golden(g, arch, "train.logits"));
    compare("train.loss", loss, golden(g, arch, "train.loss"));
    compare("grad.input", x->grad, golden(g, arch, "grad.input"));
    size_t prefix = strlen(arch) + 1;
    int gradsq_checked = 0;
    for (int i = 0; i < g->count; i++) {
        const char *name = g->names[i];
        if (strncmp(name, arch, prefix - 1) != 0 || name[prefix - 1] != '.') continue;
        name += prefix;
        if (strncmp(name, "grad.", 5) == 0 && strcmp(name, "grad.input") != 0) {
            Tensor *p = state_dict_get(&m->sd, name + 5);
            compare(g->names[i], p ? p->grad : NULL, g->tensors[i]);
        } else if (strncmp(name, "gradsq.", 7) == 0) { // every parameter's gradient, one number each
            Tensor *p = state_dict_get(&m->sd, name + 7);
            double total = 0;
            for (size_t k = 0; p && p->grad && k < p->numel; k++)
                total += (double)p->grad->data[k] * p->grad->data[k];
            float ours = (float)total;
            double torch = g->tensors[i]->data[0];
            CHECK(p && p->grad && fabs(ours - torch) <= 2 * PARITY_TOL * torch, "%s: ours %.8g, torch %.8g",
                  g->names[i], ours, torch);
            gradsq_checked++;
        } else if (strncmp(name, "after.", 6) == 0) {
            compare(g->names[i], state_dict_get(&m->sd, name + 6), g->tensors[i]);
        }
    }
    CHECK(gradsq_checked == m->sd.n_params, "%s: the gradients of all %d parameters compared (%d)", arch,
          m->sd.n_params, gradsq_checked);
    printf("every parameter's sum of squared gradients within %.0e of torchvision's\n", 2 * PARITY_TOL);
    tape_reset();

    seed_weights(m, true); // eval with the formula's running statistics, as the script does
    m->training = false;
    bool was = set_grad_enabled(false);
    compare("eval.logits", resnet_forward(m, x), golden(g, arch, "eval.logits"));
    set_grad_enabled(was);
    tape_reset();
    tensor_free(x);
    resnet_free(m);
}

static void expect_refused(const char *what, ResNet *m, const SafetensorsFile *f, bool body_only,
                           const char *says) {
    const char *err = resnet_load_state(m, f, body_only);
    CHECK(err && strstr(err, says), "%s: refused saying \"%s\", got: %s", what, says, err ? err : "(loaded)");
}

static void test_loading(void) {
    Rng rng;
    rng_seed(&rng, 2, 0);
    ResNet *r18 = resnet_new("resnet18", 3, &rng), *r34 = resnet_new("resnet34", 3, &rng),
           *r18x5 = resnet_new("resnet18", 5, &rng);
    CHECK(resnet_new("resnet50", 3, &rng) == NULL, "resnet50 is not an arch we build");
    const char *p18 = SGDLAB_TEST_TMP "/resnet18.safetensors",
               *bare = SGDLAB_TEST_TMP "/resnet34-bare.safetensors";
    CHECK(resnet_save(r18, p18, NULL) == NULL, "resnet18 saves");
    // A file as a converter writes it from torchvision: names only, no arch in the metadata.
    const char *names[STATE_DICT_MAX];
    for (int i = 0; i < r34->sd.n_state; i++) names[i] = r34->sd.names[i];
    CHECK(safetensors_save(bare, r34->sd.n_state, names, r34->sd.state, NULL) == NULL, "bare resnet34 saves");
    SafetensorsFile f18, f34;
    bool loaded = safetensors_load(p18, &f18) == NULL && safetensors_load(bare, &f34) == NULL;
    CHECK(loaded, "both load (in %s)", SGDLAB_TEST_TMP);
    if (!loaded) return; // the checks below read the two files

    expect_refused("resnet18's file into resnet34", r34, &f18, true,
                   "holds a 'resnet18' model, not resnet34");
    expect_refused("resnet34's bare file into resnet18", r18, &f34, true,
                   "has a tensor 'layer1.2.conv1.weight' that resnet18 does not have");
    // resnet18's tensors are a subset of resnet34's: without the arch, the missing ones say it.
    safetensors_meta_set(&f18.meta, "arch", "resnet34");
    expect_refused("resnet18's tensors under resnet34's name", r34, &f18, true,
                   "no tensor 'layer1.2.conv1.weight'");
    safetensors_meta_set(&f18.meta, "arch", "resnet18");
    expect_refused("3 classes into 5", r18x5, &f18, false,
                   "'fc.weight' has shape [3, 512] in the file but the model expects [5, 512]");
    // A pretrained body under a new head: everything but fc.* copied, the head left as it was.
    float head = r18x5->fc_weight->data[7];
    const char *err = resnet_load_state(r18x5, &f18, true);
    CHECK(err == NULL, "the body loads under a 5-class head: %s", err);
    CHECK(memcmp(r18x5->conv1->data, r18->conv1->data, sizeof(float) * r18->conv1->numel) == 0 &&
              r18x5->fc_weight->data[7] == head,
          "body copied, head kept");
    // Bit-for-bit round trip in eval mode
    ResNet *again = resnet_new("resnet18", 3, &rng);
    CHECK(resnet_load_state(again, &f18, false) == NULL, "resnet18 reloads");
    Tensor *x = tensor_normal(SHAPE(2, 3, 32, 32), 0, 1, &rng);
    r18->training = again->training = false;
    bool was = set_grad_enabled(false);
    Tensor *a = resnet_forward(r18, x), *b = resnet_forward(again, x);
    CHECK(memcmp(a->data, b->data, sizeof(float) * a->numel) == 0,
          "the reloaded resnet18 answers bit for bit");
    set_grad_enabled(was);
    tape_reset();
    tensor_free(x);
    safetensors_file_free(&f18), safetensors_file_free(&f34);
    resnet_free(r18), resnet_free(r34), resnet_free(r18x5), resnet_free(again);
}

int main(void) {
    SafetensorsFile g;
    const char *err = safetensors_load(GOLDEN, &g);
    CHECK(err == NULL, "loading the golden file: %s", err);
    if (!err) {
        test_arch(&g, "resnet18");
        test_arch(&g, "resnet34");
        safetensors_file_free(&g);
    }
    test_loading();
    return check_done("test_resnet_parity");
}
