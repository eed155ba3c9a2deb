// test_optim — optimisers against their formulas, worked out here in double precision, and the
// schedules' shapes: one-cycle's start, peak and end, momentum opposite, the LR ramp exponential.
#include <math.h>

#include "autograd.h"
#include "check.h"
#include "grad_ops.h"
#include "optim.h"
#include "schedule.h"

enum { P = 3 }; // parameters in the hand-checked tests

// A bowl with a different steepness per coordinate: loss = 1/2 sum h_i w_i^2, so g_i = h_i w_i.
static const double h[P] = {1.0, 4.0, 0.5};

static void set_bowl_gradient(Tensor *w) {
    if (!w->grad) w->grad = tensor_zeros(SHAPE(P));
    for (int i = 0; i < P; i++) w->grad->data[i] = (float)(h[i] * w->data[i]);
}

// SGD with momentum on a quadratic reaches its minimum, through the tape like a real loop.
static void test_sgd_converges(void) {
    Tensor *w = tensor_from(SHAPE(P), (float[]){2, -3, 1}),
           *target = tensor_from(SHAPE(P), (float[]){0.5f, 1, -2});
    w->requires_grad = true;
    Optimizer *opt = sgd_create(&w, 1, 0.2f, 0.9f, 0.0f);
    float first = 0, last = 0;
    for (int step = 0; step < 300; step++) {
        Tensor *loss = mse(w, target);
        if (step == 0) first = loss->data[0];
        last = loss->data[0];
        backward(loss);
        optimizer_step(opt);
        optimizer_zero_grad(opt);
        tape_reset();
    }
    printf("sgd lr 0.2 momentum 0.9 on mse(w, target): loss %g -> %g, w = (%g, %g, %g)\n", first, last,
           w->data[0], w->data[1], w->data[2]);
    for (int i = 0; i < P; i++) CHECK_NEAR(w->data[i], target->data[i], 1e-4);
    optimizer_free(opt);
    tensor_free(w), tensor_free(target);
}

// Three steps of SGD with momentum and weight decay, lr changed between steps, against
//     g = h*w + wd*w;  buf = momentum*buf + g;  w -= lr*buf.
static void test_sgd_formula(void) {
    const float lrs[3] = {0.1f, 0.05f, 0.2f}, momentum = 0.9f, wd = 0.01f;
    double want[P] = {1.0, -2.0, 3.0}, buf[P] = {0};
    Tensor *w = tensor_from(SHAPE(P), (float[]){1, -2, 3});
    Optimizer *opt = sgd_create(&w, 1, lrs[0], momentum, wd);
    float worst = 0;
    for (int step = 0; step < 3; step++) {
        set_bowl_gradient(w);
        opt->lr = lrs[step];
        optimizer_step(opt);
        for (int i = 0; i < P; i++) {
            double g = h[i] * want[i] + (double)wd * want[i];
            buf[i] = momentum * buf[i] + g;
            want[i] -= lrs[step] * buf[i];
            worst = fmaxf(worst, fabsf(w->data[i] - (float)want[i]));
        }
    }
    printf("sgd momentum %g, wd %g, lr %g/%g/%g: w = (%.6f, %.6f, %.6f), formula (%.6f, %.6f, %.6f), off by "
           "%g\n",
           momentum, wd, lrs[0], lrs[1], lrs[2], w->data[0], w->data[1], w->data[2], want[0], want[1],
           want[2], worst);
    CHECK(worst <= 1e-6f, "SGD differs from its formula by %g", worst);
    optimizer_free(opt);
    tensor_free(w);
}

