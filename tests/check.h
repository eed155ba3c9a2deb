// check.h — the smallest test harness: CHECK(cond, fmt...) records a failure and carries on,
// CHECK_NEAR compares floats with a tolerance, and check_done() prints the tally and returns the
// exit code for main. A test that cannot fail is a defect, so every check prints what it compared.
#ifndef SGDLAB_CHECK_H
#define SGDLAB_CHECK_H

#include <math.h>
#include <stddef.h>
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

// max |a - b| over n values, and max |a| into *scale (NULL: not wanted): a difference is judged against it.
static inline float max_abs_diff(const float *a, const float *b, size_t n, float *scale) {
    float d = 0, m = 0;
    for (size_t i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i])), m = fmaxf(m, fabsf(a[i]));
    if (scale) *scale = m;
    return d;
}

static inline int check_done(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
