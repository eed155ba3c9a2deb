// verdict.c — compare, diagnose, and say it in the lesson's words.
#include "verdict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t layout_numel(const Layout *l) {
    size_t n = 1;
    for (int d = 0; d < l->rank; d++) n *= (size_t)l->shape[d];
    return n;
}

// "da[2][1]" for flat index i.
static void element_name(const Layout *l, size_t i, char *buf, size_t size) {
    int at[4] = {0};
    for (int d = l->rank - 1; d >= 0; d--) at[d] = (int)(i % (size_t)l->shape[d]), i /= (size_t)l->shape[d];
    int len = snprintf(buf, size, "%s", l->name);
    for (int d = 0; d < l->rank && len > 0 && (size_t)len < size; d++)
        len += snprintf(buf + len, size - (size_t)len, "[%d]", at[d]);
}

// The right answer's scale: float rounding in a sum grows with the values, so the tolerance does too.
static double tolerance(const double *want, size_t n) {
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    return 1e-4 + 1e-3 * scale;
}

static bool matches(const float *got, const double *want, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol)) return false; // also false for NaN
    return true;
}

// got == factor * want for one factor? Returns the factor (NAN when no single one fits).
static double common_factor(const float *got, const double *want, size_t n, double tol) {
    double gw = 0, ww = 0;
    for (size_t i = 0; i < n; i++) gw += got[i] * want[i], ww += want[i] * want[i];
    if (ww == 0) return NAN;
    double r = gw / ww;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - r * want[i]) <= tol * fmax(1, fabs(r)))) return NAN;
    return r;
}

bool verdict(const Layout *l, const float *got, const double *want, const Mistake *mistakes, int n_mistakes) {
    size_t n = layout_numel(l);
    double tol = tolerance(want, n);
    char at[64];
    if (matches(got, want, n, tol)) {
        double worst = 0;
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(got[i] - want[i]));
        printf("  %s: right (%zu number%s, largest difference %.2g)\n", l->name, n, n == 1 ? "" : "s", worst);
        return true;
    }
    printf("  %s: wrong, ", l->name);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(got[i])) {
            element_name(l, i, at, sizeof at);
            printf("%s is %g, it should be %.6g.\n    hint: a nan or inf comes from reading memory you never "
                   "wrote (an index outside the array, a padding pixel) or from dividing by zero.\n",
                   at, (double)got[i], want[i]);
            return false;
        }
    for (int k = 0; k < n_mistakes; k++)
        if (matches(got, mistakes[k].values, n, tol)) {
            printf("it matches a common slip.\n    hint: %s\n", mistakes[k].hint);
            return false;
        }
    bool zeros = true;
    for (size_t i = 0; i < n && zeros; i++) zeros = got[i] == 0.0f;
    if (zeros) {
        printf("it is all zeros.\n    hint: the blank is still empty, or nothing is added into %s yet.\n",
               l->name);
        return false;
    }
    // The worst element, and how many are off.
    size_t worst_at = 0, off = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        off += d > tol;
        if (d > fabs(got[worst_at] - want[worst_at])) worst_at = i;
    }
    element_name(l, worst_at, at, sizeof at);
    printf("%s is %.6g, it should be %.6g (off by %+.4g); %zu of %zu numbers are off.\n", at,
           (double)got[worst_at], want[worst_at], got[worst_at] - want[worst_at], off, n);
    double r = common_factor(got, want, n, tol);
    if (fabs(r + 1) < 1e-3)
        printf(
            "    hint: the size is right but the sign is flipped everywhere: a step along this would climb "
            "the hill instead of going down it.\n");
    else if (fabs(r - 2) < 1e-3)
        printf("    hint: every number is twice too big: is a factor 2 counted twice?\n");
    else if (fabs(r - 0.5) < 1e-3)
        printf("    hint: every number is half what it should be: the derivative of r^2 is 2r.\n");
    else if (isfinite(r))
        printf("    hint: every number is %.4g times the right one: a missing or extra constant factor.\n",
               r);
    else if (off < n)
        printf("    hint: %zu numbers are right, so the idea is there: look at the cases that differ.\n",
               n - off);
    else
        printf(
            "    hint: read the formula in the comment above the blank again, one index at a time, and check "
            "each index against the layout of its array.\n");
    return false;
}

void finite_differences(double *grad, float *p, size_t n, ScalarFn f, void *ctx, double eps) {
    for (size_t i = 0; i < n; i++) {
        float saved = p[i];
        p[i] = (float)(saved + eps);
        double up = f(ctx);
        p[i] = (float)(saved - eps);
        double down = f(ctx);
        p[i] = saved;
        // The nudge actually made, in float, not the one asked for.
        grad[i] = (up - down) / ((double)(float)(saved + eps) - (double)(float)(saved - eps));
    }
}

// ---- scratch arrays ----
enum { MAX_SCRATCH = 256 };
static void *blocks[MAX_SCRATCH];
static int n_blocks;

static void *remember(void *p) {
    if (!p || n_blocks == MAX_SCRATCH) {
        fprintf(stderr, "check-exercise: out of scratch memory\n");
        exit(3);
    }
    return blocks[n_blocks++] = p;
}

double *scratch(size_t n) {
    return remember(calloc(n ? n : 1, sizeof(double)));
}

double *scaled(const double *v, size_t n, double factor) {
    double *out = scratch(n);
    for (size_t i = 0; i < n; i++) out[i] = factor * v[i];
    return out;
}

double *plus(const double *v, size_t n, double c) {
    double *out = scratch(n);
    for (size_t i = 0; i < n; i++) out[i] = v[i] + c;
    return out;
}

float *random_floats(size_t n, float lo, float hi, Rng *rng) {
    float *out = remember(malloc((n ? n : 1) * sizeof(float)));
    for (size_t i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng_uniform(rng);
    return out;
}

void scratch_free_all(void) {
    while (n_blocks) free(blocks[--n_blocks]);
}
