// state_dict.c — registering, saving and loading a model's named tensors.
// Read first: tensor.c; then safetensors.c, the file format underneath.
#include "state_dict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

Tensor *state_dict_add(StateDict *sd, Tensor *t, bool trainable, const char *module, const char *name) {
    if (sd->n_state == STATE_DICT_MAX) sgd_panic("state_dict: more than %d tensors", STATE_DICT_MAX);
    if (snprintf(sd->names[sd->n_state], STATE_DICT_NAME_LEN, "%s.%s", module, name) >= STATE_DICT_NAME_LEN)
        sgd_panic("state_dict: name %s.%s is too long", module, name);
    sd->state[sd->n_state++] = t;
    if (trainable) {
        t->requires_grad = true;
        sd->params[sd->n_params++] = t;
    } else {
        sd->buffers[sd->n_buffers++] = t;
    }
    return t;
}

Tensor *state_dict_conv(StateDict *sd, int OC, int C, int K, float std, Rng *rng, const char *module) {
    return state_dict_add(sd, tensor_normal(SHAPE(OC, C, K, K), 0.0f, std, rng), true, module, "weight");
}

void state_dict_linear(StateDict *sd, int out, int in, Rng *rng, const char *module, Tensor **weight,
                       Tensor **bias) {
    float bound = 1.0f / sqrtf((float)in);
    *weight = state_dict_add(sd, tensor_uniform(SHAPE(out, in), -bound, bound, rng), true, module, "weight");
    *bias = state_dict_add(sd, tensor_uniform(SHAPE(out), -bound, bound, rng), true, module, "bias");
}

BatchNorm2d state_dict_bn(StateDict *sd, int C, const char *module) {
    BatchNorm2d bn;
    bn.weight = state_dict_add(sd, tensor_ones(SHAPE(C)), true, module, "weight");
    bn.bias = state_dict_add(sd, tensor_zeros(SHAPE(C)), true, module, "bias");
    bn.running_mean = state_dict_add(sd, tensor_zeros(SHAPE(C)), false, module, "running_mean");
    bn.running_var = state_dict_add(sd, tensor_ones(SHAPE(C)), false, module, "running_var");
    return bn;
}

Tensor *state_dict_get(const StateDict *sd, const char *name) {
    for (int i = 0; i < sd->n_state; i++)
        if (strcmp(sd->names[i], name) == 0) return sd->state[i];
    return NULL;
}

size_t state_dict_num_params(const StateDict *sd) {
    size_t n = 0;
    for (int i = 0; i < sd->n_params; i++) n += sd->params[i]->numel;
    return n;
}

void state_dict_free(StateDict *sd) {
    for (int i = 0; i < sd->n_state; i++) tensor_free(sd->state[i]);
    sd->n_state = sd->n_params = sd->n_buffers = 0;
}

void state_dict_to(StateDict *sd, Device device) {
    for (int i = 0; i < sd->n_state; i++) {
        Tensor *t = sd->state[i];
        if (t->device == device) continue;
        Tensor *moved = tensor_to(t, device), old = *t;
        tensor_free(t->grad);
        t->grad = NULL;
        t->data = moved->data, t->device = device, t->owns_data = true;
        // The copy's header takes the old data away, to free them the way their device frees.
        moved->data = old.data, moved->device = old.device, moved->owns_data = old.owns_data;
        tensor_free(moved);
        tensor_changed(t); // a cache of the old values (fold.h) is stale
    }
}

Device state_dict_device(const StateDict *sd) {
    return sd->n_state ? sd->state[0]->device : DEVICE_CPU;
}

const char *state_dict_first_nonfinite(const StateDict *sd) {
    for (int t = 0; t < sd->n_state; t++)
        for (size_t k = 0; k < sd->state[t]->numel; k++)
            if (!isfinite(sd->state[t]->data[k])) return sd->names[t];
    return NULL;
}

const char *state_dict_save(const StateDict *sd, const char *arch, int classes, const char *path,
                            const SafetensorsMeta *meta) {
    SafetensorsMeta all = {0};
    for (int i = 0; meta && i < meta->count; i++) safetensors_meta_set(&all, meta->keys[i], meta->values[i]);
    char n[16];
    snprintf(n, sizeof n, "%d", classes);
    safetensors_meta_set(&all, "format_version", "1");
    safetensors_meta_set(&all, "arch", arch);
    safetensors_meta_set(&all, "num_classes", n);
    const char *names[STATE_DICT_MAX];
    Tensor *host[STATE_DICT_MAX];
    for (int i = 0; i < sd->n_state; i++) {
        names[i] = sd->names[i];
        host[i] = sd->state[i]->device == DEVICE_CPU ? sd->state[i] : tensor_to(sd->state[i], DEVICE_CPU);
    }
    const char *err = safetensors_save(path, sd->n_state, names, host, &all);
    for (int i = 0; i < sd->n_state; i++)
        if (host[i] != sd->state[i]) tensor_free(host[i]);
    safetensors_meta_free(&all);
    return err;
}

const char *state_dict_load(StateDict *sd, const char *arch, const SafetensorsFile *f,
                            const char *skip_prefix) {
    static _Thread_local char message[160];
    const char *file_arch = safetensors_meta_get(&f->meta, "arch");
    if (file_arch && strcmp(file_arch, arch) != 0) {
        snprintf(message, sizeof message, "the file holds a '%.40s' model, not %s", file_arch, arch);
        return message;
    }
    size_t skip = skip_prefix ? strlen(skip_prefix) : 0;
    // Both ways: a tensor the model lacks means another arch (ResNet-18's names are a subset of
    // ResNet-34's), not something to drop quietly. num_batches_tracked is PyTorch's own counter.
    for (int i = 0; i < f->count; i++) {
        const char *name = f->names[i];
        size_t len = strlen(name), tail = strlen(".num_batches_tracked");
        if ((skip && strncmp(name, skip_prefix, skip) == 0) ||
            (len > tail && strcmp(name + len - tail, ".num_batches_tracked") == 0))
            continue;
        if (!state_dict_get(sd, name)) {
            snprintf(message, sizeof message, "the file has a tensor '%.60s' that %s does not have", name,
                     arch);
            return message;
        }
    }
    const char *names[STATE_DICT_MAX];
    Tensor *dst[STATE_DICT_MAX];
    int n = 0;
    for (int i = 0; i < sd->n_state; i++)
        if (!skip || strncmp(sd->names[i], skip_prefix, skip) != 0)
            names[n] = sd->names[i], dst[n++] = sd->state[i];
    const char *err = safetensors_copy_into(f, n, names, dst);
    for (int i = 0; i < n; i++) tensor_changed(dst[i]); // a cache of the old values (fold.h) is stale
    return err;
}
