// verdict.h — how the exercise checker compares your numbers with the right ones and says why
// they differ, in words, instead of a bare assertion.
#ifndef SGDLAB_EXERCISE_VERDICT_H
#define SGDLAB_EXERCISE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "rng.h"

// How to name an element: "da" with shape (4,3) prints da[2][1].
typedef struct {
    const char *name;
    int rank;
    int shape[4];
} Layout;

// A wrong answer a learner is likely to give, worked out by the checker, and what to say when
// yours matches it (values has as many numbers as the layout).
typedef struct {
    const double *values;
    const char *hint;
} Mistake;

size_t layout_numel(const Layout *l);

// Prints "  NAME: right ..." or "  NAME: wrong ..." (which element, by how much, and a hint) and
// returns whether got matches want. Mistakes are tried in order before the generic diagnosis
// (all zeros, a sign flip, a constant factor, else the worst element).
bool verdict(const Layout *l, const float *got, const double *want, const Mistake *mistakes, int n_mistakes);

// d f / d p[i] for every i, by central differences: (f(p + eps) - f(p - eps)) / 2eps, in double.
// f reads the parameters through p (it is called with p[i] nudged) and ctx.
typedef double (*ScalarFn)(void *ctx);
void finite_differences(double *grad, float *p, size_t n, ScalarFn f, void *ctx, double eps);

// Fresh arrays for building mistakes (freed together by scratch_free_all at exit).
double *scratch(size_t n);
double *scaled(const double *v, size_t n, double factor); // factor * v
double *plus(const double *v, size_t n, double c);        // v + c
void scratch_free_all(void);
float *random_floats(size_t n, float lo, float hi, Rng *rng); // also freed by scratch_free_all

// The checks, one per exercise (check1.c ...): each prints its findings and returns true if right.
bool check_exercise_1(Rng *rng);
bool check_exercise_2(Rng *rng);
bool check_exercise_3(Rng *rng);
bool check_exercise_4(Rng *rng);
bool check_exercise_5(Rng *rng);
bool check_exercise_6(Rng *rng);

#endif
