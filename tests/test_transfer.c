// test_transfer.c — fine-tuning a "pretrained" ResNet-18 on drawn bears, end to end.
//
// The pretrained file is made here, seeded: a ResNet-18 with ImageNet's 1000-class head, saved with
// torchvision's names and no metadata, as scripts/torchvision_to_safetensors.py writes one. Checked:
// the body comes from the file and the head is new for 3 classes; ImageNet's normalisation is used;
// while frozen the body records nothing on the tape and does not move, and head-only steps on one
// batch lower its loss; unfrozen, the body moves too. Then `bears train --pretrained` runs both phases
// and saves a resnet18 that predict, interpret and lr-find open by its arch (--tta: the plain view mixed
// with the 8 fixed views, as augment.h says); and the mistakes a user
// can make (another arch's file) fail with a message. (bearnet-s with --pretrained is a usage error, exit 2,
// which would end this process: tests/first_run/transfer.sh runs it.)
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "autograd.h"
#include "check.h"
#include "commands.h"
#include "interpret.h"
#include "learner.h"
#include "trash.h"

static char data[512], pretrained[512], pretrained34[512], model[512];

static int run(const char *const *args, int n) {
    char *argv[32];
    for (int i = 0; i < n; i++) argv[i] = (char *)args[i];
    argv[n] = NULL;
    if (strcmp(args[0], "synth") == 0) return cmd_synth(n, argv);
    if (strcmp(args[0], "train") == 0) return cmd_train(n, argv);
    if (strcmp(args[0], "lr-find") == 0) return cmd_lr_find(n, argv);
    if (strcmp(args[0], "interpret") == 0) return cmd_interpret(n, argv);
    return cmd_predict(n, argv);
}
#define RUN(...) run((const char *[]){__VA_ARGS__}, sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *))

// A seeded stand-in for ImageNet weights, named and shaped as torchvision's, without metadata.
// nan_at: a tensor to plant a NaN in (a damaged download), or NULL.
static void save_pretrained(const char *arch, const char *path, uint64_t seed, const char *nan_at) {
    Rng rng;
    rng_seed(&rng, seed, 0);
    ResNet *m = resnet_new(arch, 1000, &rng);
    if (nan_at) state_dict_get(&m->sd, nan_at)->data[5] = NAN;
    const char *names[STATE_DICT_MAX];
    for (int i = 0; i < m->sd.n_state; i++) names[i] = m->sd.names[i];
    const char *err = safetensors_save(path, m->sd.n_state, names, m->sd.state, NULL);
    CHECK(err == NULL, "saving %s: %s", path, err);
    resnet_free(m);
}

static float loss_on_batch0(Learner *l) {
    bool was = set_grad_enabled(false);
    dataset_batch(&l->ds, l->order, l->bs, NULL, NULL, l->x, l->y);
    float v = cross_entropy(bear_model_forward(&l->model, l->x, true), l->y)->data[0];
    tape_reset();
    set_grad_enabled(was);
    return v;
}

