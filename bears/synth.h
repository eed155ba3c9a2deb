// synth.h — the painter behind `bears synth`: one picture of a black bear, a grizzly, a teddy, or of
// something that is not a bear, drawn from a random stream.
//
// Two sets. The default one is what a careful photographer would bring back: one animal, near the
// middle, filling much of a square frame; bearnet-s gets 2.9% error on it. `--hard` paints what a web
// search brings back instead (issue 14): any size and aspect ratio, the animal small or cut off by the
// frame, off-centre, in other poses, behind branches and fences, among rocks, stumps and other animals,
// with brown black bears, near-black grizzlies and brown teddies outdoors, so colour and background
// stop giving the class away.
#ifndef SGDLAB_BEARS_SYNTH_H
#define SGDLAB_BEARS_SYNTH_H

#include <stdbool.h>

#include "image.h"
#include "rng.h"

typedef enum { SYNTH_BLACK, SYNTH_GRIZZLY, SYNTH_TEDDY, SYNTH_LANDSCAPE, SYNTH_DRAWING } SynthSubject;

// Where the animal the picture is labelled with lies, in output pixels, [x0, x1) x [y0, y1), clipped to
// the picture; all zero when there is none (landscapes, drawings). Tests measure scale and placement
// with it.
typedef struct {
    int x0, y0, x1, y1;
} SynthBox;

// Paint one picture into out (allocated here). The default set: side x side pixels (1 in 20 is 1.5x
// larger). The hard set: from 0.6 to 2 times side on its long edge, aspect ratios from 9:16 to 16:9.
// The same stream state gives the same picture. False only when out of memory.
bool synth_paint(SynthSubject subject, bool hard, int side, Rng *r, Image *out, SynthBox *box);

// The same photograph found again on another site: trimmed a little at the edges, resized, a little
// brighter or darker. Replaces *img.
bool synth_near_duplicate(Image *img, Rng *r);

#endif
