// Exercise 2: MSE's forward and backward as a tape op.
#include <math.h>
#include <stdio.h>

#include "autograd.h"
#include "exercises.h"
#include "grad_ops.h"
#include "verdict.h"

enum { ROWS = 3, COLS = 4, NUM = ROWS * COLS };
#define UPSTREAM 3.0f  // the loss the checker backpropagates is 3 * my_mse(p, t): dout = 3
#define EARLIER  0.25f // what each gradient held before (another use of the tensor): backward must add

typedef struct {
    const float *p, *t;
} Pair;

static double mse_of(void *ctx) {
    const Pair *q = ctx;
    double sum = 0;
    for (int i = 0; i < NUM; i++) sum += ((double)q->p[i] - q->t[i]) * ((double)q->p[i] - q->t[i]);
    return sum / NUM;
}

// The slips a backward can make, for the gradient of one input whose true d mse / d input is d.
static void backward_slips(Mistake *m, const double *d, const char *input) {
    static char texts[2][4][200];
    int k = input[0] == 't';
    snprintf(texts[k][0], sizeof texts[k][0],
             "d%s was overwritten (=) instead of added to (+=): a tensor used twice in a model needs both "
             "shares, so backward always adds.",
             input);
    snprintf(texts[k][1], sizeof texts[k][1],
             "d%s ignores dout, d loss / d out: the chain rule multiplies this op's own derivative by it.",
             input);
    m[0] = (Mistake){scaled(d, NUM, UPSTREAM), texts[k][0]};
    m[1] = (Mistake){plus(d, NUM, EARLIER), texts[k][1]};
    m[2] = (Mistake){plus(scaled(d, NUM, 2 * UPSTREAM), NUM, EARLIER),
                     "twice too big: the 2 of d(r^2)/dr = 2r is there once, in 2/n."};
    m[3] = (Mistake){plus(scaled(d, NUM, UPSTREAM / 2), NUM, EARLIER),
                     "half the right size: the derivative of the square (p - t)^2 is 2(p - t); keep the 2."};
    m[4] = (Mistake){plus(scaled(d, NUM, UPSTREAM * NUM), NUM, EARLIER),
                     "n times too big: the loss is a mean, so each element's share is divided by n."};
    m[5] =
        (Mistake){plus(scaled(d, NUM, 0), NUM, EARLIER),
                  "nothing was added: does my_mse_backward write into dp and dt, and is tape_record() still "
                  "there so backward() can find the op?"};
}

bool check_exercise_2(Rng *rng) {
    printf("exercise 2: mse as a tape op, on a random (%d,%d) pair, against finite differences\n", ROWS,
           COLS);
    Tensor *p = tensor_from(SHAPE(ROWS, COLS), random_floats(NUM, -2, 2, rng));
    Tensor *t = tensor_from(SHAPE(ROWS, COLS), random_floats(NUM, -2, 2, rng));
    p->requires_grad = t->requires_grad = true;
    Pair pair = {p->data, t->data};

    // Forward.
    double want = mse_of(&pair), mean_diff = 0, rmse = 0;
    for (int i = 0; i < NUM; i++) mean_diff += ((double)p->data[i] - t->data[i]) / NUM;
    rmse = sqrt(want);
    int before = tape_length();
    Tensor *loss = my_mse(p, t);
    bool recorded = tape_length() > before;
    double sum_slip = want * NUM;
    Mistake forward_slips[] = {
        {&sum_slip, "this is the sum of the squares, n times the loss: MSE is the mean, so divide by n."},
        {&mean_diff, "this is the mean of the differences, not of their squares: square each one first, or "
                     "errors above and below the line cancel out."},
        {&rmse,
         "this is the square root of the MSE (RMSE): the loss here is the mean of the squares itself."},
    };
    bool ok = verdict(&(Layout){"loss", 0, {0}}, loss->data, &want, forward_slips, 3);
    if (!recorded) {
        printf("  tape: my_mse recorded nothing, so backward() cannot reach p and t: keep its tape_record() "
               "line.\n");
        tape_reset(), tensor_free(p), tensor_free(t);
        return false;
    }

    // Backward of 3 * my_mse, into gradients that already hold 0.25.
    double *dp = scratch(NUM), *dt = scratch(NUM);
    finite_differences(dp, p->data, NUM, mse_of, &pair, 1e-2);
    finite_differences(dt, t->data, NUM, mse_of, &pair, 1e-2);
    float *gp = grad_of(p), *gt = grad_of(t);
    for (int i = 0; i < NUM; i++) gp[i] = gt[i] = EARLIER;
    backward(scale(loss, UPSTREAM));
    Mistake p_slips[7], t_slips[7];
    backward_slips(p_slips, dp, "p");
    p_slips[6] =
        (Mistake){plus(scaled(dp, NUM, -UPSTREAM), NUM, EARLIER),
                  "the sign is flipped: d/dp (p - t)^2 = +2(p - t). With the wrong sign SGD climbs the "
                  "hill."};
    backward_slips(t_slips, dt, "t");
    t_slips[6] =
        (Mistake){plus(scaled(dp, NUM, UPSTREAM), NUM, EARLIER),
                  "dt has dp's sign: t enters as -t, so d/dt (p - t)^2 = -2(p - t), the opposite of dp."};
    ok &= verdict(&(Layout){"dp", 2, {ROWS, COLS}}, gp, plus(scaled(dp, NUM, UPSTREAM), NUM, EARLIER),
                  p_slips, 7);
    ok &= verdict(&(Layout){"dt", 2, {ROWS, COLS}}, gt, plus(scaled(dt, NUM, UPSTREAM), NUM, EARLIER),
                  t_slips, 7);
    tape_reset(), tensor_free(p), tensor_free(t);
    if (ok)
        printf("  You just wrote an autograd op: a forward that records itself and a backward that adds its "
               "share by the chain rule. loss.backward() is nothing more than these, run newest first.\n");
    return ok;
}
