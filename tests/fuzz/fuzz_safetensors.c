// fuzz_safetensors.c — the model loader on untrusted bytes (a file from the web, a truncated download):
// the header length, JSON, dtypes, shapes and offsets are all checked before any data is trusted.
#include <stdint.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    SafetensorsFile f;
    if (!safetensors_load_memory("fuzz.safetensors", data, size, &f)) {
        for (int i = 0; i < f.count; i++) // every tensor the loader accepted is readable end to end
            for (size_t k = 0; k < f.tensors[i]->numel; k++) (void)f.tensors[i]->data[k];
        (void)safetensors_meta_get(&f.meta, "classes");
        safetensors_file_free(&f);
    }
    return 0;
}
