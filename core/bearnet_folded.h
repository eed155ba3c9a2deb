// bearnet_folded.h — between bearnet.c and bearnet_eval.c: the inference pass with batchnorm folded
// into the convs (bearnet.h says what it computes).
#ifndef SGDLAB_BEARNET_FOLDED_H
#define SGDLAB_BEARNET_FOLDED_H

#include "bearnet.h"

// bearnet_features in eval mode with grad off; x already checked by it.
Tensor *bearnet_features_folded(BearNet *m, Tensor *x);

#endif
