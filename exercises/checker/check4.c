// Exercise 4: ReLU's backward and cross-entropy's backward.
#include <math.h>
#include <stdio.h>

#include "exercises.h"
#include "verdict.h"

enum { RELU_N = 24, ROWS = 4, CLASSES = 3 };
#define EARLIER 0.5f // what each gradient held before: backward must add to it
#define OUTER   1.5f // d final loss / d cross-entropy, the chain rule's outer factor

typedef struct {
    const float *x, *dy;
} Relu;

static double weighted_relu(void *ctx) { // sum dy * relu(x)
    const Relu *r = ctx;
    double sum = 0;
    for (int i = 0; i < RELU_N; i++) sum += (double)r->dy[i] * fmax(r->x[i], 0.0);
    return sum;
}

typedef struct {
    const float *z;
    const int *labels;
} Logits;

static double outer_cross_entropy(void *ctx) { // OUTER * mean_n (logsumexp(z_n) - z_n[label_n])
    const Logits *l = ctx;
    double total = 0;
    for (int n = 0; n < ROWS; n++) {
        const float *z = l->z + n * CLASSES;
        double sum = 0;
        for (int c = 0; c < CLASSES; c++) sum += exp(z[c]);
        total += log(sum) - z[l->labels[n]];
    }
    return OUTER * total / ROWS;
}

static bool check_relu(Rng *rng) {
    float *x = random_floats(RELU_N, 0.1f, 1.0f, rng), *dy = random_floats(RELU_N, -1, 1, rng), y[RELU_N];
    for (int i = 0; i < RELU_N; i++) {
        if (rng_below(rng, 2)) x[i] = -x[i]; // about half negative, none near the kink at 0
        y[i] = fmaxf(x[i], 0.0f);
    }
    Relu r = {x, dy};
    double *fd = scratch(RELU_N), *no_mask = scratch(RELU_N), *inverted = scratch(RELU_N),
           *times_y = scratch(RELU_N);
    finite_differences(fd, x, RELU_N, weighted_relu, &r, 0.05);
    for (int i = 0; i < RELU_N; i++)
        no_mask[i] = EARLIER + dy[i], inverted[i] = EARLIER + (y[i] > 0 ? 0 : dy[i]),
        times_y[i] = EARLIER + dy[i] * y[i];
    float dx[RELU_N];
    for (int i = 0; i < RELU_N; i++) dx[i] = EARLIER;
    my_relu_backward(dx, y, dy, RELU_N);
    Mistake slips[] = {
        {plus(scratch(RELU_N), RELU_N, EARLIER), "nothing was added into dx: the blank is still empty."},
        {no_mask, "the gradient went through everywhere: where relu's output is 0 its slope is 0, so nothing "
                  "flows back there. Pass dy only where y > 0."},
        {inverted, "the mask is inverted: the gradient must pass where y > 0 (the slope is 1 there) and stop "
                   "where y is 0."},
        {times_y, "dy was multiplied by y: relu's slope is 1 or 0, not its output."},
        {fd, "dx was overwritten instead of added to: backward adds (+=)."},
    };
    return verdict(&(Layout){"relu dx", 1, {RELU_N}}, dx, plus(fd, RELU_N, EARLIER), slips, 5);
}

static bool check_cross_entropy(Rng *rng) {
    enum { NUM = ROWS * CLASSES };
    float *z = random_floats(NUM, -2, 2, rng), softmax[NUM], dz[NUM];
    int labels[ROWS];
    for (int n = 0; n < ROWS; n++) {
        labels[n] = (int)rng_below(rng, CLASSES);
        double sum = 0;
        for (int c = 0; c < CLASSES; c++) sum += exp(z[n * CLASSES + c]);
        for (int c = 0; c < CLASSES; c++) softmax[n * CLASSES + c] = (float)(exp(z[n * CLASSES + c]) / sum);
    }
    Logits l = {z, labels};
    double *fd = scratch(NUM), *no_onehot = scratch(NUM);
    finite_differences(fd, z, NUM, outer_cross_entropy, &l, 1e-3);
    for (int i = 0; i < NUM; i++) no_onehot[i] = EARLIER + OUTER / ROWS * softmax[i], dz[i] = EARLIER;
    my_cross_entropy_backward(dz, softmax, labels, ROWS, CLASSES, OUTER);
    Mistake slips[] = {
        {plus(scratch(NUM), NUM, EARLIER), "nothing was added into dz: the blank is still empty."},
        {no_onehot,
         "that is the softmax alone: the gradient is the softmax minus the one-hot label, so subtract "
         "1 in the label's column of each row."},
        {plus(scaled(fd, NUM, -1), NUM, EARLIER), "the sign is flipped: it is softmax - onehot (the label's "
                                                  "score must go up, so its gradient is negative)."},
        {plus(scaled(fd, NUM, ROWS), NUM, EARLIER),
         "N times too big: the loss is the mean over the N rows of the "
         "batch, so divide by N."},
        {plus(scaled(fd, NUM, 1 / OUTER), NUM, EARLIER),
         "dloss_scale is missing: the chain rule multiplies by the "
         "outer derivative."},
        {fd, "dz was overwritten instead of added to: backward adds (+=)."},
    };
    return verdict(&(Layout){"cross-entropy dz", 2, {ROWS, CLASSES}}, dz, plus(fd, NUM, EARLIER), slips, 6);
}

bool check_exercise_4(Rng *rng) {
    printf("exercise 4: relu's and cross-entropy's backward, on random inputs, against finite differences\n");
    bool ok = check_relu(rng);
    ok &= check_cross_entropy(rng);
    if (ok)
        printf(
            "  You just wrote the two backward functions at the ends of a classifier: relu lets the gradient "
            "through only where a unit was active, and cross-entropy's gradient is simply the predicted "
            "probabilities minus the right answer.\n");
    return ok;
}
