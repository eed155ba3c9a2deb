// fuzz_apply.c — the parser of the list `bears clean DIR --apply FILE` reads: any bytes either give a
// plan whose every path is [train/|valid/]CLASS/NAME (the split prefix: a folder with its own split)
// of a known class and whose relabels name a known class, or fail
// with a message that names a line; never a crash.
#include <stdint.h>
#include <string.h>

#include "clean.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const classes[] = {"black", "grizzly", "teddy"};
    ApplyPlan plan;
    char err[512];
    if (!clean_parse_apply((const char *)data, size, classes, 3, &plan, err, sizeof err)) {
        // every refusal says where (or that the list is empty)
        if (strncmp(err, "line ", 5) != 0 && strncmp(err, "the list is empty", 17) != 0) __builtin_trap();
        return 0;
    }
    for (int i = 0; i < plan.n; i++) {
        const ApplyItem *a = &plan.items[i];
        const char *slash = strchr(a->path + clean_split_length(a->path), '/');
        if (!slash || strchr(slash + 1, '/') || slash[1] == '.' || !slash[1]) __builtin_trap();
        if (a->action == CLEAN_RELABEL && (a->cls < 0 || a->cls >= 3)) __builtin_trap();
    }
    apply_plan_free(&plan);
    return 0;
}
