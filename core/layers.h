// layers.h — the neural-network layers of a convnet, as ops that record on the tape.
//
// Fitting 2 numbers (lab01) and 300 000 numbers (bearnet-s) is the same SGD: a forward pass
// makes a loss, backward() finds d loss / d every parameter, the optimiser takes a step. What
// changes is only the list of ops between input and loss. These are that list for an image
// classifier, each a forward function here and a backward function in layers.c / conv.c:
//
//     Tensor *h = conv2d(x, w, NULL, 1, 1);                  // (N,3,32,32) -> (N,16,32,32)
//     h = batchnorm2d_relu(h, &bn, true);                    // normalise per channel, then max(0,.)
//     h = global_avg_pool(h);                                // (N,16,32,32) -> (N,16)
//     Tensor *loss = cross_entropy(linear(h, fc_w, fc_b), labels);
//     backward(loss);
//
// Conventions (the same as PyTorch, so a PyTorch state_dict loads unchanged):
//   * images are NCHW: (batch, channels, height, width), row-major;
//   * a linear weight is (out, in), a conv weight is (OC, IC, KH, KW);
//   * every result is a step tensor (autograd.h): never tensor_free it, tape_reset() does;
//   * backward adds (+=) into the gradients of the inputs that require grad.
#ifndef SGDLAB_LAYERS_H
#define SGDLAB_LAYERS_H

#include <math.h>
#include <stdbool.h>

#include "rng.h"
#include "tensor.h"

// Batchnorm's training statistics in blocks of whole planes of a channel: for each, a centre near the
// block's mean and the sums of (x - centre) and (x - centre)^2 (batchnorm.c combines the blocks).
// Gathered by the conv before the batchnorm, each block while the conv's output for it is in cache
// (conv2d_moments), or by batchnorm itself. blocks == 0: not gathered.
typedef struct ChannelMoments {
    int blocks, C;
    int *planes;                    // planes (images) in each block
    float *centre, *sum_d, *sum_dd; // (blocks, C), in the step arena
} ChannelMoments;

// ---- fully connected ----
// x (N,in), w (out,in), b (out) or NULL -> (N,out):  y = x @ w^T + b
Tensor *linear(Tensor *x, Tensor *w, Tensor *b);

// ---- convolution (conv.c) ----
// x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL -> (N,OC,OH,OW), OH = (H + 2*padding - KH)/stride + 1.
// Zero padding, square stride. Computed as im2col + one sgemm per image, or on AVX-512 or AVX2 CPUs by
// the same products without writing col out (see conv.c).
Tensor *conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int padding);
// conv2d that also gathers each output channel's moments for a training-mode batchnorm after it, a few
// images at a time while they are in cache (layer_loops.h): that batchnorm then skips a pass over memory.
Tensor *conv2d_moments(Tensor *x, Tensor *w, Tensor *b, int stride, int padding, ChannelMoments *mo);

// ---- batch normalisation ----
// The learnable part (weight = gamma, bias = beta) and the running statistics (buffers, not
// trained by SGD but saved with the model), each of shape (C).
typedef struct {
    Tensor *weight, *bias;
    Tensor *running_mean, *running_var;
} BatchNorm2d;
enum { BN_NUM_TENSORS = 4 };
#define BN_MOMENTUM 0.1f // running = (1 - momentum) * running + momentum * batch statistic
#define BN_EPS      1e-5f
// Channel c's normalisation and affine as one multiply-add, y = x*k + shift, from the statistics mean and
// var (the batch's or the running ones): batchnorm.c's forward and fold.c's folding into a conv.
static inline void batchnorm_affine(const BatchNorm2d *bn, int c, float mean, float var, float *invstd,
                                    float *k, float *shift) {
    *invstd = 1.0f / sqrtf(var + BN_EPS);
    *k = bn->weight->data[c] * *invstd;
    *shift = bn->bias->data[c] - mean * *k;
}

// x (N,C,H,W) -> same shape: y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c.
// training: mean/var of this batch over (N,H,W) (biased var), and the running statistics move
//           toward them (running var uses the unbiased var, as PyTorch does);
// eval:     the running statistics, so one image's answer does not depend on its batch-mates.
Tensor *batchnorm2d(Tensor *x, const BatchNorm2d *bn, bool training);
// relu(batchnorm2d(x)) in one pass over memory (the pair follows nearly every conv).
Tensor *batchnorm2d_relu(Tensor *x, const BatchNorm2d *bn, bool training);
// relu(batchnorm2d(x) + skip): the end of a residual block in one pass (skip: x's shape).
Tensor *batchnorm2d_add_relu(Tensor *x, const BatchNorm2d *bn, Tensor *skip, bool training);
// Any of the three (relu, or skip: _add_relu) from the moments the conv before gathered (conv2d_moments;
// NULL or none gathered: computed here as those do). in_place: written over x, which must be off the
// tape: a frozen body's forward (resnet.c), where x is a conv's output that nothing reads again.
Tensor *batchnorm2d_from(Tensor *x, const BatchNorm2d *bn, bool training, bool relu, Tensor *skip,
                         const ChannelMoments *mo, bool in_place);

// ---- activations, pooling, shapes ----
Tensor *relu(Tensor *x);                // any shape: max(x, 0)
Tensor *add_relu(Tensor *a, Tensor *b); // same shapes: relu(a + b), a residual join (bearnet fuses it)
// x (N,C,H,W) -> (N,C,OH,OW), OH = (H + 2*padding - k)/stride + 1: the largest value of each k x k
// window; padding (at most k/2) never wins. ResNet's stem uses k 3, stride 2, padding 1.
Tensor *max_pool2d(Tensor *x, int k, int stride, int padding);
Tensor *global_avg_pool(Tensor *x); // (N,C,H,W) -> (N,C): the mean of each channel's plane
Tensor *flatten(Tensor *x);         // (N,...) -> (N, rest), sharing x's data
// Training: zero each element with probability p and scale the rest by 1/(1-p) (so the expected
// value is unchanged); eval or p == 0: x itself. The mask comes from rng.
Tensor *dropout(Tensor *x, float p, Rng *rng, bool training);

// ---- loss ----
// logits (N,C), labels N ints in [0,C) -> a scalar (rank 0): mean over the batch of
// -log softmax(logits)[label], computed with a stable log-sum-exp.
Tensor *cross_entropy(Tensor *logits, const int *labels);
// The same against a target distribution per row, targets (N,C) with rows summing to 1:
// mean over rows of -sum_c targets[c] * log softmax(logits)[c]. With one-hot rows it is
// cross_entropy(); label smoothing and mixup make softer rows (bears/augment.h).
Tensor *cross_entropy_soft(Tensor *logits, const float *targets);

// ---- for code that defines layers ----
// The gradient of t that a backward function is about to fill. If it does not exist yet and t is
// a step tensor, it is created uninitialised and *fresh is set: the caller then writes (=) every
// element instead of adding (+=). Backward visits a tensor's users newest first, so the first one
// writes and the others add; no activation-sized array is zeroed only to be added to.
float *grad_to_fill(Tensor *t, bool *fresh);

#endif
