// Exercise 1: lab01's gradient 2/n X^T (Xa - y) and the update a -= lr * grad.
#include <math.h>
#include <stdio.h>

#include "exercises.h"
#include "verdict.h"

enum { N_POINTS = 50 };

typedef struct {
    const float *x, *y;
    float *a;
    int n;
} LineFit;

// mean((x@a - y)^2) in double: the function whose slope the gradient must be.
static double line_loss(void *ctx) {
    const LineFit *f = ctx;
    double sum = 0;
    for (int i = 0; i < f->n; i++) {
        double r = (double)f->x[2 * i] * f->a[0] + (double)f->x[2 * i + 1] * f->a[1] - f->y[i];
        sum += r * r;
    }
    return sum / f->n;
}

// lab01 itself, run with your two functions: 100 steps at lr 0.1 from the guess (-1, 1).
static bool run_lab01(void) {
    Rng rng;
    rng_seed(&rng, 42, 0);
    Tensor *x = tensor_ones(SHAPE(100, 2));
    tensor_column_uniform_(x, 0, -1.0f, 1.0f, &rng);
    float y[100], a[2] = {-1.0f, 1.0f}, grad[2];
    for (int i = 0; i < 100; i++) y[i] = 3.0f * x->data[2 * i] + 2.0f + 0.25f * rng_normal(&rng);
    LineFit f = {x->data, y, a, 100};
    double start = line_loss(&f);
    for (int step = 0; step < 100; step++) {
        linear_gradient(x->data, y, a, 100, grad);
        linear_update(a, grad, 0.1f);
    }
    double end = line_loss(&f);
    tensor_free(x);
    bool ok = end < 0.1 && fabsf(a[0] - 3.0f) < 0.3f && fabsf(a[1] - 2.0f) < 0.3f;
    printf("  lab01 with your functions, 100 steps at lr 0.1: loss %.4f -> %.4f, a = (%.3f, %.3f)%s\n", start,
           end, (double)a[0], (double)a[1], ok ? "" : "  (it should end near (3, 2), loss about 0.06)");
    return ok;
}

bool check_exercise_1(Rng *rng) {
    printf("exercise 1: lab01's gradient and update, on %d random points, against finite differences\n",
           N_POINTS);
    float *x = random_floats(2 * N_POINTS, -1, 1, rng), *y = random_floats(N_POINTS, -2, 6, rng);
    for (int i = 0; i < N_POINTS; i++) x[2 * i + 1] = 1.0f; // the column of ones: a[1] is the intercept
    float *a = random_floats(2, -2, 2, rng), grad[2] = {0, 0};
    LineFit f = {x, y, a, N_POINTS};
    double *want = scratch(2);
    finite_differences(want, a, 2, line_loss, &f, 1e-2);

    linear_gradient(x, y, a, N_POINTS, grad);
    const double n = N_POINTS;
    double *swapped = scratch(2);
    swapped[0] = want[1], swapped[1] = want[0];
    Mistake grad_slips[] = {
        {scaled(want, 2, -1), "the sign is flipped: the residual is prediction minus target, y_hat - y. With "
                              "y - y_hat the update would climb the hill instead of going down it."},
        {scaled(want, 2, 2), "your gradient is twice too big: where does the 2 in 2/n come from? It is the "
                             "derivative of the square, and it appears once."},
        {scaled(want, 2, 0.5), "your gradient is half the right one: the derivative of residual^2 is "
                               "2 * residual, so the 2 in 2/n must stay."},
        {scaled(want, 2, n), "your gradient is n times too big: the loss is a mean, so each point's share is "
                             "divided by n."},
        {scaled(want, 2, n / 2), "your gradient is n/2 times too big: the loss is the mean of the squares, "
                                 "so each share is 2/n * x * residual (both the 2 and the /n)."},
        {swapped, "grad[0] and grad[1] are swapped: grad[j] multiplies the residual by column j of x "
                  "(x[2*i + j]); column 1 is the ones, so grad[1] is the intercept's."},
    };
    bool ok = verdict(&(Layout){"grad", 1, {2}}, grad, want, grad_slips, 6);

    float before[2] = {a[0], a[1]}, g[2] = {0.7f, -1.3f}, lr = 0.1f;
    double new_a[2] = {before[0] - lr * g[0], before[1] - lr * g[1]};
    double *uphill = scratch(2), *no_lr = scratch(2), *unchanged = scratch(2), *only_step = scratch(2);
    for (int j = 0; j < 2; j++)
        uphill[j] = before[j] + lr * g[j], no_lr[j] = before[j] - g[j], unchanged[j] = before[j],
        only_step[j] = -lr * g[j];
    linear_update(a, g, lr);
    Mistake update_slips[] = {
        {unchanged, "a did not move: the update is a[j] -= lr * grad[j], in place."},
        {uphill, "you stepped uphill: adding the gradient climbs the hill. Subtract it: a -= lr * grad."},
        {no_lr,
         "the whole gradient was taken as the step: multiply it by the learning rate lr first. That is "
         "why there is an lr at all."},
        {only_step, "a was replaced by the step itself: the step is added to the old a (a -= lr * grad), "
                    "not written over it."},
    };
    ok &= verdict(&(Layout){"a after the update (lr 0.1)", 1, {2}}, a, new_a, update_slips, 4);
    if (!ok) return false;
    if (!run_lab01()) return false;
    printf("  You just wrote gradient descent: the derivative of the mean squared error, by hand, and a step "
           "against it. That is all of lab01, and the same update trains the bear classifier.\n");
    return true;
}
