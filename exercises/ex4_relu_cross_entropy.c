// Exercise 4 — the backward of ReLU and of cross-entropy (ReLU's as in core/layers.c; cross-entropy's
// as its one-hot case: layers.c subtracts any target row, which is how label smoothing and mixup work).
//
// relu: y = max(x, 0). Its slope is 1 where the input was positive and 0 elsewhere, and y > 0
// tells us which inputs were positive.
// cross-entropy: loss = mean over rows n of -log softmax(z_n)[label_n]. Its gradient with respect
// to the logits z is famously simple: the softmax minus the one-hot label, for each row.
// Check it: build/bin/check-exercise 4
#include "exercises.h"

void my_relu_backward(float *dx, const float *y, const float *dy, size_t n) {
    for (size_t i = 0; i < n; i++) {
        // dx += dy times relu's slope at this element.
        /* YOUR CODE HERE */
    }
}

// dloss_scale is d (final loss) / d (this cross-entropy): the chain rule's outer factor.
void my_cross_entropy_backward(float *dz, const float *softmax, const int *labels, int N, int C,
                               float dloss_scale) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            // dz[n][c] (at dz[n * C + c]) += its share: mind the mean over the N rows.
            /* YOUR CODE HERE */
        }
}
