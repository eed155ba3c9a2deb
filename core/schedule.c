// schedule.c — constant, one-cycle and the LR finder's exponential ramp.
// Read first: optim.c (the lr these schedules set).
#include "schedule.h"

#include <math.h>

Schedule schedule_constant(float lr, float momentum) {
    return (Schedule){.kind = SCHEDULE_CONSTANT, .lr_max = lr, .momentum_max = momentum};
}

Schedule schedule_one_cycle(float lr_max) {
    return (Schedule){.kind = SCHEDULE_ONE_CYCLE,
                      .lr_max = lr_max,
                      .div = 25.0f,
                      .div_final = 1e5f,
                      .pct_start = 0.25f,
                      .momentum_max = 0.95f,
                      .momentum_min = 0.85f};
}

// From a (pos 0) to b (pos 1) along half a cosine wave: slow at both ends, fastest in the middle.
static double cosine(double a, double b, double pos) {
    return a + (b - a) * (1.0 - cos(M_PI * pos)) / 2.0;
}

ScheduleValue schedule_at(const Schedule *s, int step, int total) {
    if (s->kind == SCHEDULE_CONSTANT) return (ScheduleValue){s->lr_max, s->momentum_max};
    double t = total > 1 ? (double)step / (total - 1) : 0.0; // 0 at the first step, 1 at the last
    t = fmin(fmax(t, 0.0), 1.0);
    double lr_start = s->lr_max / s->div, lr_end = lr_start / s->div_final;
    if (t <= s->pct_start) { // warm-up: lr up, momentum down
        double pos = s->pct_start > 0 ? t / s->pct_start : 1.0;
        return (ScheduleValue){(float)cosine(lr_start, s->lr_max, pos),
                               (float)cosine(s->momentum_max, s->momentum_min, pos)};
    }
    double pos = (t - s->pct_start) / (1.0 - s->pct_start); // annealing: lr down, momentum up
    return (ScheduleValue){(float)cosine(s->lr_max, lr_end, pos),
                           (float)cosine(s->momentum_min, s->momentum_max, pos)};
}

float lr_ramp(float start, float end, int i, int n) {
    if (n <= 1) return start;
    return (float)(start * pow((double)end / start, (double)i / (n - 1)));
}

int lr_find_suggest(const float *lr, const float *smoothed, int n, int *lowest) {
    int first = n > LR_FIND_SKIP ? LR_FIND_SKIP : n - 1, low = first > 0 ? first : 0;
    for (int i = low + 1; i < n; i++)
        if (smoothed[i] < smoothed[low]) low = i;
    *lowest = low;
    int steepest = -1;
    float steepest_slope = 0;
    for (int i = first + 1; i < low; i++) {
        float slope = (smoothed[i] - smoothed[i - 1]) / (logf(lr[i]) - logf(lr[i - 1]));
        if (slope < steepest_slope) steepest_slope = slope, steepest = i;
    }
    return steepest;
}