// Three steps of AdamW, beta1 changed between steps (as one-cycle does), against PyTorch's formula.
static void test_adamw_formula(void) {
    const float lr = 0.01f, beta1s[3] = {0.9f, 0.85f, 0.95f}, beta2 = 0.999f, eps = 1e-8f, wd = 0.1f;
    double want[P] = {1.0, -2.0, 3.0}, m[P] = {0}, v[P] = {0};
    Tensor *w = tensor_from(SHAPE(P), (float[]){1, -2, 3});
    Tensor *frozen = tensor_from(SHAPE(1), (float[]){5}); // no gradient ever reaches it
    Optimizer *opt = adamw_create((Tensor *[]){w, frozen}, 2, lr, beta1s[0], beta2, eps, wd);
    float worst = 0;
    for (int t = 1; t <= 3; t++) {
        double b1 = beta1s[t - 1];
        set_bowl_gradient(w);
        opt->momentum = beta1s[t - 1];
        optimizer_step(opt);
        for (int i = 0; i < P; i++) {
            double g = h[i] * want[i];
            want[i] -= (double)lr * wd * want[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = beta2 * v[i] + (1 - beta2) * g * g;
            double m_hat = m[i] / (1 - pow(b1, t)), v_hat = v[i] / (1 - pow(beta2, t));
            want[i] -= lr * m_hat / (sqrt(v_hat) + eps);
            worst = fmaxf(worst, fabsf(w->data[i] - (float)want[i]));
        }
    }
    printf("adamw lr %g wd %g: w = (%.6f, %.6f, %.6f), formula (%.6f, %.6f, %.6f), off by %g; frozen %g\n",
           lr, wd, w->data[0], w->data[1], w->data[2], want[0], want[1], want[2], worst, frozen->data[0]);
    CHECK(worst <= 1e-6f, "AdamW differs from its formula by %g", worst);
    CHECK(frozen->data[0] == 5.0f, "a parameter without a gradient moved to %g", frozen->data[0]);
    optimizer_free(opt);
    tensor_free(w), tensor_free(frozen);
}

// optimizer_step must not record anything, and must leave grad mode as it found it.
static void test_step_records_nothing(void) {
    Tensor *w = tensor_from(SHAPE(P), (float[]){1, 2, 3});
    w->requires_grad = true;
    Optimizer *opt = sgd_create(&w, 1, 0.1f, 0.0f, 0.0f);
    tape_reset();
    backward(sum(w));
    int before = tape_length();
    optimizer_step(opt);
    printf("tape length %d before optimizer_step, %d after; grad mode %s\n", before, tape_length(),
           grad_enabled() ? "on" : "off");
    CHECK(tape_length() == before && grad_enabled(), "optimizer_step recorded or left grad mode off");
    optimizer_zero_grad(opt);
    CHECK(w->grad->data[0] == 0 && w->grad->data[2] == 0, "optimizer_zero_grad left a gradient");
    tape_reset();
    optimizer_free(opt);
    tensor_free(w);
}

static void test_one_cycle(void) {
    const float lr_max = 0.01f;
    Schedule s = schedule_one_cycle(lr_max);
    for (int total = 101; total <= 1000; total += 899) { // the peak exactly on a step, and between steps
        ScheduleValue start = schedule_at(&s, 0, total), end = schedule_at(&s, total - 1, total);
        int peak = 0;
        float peak_lr = 0;
        bool shape_ok = true;
        for (int step = 0; step < total; step++) {
            ScheduleValue v = schedule_at(&s, step, total);
            if (v.lr > peak_lr) peak_lr = v.lr, peak = step;
            if (step > 0) { // lr and momentum move in opposite directions (or stand still together)
                ScheduleValue prev = schedule_at(&s, step - 1, total);
                shape_ok &= (v.lr - prev.lr) * (v.momentum - prev.momentum) <= 0;
            }
        }
        double peak_at = s.pct_start * (total - 1);
        ScheduleValue at_peak = schedule_at(&s, peak, total);
        printf("one-cycle over %d steps: lr %g -> peak %g at step %d -> %g; momentum %g -> %g -> %g\n", total,
               start.lr, peak_lr, peak, end.lr, start.momentum, at_peak.momentum, end.momentum);
        CHECK_NEAR(start.lr, lr_max / s.div, 1e-9);
        CHECK(fabs(peak - peak_at) <= 1.0, "peak at step %d, expected near %g", peak, peak_at);
        CHECK_NEAR(peak_lr, lr_max, lr_max * 1e-4);
        CHECK_NEAR(end.lr, lr_max / (s.div * s.div_final), 1e-12);
        CHECK_NEAR(start.momentum, s.momentum_max, 1e-6);
        CHECK_NEAR(at_peak.momentum, s.momentum_min, 1e-4);
        CHECK_NEAR(end.momentum, s.momentum_max, 1e-6);
        CHECK(shape_ok, "over %d steps lr and momentum moved the same way somewhere", total);
    }
    // Cosine, not linear: a quarter of the way into the warm-up the lr has climbed less than a quarter.
    ScheduleValue quarter = schedule_at(&s, 25, 401); // t = 1/16, a quarter of pct_start
    double linear = lr_max / s.div + 0.25 * (lr_max - lr_max / s.div);
    printf("one-cycle a quarter into warm-up: %g (a straight line would give %g)\n", quarter.lr, linear);
    CHECK(quarter.lr < linear, "warm-up is not a cosine: %g >= %g", quarter.lr, linear);
    Schedule c = schedule_constant(0.1f, 0.9f);
    ScheduleValue c0 = schedule_at(&c, 0, 10), c9 = schedule_at(&c, 9, 10);
    CHECK(c0.lr == 0.1f && c9.lr == 0.1f && c0.momentum == 0.9f && c9.momentum == 0.9f,
          "constant schedule moved");
}

static void test_lr_ramp(void) {
    const float start = 1e-7f, end = 10.0f;
    const int n = 100;
    double ratio = pow(end / start, 1.0 / (n - 1)), worst = 0;
    for (int i = 1; i < n; i++)
        worst = fmax(worst, fabs(lr_ramp(start, end, i, n) / lr_ramp(start, end, i - 1, n) / ratio - 1));
    printf("lr ramp: %g -> %g in %d steps, each %g times the last (largest relative deviation %g)\n",
           lr_ramp(start, end, 0, n), lr_ramp(start, end, n - 1, n), n, ratio, worst);
    CHECK_NEAR(lr_ramp(start, end, 0, n), start, 1e-12);
    CHECK_NEAR(lr_ramp(start, end, n - 1, n), end, 1e-5);
    CHECK(worst < 1e-5, "successive ratios differ from %g by up to %g", ratio, worst);
}

int main(void) {
    test_sgd_converges();
    test_sgd_formula();
    test_adamw_formula();
    test_step_records_nothing();
    test_one_cycle();
    test_lr_ramp();
    return check_done("test_optim");
}
