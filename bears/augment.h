// augment.h — data augmentation: fastai's get_transforms() and RandomResizedCrop, TTA, mixup and
// label smoothing, for the pictures `bears train` learns from.
//
// A model that sees the same 2,000 pictures every epoch learns them by heart. Augmentation shows it
// a slightly different picture each time — mirrored, turned, zoomed, tilted, lit differently,
// cropped elsewhere — that is still obviously the same class, so it must learn what makes a
// grizzly a grizzly rather than where its pixels sat.
//
// Every geometric transform is one 3x3 matrix. A view of a picture is the product of them (crop,
// rotation, zoom, warp, flip) and ONE function, augment_render(), samples the stored picture through
// it with bilinear interpolation: nothing is resampled twice, and one line of code decides what
// happens at the edge (mirrored back in, fastai's padding_mode='reflection').
//
// The matrix maps an output pixel, measured from the output's centre, (ox + 0.5 - S/2, oy + 0.5 - S/2, 1),
// to the stored picture's pixel coordinates (x, y, w) (divide by w: the warp is a perspective).
//
//     AugmentView v = augment_draw(&aug, S, L, &rng);    // one picture's random view
//     augment_render(rgb, L, S, &v, mean, std, out);       // out: 3 x S x S floats, normalised
#ifndef SGDLAB_BEARS_AUGMENT_H
#define SGDLAB_BEARS_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef struct {
    bool flip;          // mirror left-right half the time (a bear facing left is still a bear)
    float crop_scale;   // random-resized crop: keep between crop_scale and all of the picture's area, at
                        // an aspect ratio between 3/4 and 4/3 (fastbook's bears: 0.5); 1 = no crop
    float max_rotate;   // turn by up to +-max_rotate degrees (fastai: 10)
    float max_zoom;     // zoom in by 1..max_zoom towards a random point (fastai: 1.1); 1 = none
    float max_warp;     // perspective: tilt by up to +-max_warp of the half-side (fastai: 0.2); 0 = none
    float p_affine;     // each of rotate, zoom and warp happens to a picture with this chance (fastai: 0.75)
    float max_lighting; // brightness and contrast change by up to max_lighting (fastai: 0.2); 0 = none
    float p_lighting;   // each of them happens with this chance (fastai: 0.75)
} Augment;

Augment
augment_default(void);      // flip, crop_scale 0.5625, lighting 0.1; no rotate, zoom or warp (why: augment.c)
Augment augment_none(void); // the validation transform: the centre crop, nothing random

// One picture's view: where its pixels come from and how it is lit.
typedef struct {
    float m[9];       // row-major 3x3: centred output pixel -> stored pixel (homogeneous)
    float brightness; // added to every value in 0..1 units (0: none)
    float contrast;   // values scale about 0.5 by this (1: none)
} AugmentView;

// The transforms of one view, each acting on coordinates q in [-1, 1]^2 across the view (centre 0).
typedef struct {
    double cx, cy, hx, hy; // the crop: its centre and half-sides, in stored pixels
    double angle;          // rotation, radians
    double zoom, zx, zy;   // zoom in by `zoom` (>= 1) towards (zx, zy)
    double warp_x, warp_y; // perspective: w = 1 + warp_x * qx + warp_y * qy
    bool flip;
    float brightness, contrast;
} AugmentTransforms;

// Nothing changed: the centre S x S square of the L x L stored picture (validation and predict).
AugmentTransforms augment_plain_transforms(int size, int stored);
// The one matrix of t for an S x S output.
AugmentView augment_compose(const AugmentTransforms *t, int size);
// augment_compose(augment_plain_transforms(size, stored)).
AugmentView augment_plain(int size, int stored);
// A random view. Draws from rng in a fixed order (so the same seed gives the same view) and only for
// transforms that are on.
AugmentView augment_draw(const Augment *a, int size, int stored, Rng *rng);
// Where output pixel (ox, oy) samples the stored picture (before the edge is mirrored back in).
void augment_map(const AugmentView *v, int size, float ox, float oy, float *sx, float *sy);
// Render picture rgb (L x L x 3, RGB8) through v into out (3 x S x S, C,H,W), then (value - mean) / std.
void augment_render(const uint8_t *rgb, int stored, int size, const AugmentView *v, const float mean[3],
                    const float std[3], float *out);

// ---- test-time augmentation (fastai v1's learn.TTA()) ----
// The prediction for a picture mixes the plain view's probabilities (weight TTA_BETA, fastai's beta)
// with the mean over TTA_VIEWS fixed views (weight 1 - TTA_BETA): the S x S crops at the four corners
// of the stored picture, each as it is and mirrored — views like the training crops, which also move
// about the stored picture (fastai zooms towards the corners instead; at 32 px that cuts off more than
// training ever did, and measured worse). Fixed, not random: the same picture always gets the same
// answer, whoever asks and whatever else is in its batch.
enum { TTA_VIEWS = 8 };
#define TTA_BETA 0.4f
AugmentView augment_tta_view(int k, int size, int stored); // k in [0, TTA_VIEWS)
// probs (n x C) holds the plain view's probabilities; views_sum the sum over the TTA_VIEWS views.
// probs becomes the TTA mixture.
void augment_tta_mix(float *probs, const float *views_sum, int n, int n_classes);

// ---- the targets of the loss: label smoothing and mixup ----
// The loss compares the model's probabilities with a target distribution per picture
// (cross_entropy_soft). Plain training: all of it on the label. Label smoothing (eps) moves eps of it
// evenly over all classes, so the model is never pushed to be infinitely sure (fastai's
// LabelSmoothingCrossEntropy, eps 0.1). Mixup (alpha > 0) blends each picture of the batch with
// another one of the same batch, x = lam * x_i + (1 - lam) * x_j, and its target the same way, lam
// drawn from Beta(alpha, alpha) and kept >= 0.5 (fastai's MixUpCallback, alpha 0.4).
// x is the batch (>= n rows of `row` floats); targets gets n x n_classes.
void augment_targets(float *x, size_t row, const int *labels, int n, int n_classes, float smoothing,
                     float mixup_alpha, Rng *rng, float *targets);

#endif
