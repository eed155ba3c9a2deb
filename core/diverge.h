// diverge.h — notice when training blows up, and say what to do about it.
//
// The lesson's rule: if the loss shoots up, the learning rate is too high, and no amount of extra
// training undoes it: lower lr and start again. We call a run diverged when the loss stops being
// a finite number, or when it has grown for `patience` updates in a row.
#ifndef SGDLAB_DIVERGE_H
#define SGDLAB_DIVERGE_H

#include <stdbool.h>

typedef struct {
    int patience;    // consecutive increases that count as divergence
    int rising;      // current run of increases
    float last_loss; // loss at the previous update
    bool started;
} DivergenceWatch;

DivergenceWatch divergence_watch(int patience);
// Feed the loss of each update; true once the run counts as diverged.
bool divergence_check(DivergenceWatch *w, float loss);
// The line every binary prints: "diverged: at step S the loss is L ... lower the learning rate".
void divergence_report(const DivergenceWatch *w, int step, float loss, float lr);

#endif
