// schedule.h — learning-rate (and momentum) schedules: pure functions of (step, total).
//
// A training loop asks for the values of this step and hands them to the optimiser:
//
//     Schedule s = schedule_one_cycle(3e-3f);   // fastai's fit_one_cycle defaults
//     for (int step = 0; step < total; step++) {
//         ScheduleValue v = schedule_at(&s, step, total);
//         opt->lr = v.lr, opt->momentum = v.momentum;
//         ...
//     }
//
// one-cycle (Leslie Smith; fastai's fit_one_cycle): for the first pct_start of the steps the lr
// climbs from lr_max/div to lr_max, then it falls to lr_max/(div*div_final); both halves follow a
// cosine, so the lr changes slowly near the ends and fast in the middle. Momentum goes the other
// way, momentum_max -> momentum_min -> momentum_max: while the lr is high, less momentum keeps
// the steps from compounding. Step 0 gives the start values, step total-1 the end values.
//
// lr_ramp is the LR finder's schedule: from `start` to `end` growing by the same factor every step,
//     lr_i = start * (end / start)^(i / (n - 1)),
// so on a log-scale axis the tried learning rates are evenly spaced.
#ifndef SGDLAB_SCHEDULE_H
#define SGDLAB_SCHEDULE_H

typedef struct {
    float lr, momentum;
} ScheduleValue;

typedef enum { SCHEDULE_CONSTANT, SCHEDULE_ONE_CYCLE } ScheduleKind;

typedef struct {
    ScheduleKind kind;
    float lr_max;       // constant: the lr
    float div;          // one-cycle starts at lr_max / div (fastai 25)
    float div_final;    // and ends at lr_max / (div * div_final) (fastai 1e5)
    float pct_start;    // fraction of the steps spent warming up (fastai 0.25)
    float momentum_max; // constant: the momentum; one-cycle: start and end (fastai 0.95)
    float momentum_min; // one-cycle: momentum at the peak lr (fastai 0.85)
} Schedule;

Schedule schedule_constant(float lr, float momentum);
// fastai's defaults around lr_max; change the fields afterwards for other shapes.
Schedule schedule_one_cycle(float lr_max);
// The lr and momentum for step `step` of `total` (0 <= step < total).
ScheduleValue schedule_at(const Schedule *s, int step, int total);
// The i-th of n learning rates spaced evenly on a log scale from start to end (LR finder).
float lr_ramp(float start, float end, int i, int n);
// The LR finder's suggestion: the index of the steepest descent of the smoothed loss against log(lr), in
// the part of the curve before its lowest point (past it the slope only means trouble); -1 when the loss
// never fell. *lowest gets the lowest point's index. The first LR_FIND_SKIP points are left out of both,
// as fastai's suggestion leaves them out (skip_start=10): a smoothed loss that has averaged only a few
// noisy minibatches yet makes its steepest "descent" out of noise at the very first, useless lrs.
enum { LR_FIND_SKIP = 10 };
int lr_find_suggest(const float *lr, const float *smoothed, int n, int *lowest);

#endif
