// bearnet_folded.h — between bearnet.c and bearnet_eval.c: the inference forward with batchnorm folded
// into the convs (bearnet.h says what it computes).
#ifndef SGDLAB_BEARNET_FOLDED_H
#define SGDLAB_BEARNET_FOLDED_H

#include "bearnet.h"

// x already checked by bearnet_forward; eval mode, grad off.
Tensor *bearnet_forward_folded(BearNet *m, Tensor *x);
// Frees the folded weights, if any (bearnet_free).
void bearnet_drop_folded(BearNet *m);

#endif
