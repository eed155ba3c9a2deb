// test_bearnet_parity.c — bearnet-s in C against the same model in PyTorch.
//
// tests/data/bearnet_golden.safetensors (from tests/gen_bearnet_golden.py, run once) holds an
// input batch, every weight, and what PyTorch computed in float64: logits and loss in training
// mode, gradients of several parameters and of the input, the running statistics after the step,
// and eval-mode logits. We load it with our own loader, run the same step in float32, compare.
//
// Tolerance: see parity.h.
#include <math.h>
#include <string.h>

#include "autograd.h"
#include "bearnet.h"
#include "check.h"
#include "parity.h"

#define GOLDEN SGDLAB_TEST_DATA "/bearnet_golden.safetensors"

static Tensor *state(BearNet *m, const char *name) {
    return state_dict_get(&m->sd, name);
}

static void test_parity(void) {
    SafetensorsFile g;
    const char *err = safetensors_load(GOLDEN, &g);
    CHECK(err == NULL, "loading the golden file: %s", err);
    if (err) return;
    Rng rng;
    rng_seed(&rng, 1, 0);
    BearNet *m = bearnet_new(3, &rng);
    CHECK(bearnet_num_params(m) == 307923, "bearnet-s has 307,923 parameters for 3 classes, got %zu",
          bearnet_num_params(m));
    // Same names in the same order as PyTorch's state_dict (the golden file keeps that order
    // after its first two tensors, input and labels).
    bool same_order = g.count >= 2 + m->sd.n_state;
    for (int i = 0; same_order && i < m->sd.n_state; i++)
        same_order = strcmp(g.names[2 + i], m->sd.names[i]) == 0;
    CHECK(same_order, "state tensor names and order match PyTorch's state_dict");
    // The golden file also holds inputs and results, which a model file may not: copy by name.
    const char *names[STATE_DICT_MAX];
    for (int i = 0; i < m->sd.n_state; i++) names[i] = m->sd.names[i];
    err = safetensors_copy_into(&g, m->sd.n_state, names, m->sd.state);
    CHECK(err == NULL, "loading the weights: %s", err);

    Tensor *x = safetensors_get(&g, "input"), *label_floats = safetensors_get(&g, "labels");
    int N = x->shape[0], labels[16];
    for (int n = 0; n < N; n++) labels[n] = (int)label_floats->data[n];
    x->requires_grad = true;

    // One training step's forward and backward, twice: the second time the step arena hands out
    // memory that still holds the first step's numbers, so an op that reads a gradient it should
    // have written shows up here (on the first pass fresh pages are all zeros and hide it).
    m->training = true;
    Tensor *saved_buffers[STATE_DICT_MAX];
    for (int pass = 0; pass < 2; pass++) {
        zero_grad(m->sd.params, m->sd.n_params);
        zero_grad(&x, 1);
        Tensor *logits = bearnet_forward(m, x);
        Tensor *loss = cross_entropy(logits, labels);
        backward(loss);
        printf("-- pass %d\n", pass + 1);
        compare("train.logits", logits, safetensors_get(&g, "train.logits"));
        compare("train.loss", loss, safetensors_get(&g, "train.loss"));
        compare("grad.input", x->grad, safetensors_get(&g, "grad.input"));
        for (int i = 0; i < g.count; i++) {
            const char *name = g.names[i];
            if (strncmp(name, "grad.", 5) == 0 && strcmp(name, "grad.input") != 0) {
                Tensor *p = state(m, name + 5);
                compare(name, p ? p->grad : NULL, g.tensors[i]);
            } else if (strncmp(name, "after.", 6) == 0 && pass == 0) { // one update of the running stats
                compare(name, state(m, name + 6), g.tensors[i]);
            }
        }
        tape_reset();
        if (pass == 0) // keep the running statistics of one step for the eval comparison below
            for (int i = 0; i < m->sd.n_buffers; i++) saved_buffers[i] = tensor_copy(m->sd.buffers[i]);
    }
    for (int i = 0; i < m->sd.n_buffers; i++) {
        memcpy(m->sd.buffers[i]->data, saved_buffers[i]->data, sizeof(float) * saved_buffers[i]->numel);
        tensor_free(saved_buffers[i]);
    }

    // Eval mode: running statistics, no tape.
    m->training = false;
    bool was = set_grad_enabled(false);
    compare("eval.logits", bearnet_forward(m, x), safetensors_get(&g, "eval.logits"));
    set_grad_enabled(was);
    tape_reset();
    bearnet_free(m);
    safetensors_file_free(&g);
}

// 64 px works too; in eval mode an image's answer does not depend on its batch-mates; and a
// saved model loads back into a fresh one bit for bit.
static void test_sizes_eval_and_save(void) {
    Rng rng;
    rng_seed(&rng, 2, 0);
    BearNet *m = bearnet_new(3, &rng);
    Tensor *x = tensor_normal(SHAPE(2, 3, 64, 64), 0, 1, &rng);
    Tensor *logits = bearnet_forward(m, x);
    CHECK(logits->rank == 2 && logits->shape[0] == 2 && logits->shape[1] == 3, "64 px logits are (2,3)");
    CHECK(isfinite(logits->data[0]) && isfinite(logits->data[5]), "finite logits");
    tape_reset();

    m->training = false;
    Tensor *pair = bearnet_forward(m, x), *one = bearnet_forward(m, tensor_rows(x, 1, 2));
    float d = 0;
    for (int c = 0; c < 3; c++) d = fmaxf(d, fabsf(pair->data[3 + c] - one->data[c]));
    CHECK(d < 1e-5f, "eval: image 1 alone vs in a batch of 2 differs by %g", d);

    const char *path = SGDLAB_TEST_TMP "/bearnet.safetensors";
    SafetensorsMeta meta = {0};
    safetensors_meta_set(&meta, "classes", "black,grizzly,teddy");
    const char *err = bearnet_save(m, path, &meta);
    CHECK(err == NULL, "save: %s", err);
    SafetensorsFile f;
    err = safetensors_load(path, &f);
    CHECK(err == NULL, "load: %s", err);
    if (!err) {
        CHECK(strcmp(safetensors_meta_get(&f.meta, "arch"), "bearnet-s") == 0, "arch recorded");
        CHECK(strcmp(safetensors_meta_get(&f.meta, "classes"), "black,grizzly,teddy") == 0, "classes kept");
        BearNet *m2 = bearnet_new(3, &rng), *m5 = bearnet_new(5, &rng);
        CHECK(bearnet_load_state(m2, &f) == NULL, "loads into a fresh bearnet-s");
        m2->training = false;
        Tensor *again = bearnet_forward(m2, x);
        CHECK(memcmp(again->data, pair->data, sizeof(float) * 6) == 0,
              "the reloaded model answers bit for bit");
        err = bearnet_load_state(m5, &f);
        CHECK(err && strstr(err, "'fc.weight' has shape [3, 128] in the file but the model expects [5, 128]"),
              "a 5-class model refuses 3-class weights: %s", err);
        bearnet_free(m2), bearnet_free(m5);
        safetensors_file_free(&f);
    }
    safetensors_meta_free(&meta);
    bearnet_summary(m, 64, stdout);
    tape_reset();
    tensor_free(x);
    bearnet_free(m);
}

int main(void) {
    test_parity();
    test_sizes_eval_and_save();
    return check_done("test_bearnet_parity");
}