static void test_learner(void) {
    LearnerOptions o = learner_defaults();
    o.arch = "resnet18", o.pretrained = pretrained, o.bs = 8, o.augment = false;
    char why[160], err[512];
    CHECK(learner_set_size(&o, 32, why, sizeof why), "size 32 suits resnet18: %s", why);
    Learner l;
    bool ok = learner_init(&l, data, &o, err, sizeof err);
    CHECK(ok, "learner_init with a pretrained resnet18: %s", err);
    if (!ok) return;
    SafetensorsFile f;
    CHECK(safetensors_load(pretrained, &f) == NULL, "the pretrained file loads");
    Tensor *file_conv1 = safetensors_get(&f, "conv1.weight"),
           *file_bn = safetensors_get(&f, "layer4.1.bn2.running_var");
    ResNet *r = l.model.resnet;
    CHECK(r && memcmp(r->conv1->data, file_conv1->data, sizeof(float) * file_conv1->numel) == 0 &&
              memcmp(r->layer[3][1].bn2.running_var->data, file_bn->data, sizeof(float) * file_bn->numel) ==
                  0,
          "the body's weights and BN statistics come from the file");
    CHECK(r && r->fc_weight->shape[0] == 3 && r->fc_weight->shape[1] == 512, "a new head for 3 classes");
    CHECK(fabsf(l.model.mean[0] - 0.485f) < 1e-6f && fabsf(l.model.std[2] - 0.225f) < 1e-6f &&
              l.ds.mean[1] == l.model.mean[1],
          "ImageNet's normalisation, in the batches and in the saved model");

    // Frozen: the forward records only the head (the body's weights do not require grad).
    learner_freeze(&l, true);
    dataset_batch(&l.ds, l.order, l.bs, NULL, NULL, l.x, l.y);
    bear_model_forward(&l.model, l.x, true);
    int frozen_nodes = tape_length();
    tape_reset();
    CHECK(frozen_nodes == 1, "a frozen body records nothing: %d node(s) on the tape (the head's linear)",
          frozen_nodes);
    float before = loss_on_batch0(&l), body0 = r->layer[1][0].conv1->data[5], head0 = r->fc_weight->data[5];
    for (int i = 0; i < 15; i++) learner_step(&l, 0, 1e-2f, 0.9f);
    float after = loss_on_batch0(&l);
    printf("frozen: 15 head-only steps on one batch: loss %.4f -> %.4f\n", before, after);
    CHECK(after < 0.8f * before, "head-only training lowers the batch's loss: %.4f -> %.4f", before, after);
    CHECK(r->layer[1][0].conv1->data[5] == body0 && r->fc_weight->data[5] != head0,
          "frozen: the body did not move, the head did");

    learner_freeze(&l, false);
    bear_model_forward(&l.model, l.x, true);
    int all_nodes = tape_length();
    tape_reset();
    CHECK(all_nodes > 40, "unfrozen, the whole network records: %d nodes", all_nodes);
    printf("tape: %d node(s) with the body frozen, %d unfrozen\n", frozen_nodes, all_nodes);
    l.body_lr_scale = 0.01f;
    learner_step(&l, 0, 1e-2f, 0.9f);
    CHECK(r->layer[1][0].conv1->data[5] != body0, "unfrozen: the body moves too");
    safetensors_file_free(&f);
    learner_free(&l);
}

