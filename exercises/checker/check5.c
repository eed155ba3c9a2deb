// Exercise 5: one epoch of minibatch SGD. The checker supplies sgd_update and watches every call.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercises.h"
#include "verdict.h"

enum { N = 103, BS = 10, GUARD = BS, MAX_CALLS = 4 * N };

// What one epoch did, as seen through sgd_update.
static struct {
    int calls, sizes[MAX_CALLS];
    int used[N];        // how often each point was in a minibatch
    int seq[N + GUARD]; // the indices in the order the updates saw them (the first N + GUARD)
    int n_seq;
    bool past_end, too_big; // an index outside [0, N) (read from past the end of order), m > n
} seen;

// lab04's update: grad = 2/m X_b^T (X_b a - y_b), a -= lr * grad. Recording which points it saw.
void sgd_update(float a[2], const float *x1, const float *y, const int *idx, int m, float lr) {
    if (seen.calls < MAX_CALLS) seen.sizes[seen.calls] = m;
    seen.calls++;
    if (m > N) {
        seen.too_big = true;
        return;
    }
    float g0 = 0, g1 = 0;
    int valid = 0;
    for (int k = 0; k < m; k++) {
        int i = idx[k];
        if (seen.n_seq < N + GUARD) seen.seq[seen.n_seq++] = i;
        if (i < 0 || i >= N) {
            seen.past_end = true;
            continue;
        }
        seen.used[i]++, valid++;
        float r = a[0] * x1[i] + a[1] - y[i];
        g0 += x1[i] * r, g1 += r;
    }
    if (valid == 0) return;
    a[0] -= lr * 2.0f / (float)valid * g0;
    a[1] -= lr * 2.0f / (float)valid * g1;
}

// One epoch of the learner's loop; order has GUARD slots of -1 after its n entries.
static void epoch(float a[2], const float *x1, const float *y, int *order, Rng *rng) {
    memset(&seen, 0, sizeof seen);
    sgd_epoch(a, x1, y, order, N, BS, 0.1f, rng);
}

// Says what is wrong with the epoch just run, in words; true when nothing is.
static bool judge(const int *order_before, const int *order_after) {
    static char why[256];
    const char *hint = NULL;
    int total = 0, twice = -1, never = -1, sizes_off = -1;
    for (int i = 0; i < N; i++) {
        total += seen.used[i];
        if (seen.used[i] > 1 && twice < 0) twice = i;
        if (seen.used[i] == 0 && never < 0) never = i;
    }
    for (int k = 0; k + 1 < seen.calls && k < MAX_CALLS; k++)
        if (seen.sizes[k] != BS && sizes_off < 0) sizes_off = k;
    if (seen.calls == 0)
        hint = "no update was made: the loop over the minibatches (step 2) is still blank.";
    else if (seen.too_big)
        hint = "an update asked for more points than there are: a minibatch is at most bs points.";
    else if (seen.past_end)
        hint = "a minibatch ran past the end of order: with n = 103 and bs = 10 the last minibatch has only "
               "n - start = 3 points.";
    else if (seen.calls == 1 && seen.sizes[0] == N)
        hint = "one update with all n points is full-batch gradient descent: SGD takes one update per "
               "minibatch of bs points.";
    else if (total == N - N % BS && never >= 0)
        hint =
            "the last n % bs = 3 points were never used: when n is not a multiple of bs, the last minibatch "
            "is shorter, but it still counts.";
    else if (twice >= 0 || never >= 0) {
        snprintf(
            why, sizeof why,
            "every point belongs in exactly one minibatch per epoch, but point %d was used %d times: step "
            "through order bs points at a time (start, start + bs, ...).",
            twice >= 0 ? twice : never, seen.used[twice >= 0 ? twice : never]);
        hint = why;
    } else if (sizes_off >= 0) {
        snprintf(why, sizeof why, "update %d used %d points: every minibatch but the last has bs = %d.",
                 sizes_off + 1, seen.sizes[sizes_off], BS);
        hint = why;
    } else if (!memcmp(order_after, order_before, N * sizeof(int)))
        hint =
            "the points were not shuffled: without a new random order each epoch, every epoch sees the same "
            "minibatches in the same order. Shuffle order with rng (step 1).";
    else if (memcmp(seen.seq, order_after, N * sizeof(int)))
        hint = "the minibatches are not the slices of the shuffled order: shuffle first, then take "
               "order[0..bs), "
               "order[bs..2bs), ...";
    printf("  epoch: %d updates of %d", seen.calls, seen.calls ? seen.sizes[0] : 0);
    if (seen.calls > 1 && seen.calls <= MAX_CALLS) printf(" ... %d", seen.sizes[seen.calls - 1]);
    if (hint)
        printf(" points; wrong.\n");
    else
        printf(" points; right (%d of %d points and the last of %d, in a new order)\n", N / BS, BS, N % BS);
    if (hint) printf("    hint: %s\n", hint);
    return !hint;
}

// lab04's experiment with your epoch: 1000 points, bs 64, lr 0.1, 10 epochs.
static bool train_lab04(Rng *rng) {
    enum { POINTS = 1000, EPOCHS = 10 };
    float *x1 = random_floats(POINTS, -1, 1, rng), *y = random_floats(POINTS, 0, 0, rng), a[2] = {-1, 1};
    for (int i = 0; i < POINTS; i++) y[i] = 3 * x1[i] + 2 + 0.25f * rng_normal(rng);
    int *order = malloc(POINTS * sizeof(int));
    for (int i = 0; i < POINTS; i++) order[i] = i;
    for (int e = 0; e < EPOCHS; e++) sgd_epoch(a, x1, y, order, POINTS, 64, 0.1f, rng);
    free(order);
    double loss = 0;
    for (int i = 0; i < POINTS; i++)
        loss += (double)(a[0] * x1[i] + a[1] - y[i]) * (a[0] * x1[i] + a[1] - y[i]);
    loss /= POINTS;
    bool ok = loss < 0.1;
    printf("  lab04 with your epoch: 1000 points, bs 64, lr 0.1, %d epochs: a = (%.3f, %.3f), loss %.4f%s\n",
           EPOCHS, (double)a[0], (double)a[1], loss, ok ? "" : " (it should be near the noise floor 0.0625)");
    return ok;
}

bool check_exercise_5(Rng *rng) {
    printf("exercise 5: one epoch of minibatch SGD, n = %d points, bs = %d\n", N, BS);
    float *x1 = random_floats(N, -1, 1, rng), *y = random_floats(N, -1, 5, rng), a[2] = {-1, 1};
    int order[N + GUARD], before[N], first_seq[N];
    for (int i = 0; i < N + GUARD; i++) order[i] = i < N ? i : -1;
    memcpy(before, order, sizeof before);
    epoch(a, x1, y, order, rng);
    if (!judge(before, order)) return false;
    memcpy(first_seq, seen.seq, sizeof first_seq);
    memcpy(before, order, sizeof before);
    epoch(a, x1, y, order, rng);
    if (!judge(before, order)) return false;
    if (!memcmp(first_seq, seen.seq, sizeof first_seq)) {
        printf(
            "    hint: the second epoch saw the same minibatches as the first: shuffle at the start of every "
            "epoch.\n");
        return false;
    }
    if (!train_lab04(rng)) return false;
    printf(
        "  You just wrote the loop that makes gradient descent stochastic: a new order every epoch, and one "
        "cheap step per minibatch instead of one exact step per pass.\n");
    return true;
}
