// check.h — the smallest test harness: CHECK(cond, fmt...) records a failure and carries on,
// CHECK_NEAR compares floats with a tolerance, and check_done() prints the tally and returns the
// exit code for main. A test that cannot fail is a defect, so every check prints what it compared.
#ifndef SGDLAB_CHECK_H
#define SGDLAB_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures, check_count;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        check_count++;                                                                                       \
        if (!(cond)) {                                                                                       \
            check_failures++;                                                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                  \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fprintf(stderr, "\n");                                                                           \
        }                                                                                                    \
    } while (0)

// |a - b| <= tol, and both finite.
#define CHECK_NEAR(a, b, tol)                                                                                \
    CHECK(isfinite((double)(a)) && isfinite((double)(b)) && fabs((double)(a) - (double)(b)) <= (tol),        \
          "%s = %.9g, %s = %.9g, tolerance %g", #a, (double)(a), #b, (double)(b), (double)(tol))

static inline int check_done(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
