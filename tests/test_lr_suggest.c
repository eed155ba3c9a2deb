// test_lr_suggest.c — the LR finder's suggestion (lr_find_suggest in core/schedule.h) on curves whose right
// answer is known: a real descent after a noisy start is found, not the noise; a curve that only rises
// after its first minibatches has no suggestion.
#include <stdio.h>

#include "check.h"
#include "schedule.h"

enum { N = 100 };

// A loss flat at a random guess's 1.1 until lr ~1e-4 (point 40), falling to 0.5 by point 70, then
// blowing up; smoothed-loss noise at the start as a few minibatches give it (a dip at point 2).
static void curve(float *lr, float *loss, float noise_dip) {
    for (int i = 0; i < N; i++) {
        lr[i] = lr_ramp(1e-7f, 10.0f, i, N);
        loss[i] = i < 40 ? 1.1f : i < 70 ? 1.1f - 0.02f * (float)(i - 40) : 0.5f + 0.1f * (float)(i - 70);
    }
    loss[1] = 1.3f, loss[2] = 1.3f - noise_dip;
}

int main(void) {
    float lr[N], loss[N];
    int lowest;
    curve(lr, loss, 0.4f);
    int s = lr_find_suggest(lr, loss, N, &lowest);
    printf("noisy start, descent at points 41-70: suggestion %d (lr %g), lowest %d\n", s, s >= 0 ? lr[s] : 0,
           lowest);
    CHECK(s > 40 && s <= 70, "the suggestion is point %d, outside the descent 41..70", s);
    CHECK(lowest == 70, "the lowest point is %d, not 70", lowest);

    // Lowest within the first LR_FIND_SKIP points (the first minibatch happened to be an easy one), then
    // only rising: nothing to suggest, and the lowest point is looked for past the skipped ones too.
    for (int i = 0; i < N; i++) loss[i] = i == 0 ? 0.4f : 1.0f + 0.01f * (float)i;
    s = lr_find_suggest(lr, loss, N, &lowest);
    printf("rising after an easy first minibatch: suggestion %d, lowest %d\n", s, lowest);
    CHECK(s == -1, "a rising curve got suggestion %d", s);
    CHECK(lowest == LR_FIND_SKIP, "lowest %d, wanted the first point not skipped, %d", lowest, LR_FIND_SKIP);

    // Fewer points than are skipped (the loss stopped being a number early): no suggestion, no read past n.
    s = lr_find_suggest(lr, loss, 5, &lowest);
    CHECK(s == -1 && lowest >= 0 && lowest < 5, "5 points: suggestion %d, lowest %d", s, lowest);
    s = lr_find_suggest(lr, loss, 0, &lowest);
    CHECK(s == -1, "no points: suggestion %d", s);
    return check_done("test_lr_suggest");
}
