// diverge.c — the divergence detector shared by the labs and bears.
// Read first: lab01 (the divergence it detects).
#include "diverge.h"

#include <math.h>
#include <stdio.h>

DivergenceWatch divergence_watch(int patience) {
    return (DivergenceWatch){.patience = patience};
}

bool divergence_check(DivergenceWatch *w, float loss) {
    if (!isfinite(loss)) return true;
    if (w->started && loss > w->last_loss)
        w->rising++;
    else
        w->rising = 0;
    w->started = true;
    w->last_loss = loss;
    return w->rising >= w->patience;
}

void divergence_report(const DivergenceWatch *w, int step, float loss, float lr) {
    if (isfinite(loss))
        printf("diverged: at step %d the loss is %g and has grown %d steps in a row. ", step, loss,
               w->rising);
    else
        printf("diverged: at step %d the loss is no longer a number (%g). ", step, loss);
    printf("The learning rate %g is too high: each step jumps past the minimum and lands higher "
           "than the step before. Lower it (try %g) and start again from the beginning; training longer "
           "will not undo this.\n",
           lr, lr / 10);
}
