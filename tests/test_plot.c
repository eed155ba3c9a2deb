// test_plot — the tic labels of a log axis read like learning rates (1e-7 ... 10), not 0.0000001.
#include <string.h>

#include "check.h"
#include "plot.h"

static void label_is(int exponent, const char *want) {
    char got[32];
    plot_log_tic_label(exponent, got, sizeof got);
    CHECK(strcmp(got, want) == 0, "10^%d is labelled '%s', want '%s'", exponent, got, want);
    printf("10^%d -> %s\n", exponent, got);
}

int main(void) {
    // bears lr-find's default range, --start 1e-7 to --end 10.
    label_is(-7, "1e-7");
    label_is(-4, "1e-4");
    label_is(-3, "0.001");
    label_is(-1, "0.1");
    label_is(0, "1");
    label_is(1, "10");
    label_is(4, "10000");
    label_is(5, "1e5");
    return check_done("test_plot");
}
