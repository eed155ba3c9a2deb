// fuzz_idx.c — the IDX parser behind `bears import fashion-mnist`: any bytes either parse into an array
// whose values lie inside the input, or fail with a message.
#include <stdint.h>
#include <string.h>

#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    IdxArray a;
    char err[300];
    if (!idx_parse("fuzz", data, size, &a, err, sizeof err)) return 0;
    unsigned total = 0;
    for (size_t i = 0; i < a.count; i++) total += a.values[i]; // reads every value: ASan checks the bounds
    return a.values + a.count != data + size || total == ~0u;
}