static void test_commands(void) {
    CHECK(RUN("train", data, "--arch", "resnet18", "--pretrained", pretrained, "--freeze-epochs", "1",
              "--epochs", "1", "--size", "32", "--bs", "8", "--lr", "1e-3", "--lr-body", "1e-5", "--model",
              model) == 0,
          "bears train --arch resnet18 --pretrained: both phases, saved");
    BearModel m;
    char err[512];
    bool ok = bear_model_load(model, &m, err, sizeof err);
    CHECK(ok, "the fine-tuned model loads: %s", err);
    if (ok) {
        CHECK(m.resnet && strcmp(bear_model_arch(&m), "resnet18") == 0 && m.size == 32 && m.n_classes == 3,
              "it records its arch, size and classes (%s, %d px, %d classes)", bear_model_arch(&m), m.size,
              m.n_classes);
        CHECK(fabsf(m.mean[0] - 0.485f) < 1e-6f, "and ImageNet's normalisation");
        // --tta: the plain view's probabilities mixed with the mean over the 8 fixed views (augment.h)
        Image img;
        char path[600];
        snprintf(path, sizeof path, "%s/black/0001.png", data);
        struct stat st;
        if (stat(path, &st) != 0) snprintf(path, sizeof path, "%s/black/0001.jpg", data);
        CHECK(image_load(path, &img, err, sizeof err), "load %s: %s", path, err);
        enum { VIEWS = 1 + TTA_VIEWS };
        Tensor *x = tensor_zeros(SHAPE(VIEWS, 3, 32, 32));
        float each[VIEWS * 3], plain[3], tta[3], expected[3] = {0}, total = 0;
        CHECK(dataset_prepare_image(&img, 32, m.mean, m.std, VIEWS, x->data), "prepare the views");
        bear_model_predict(&m, x, each);
        CHECK(bear_model_predict_image(&m, &img, plain, err, sizeof err), "plain: %s", err);
        m.tta = true;
        CHECK(bear_model_predict_image(&m, &img, tta, err, sizeof err), "tta: %s", err);
        for (int c = 0; c < 3; c++) {
            for (int v = 1; v < VIEWS; v++) expected[c] += each[v * 3 + c] / TTA_VIEWS;
            expected[c] = TTA_BETA * each[c] + (1 - TTA_BETA) * expected[c];
            CHECK(fabsf(plain[c] - each[c]) < 1e-6f, "without tta, the plain view (%g vs %g)", plain[c],
                  each[c]);
            CHECK(fabsf(tta[c] - expected[c]) < 1e-5f, "class %d: tta %g is 0.4 plain + 0.6 views' mean %g",
                  c, tta[c], expected[c]);
            total += tta[c];
        }
        CHECK(fabsf(total - 1) < 1e-5f, "tta probabilities sum to 1 (%g)", total);
        CHECK(fabsf(each[3] - each[3 * 5]) > 1e-7f || fabsf(each[4] - each[3 * 5 + 1]) > 1e-7f,
              "a view and its mirror are different pictures to the model");
        image_free(&img), tensor_free(x);
        bear_model_free(&m);
    }
    char picture[600];
    snprintf(picture, sizeof picture, "%s/black/0001.png", data);
    struct stat st;
    if (stat(picture, &st) != 0) snprintf(picture, sizeof picture, "%s/black/0001.jpg", data);
    CHECK(RUN("predict", model, picture, "--tta") == 0, "predict opens the resnet18 model (%s)", picture);
    char out[600];
    snprintf(out, sizeof out, "%s/../out", data);
    CHECK(RUN("interpret", model, data, "--plot", "none", "--out", out, "--tta") == 0, "interpret opens it");
    CHECK(RUN("lr-find", data, "--arch", "resnet18", "--pretrained", pretrained, "--size", "32", "--bs", "8",
              "--iters", "12", "--plot", "none", "--out", out) != 2,
          "lr-find takes --arch and --pretrained");

    // Mistakes: a message and exit 1, nothing saved.
    char bad_model[600];
    snprintf(bad_model, sizeof bad_model, "%s.bad", model);
    CHECK(RUN("train", data, "--arch", "resnet18", "--pretrained", pretrained34, "--size", "32", "--model",
              bad_model) == 1,
          "resnet18 from resnet34's weights fails");
    // A NaN in the body would pass through every ReLU as 0 and train to finite losses: refused at load.
    char damaged[600];
    snprintf(damaged, sizeof damaged, "%s.nan.safetensors", model);
    save_pretrained("resnet18", damaged, 7, "layer1.0.conv1.weight");
    CHECK(RUN("train", data, "--arch", "resnet18", "--pretrained", damaged, "--size", "32", "--freeze-epochs",
              "1", "--epochs", "1", "--model", bad_model) == 1,
          "a pretrained file holding a NaN fails");
    CHECK(stat(bad_model, &st) != 0, "no model saved by the failed runs");
}

int main(void) {
    const char *tmp = SGDLAB_TEST_TMP;
    make_dirs(tmp);
    snprintf(data, sizeof data, "%s/bears", tmp);
    snprintf(pretrained, sizeof pretrained, "%s/resnet18-seeded.safetensors", tmp);
    snprintf(pretrained34, sizeof pretrained34, "%s/resnet34-seeded.safetensors", tmp);
    snprintf(model, sizeof model, "%s/finetuned.safetensors", tmp);
    struct stat st;
    if (stat(data, &st) != 0) CHECK(RUN("synth", data, "--per-class", "12", "--size", "48") == 0, "synth");
    save_pretrained("resnet18", pretrained, 7, NULL);
    save_pretrained("resnet34", pretrained34, 8, NULL);
    test_learner();
    test_commands();
    return check_done("test_transfer");
}
