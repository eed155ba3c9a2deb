// fuzz_flags.c — the flag parser every binary shares, on arbitrary argument lists (the bytes split at
// NUL into argv): it either fills the values, in range, or says why not; it never reads past argv.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    enum { MAX_ARGS = 64 };
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 1] = {"fuzz"};
    int argc = 1;
    for (char *p = text; p <= text + size && argc < MAX_ARGS; p += strlen(p) + 1) argv[argc++] = p;
    float lr = 0.1f;
    int epochs = 4;
    const char *model = NULL, *plot = "auto";
    bool quiet = false;
    FloatList lrs = {{0.01f}, 1};
    Flag flags[] = {
        {"--lr", FLAG_FLOAT, &lr, 0, 10, true, NULL, "learning rate"},
        {"--epochs", FLAG_INT, &epochs, 1, INFINITY, false, NULL, "epochs"},
        {"--model", FLAG_STRING, &model, 0, 0, false, NULL, "model path"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none", "plots"},
        {"--quiet", FLAG_BOOL, &quiet, 0, 0, false, NULL, "quiet"},
        {"--lrs", FLAG_FLOAT_LIST, &lrs, 0, 10, true, NULL, "several lr"},
    };
    Cli cli = {"fuzz", "fuzz the parser", "none", "DIR", "fuzz DIR", flags, sizeof flags / sizeof flags[0]};
    const char *positional[2];
    char err[512];
    int n = cli_parse_args(&cli, argc, argv, positional, 2, err, sizeof err);
    if (n >= 0 && !(lr > 0 && lr <= 10 && epochs >= 1)) abort(); // a value that passed must be in range
    for (int i = 0; i < lrs.count && n >= 0; i++)
        if (!(lrs.values[i] > 0 && lrs.values[i] <= 10)) abort();
    free(text);
    return 0;
}
