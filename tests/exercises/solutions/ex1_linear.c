// Exercise 1 — lab01's gradient and its update, written by hand.
//
// The model is y_hat = x@a (a line: a[0] is the slope, a[1] the intercept, because column 1 of x
// is all ones), the loss is the mean squared error, and its gradient, by the chain rule once on
// paper, is
//     d loss / d a_j = 2/n * sum over i of x[i][j] * (y_hat_i - y_i)
// Check it: build/bin/check-exercise 1
#include "exercises.h"

void linear_gradient(const float *x, const float *y, const float *a, int n, float grad[2]) {
    grad[0] = grad[1] = 0;
    for (int i = 0; i < n; i++) {
        float y_hat = x[2 * i] * a[0] + x[2 * i + 1] * a[1]; // row i of x@a
        // Point i's residual (prediction minus target), then its share of each gradient:
        // add 2/n * x[i][j] * residual into grad[j]. x[i][j] is x[2 * i + j].
        float residual = y_hat - y[i];
        grad[0] += 2.0f / (float)n * x[2 * i] * residual;
        grad[1] += 2.0f / (float)n * x[2 * i + 1] * residual;
    }
}

void linear_update(float a[2], const float grad[2], float lr) {
    // One step of gradient descent: move each a[j] against its gradient, lr times as far.
    a[0] -= lr * grad[0];
    a[1] -= lr * grad[1];
}
