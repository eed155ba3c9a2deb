// conv_avx512.h — what the two halves of the AVX-512 convolution share: the block sizes, the taps and
// their lane masks, and the implicit-im2col machinery conv_avx512.c defines (read that file first: it
// explains the method and holds the forward) and conv_avx512_backward.c reuses for dW and dX.
// Private to core/cpu/; conv.c sees only conv_fast.h.
#ifndef SGDLAB_CONV_AVX512_H
#define SGDLAB_CONV_AVX512_H

#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>

#include "conv.h"

// Column blocks are 48 wide (3 vectors); M is taken 8 rows at a time, K in slices of at most 160
// (a 30 KB panel, in L1 beside the weights it meets; see product_cols).
enum { COL_BLOCK = 48, ROW_BLOCK = 8, K_BLOCK = 160 };

// The first n lanes of a vector (all 16 for n >= 16, none for n <= 0).
static inline __mmask16 lanes(int n) {
    return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

// Can the implicit path take this conv? The output must be the (phase) planes' size, and the
// register-blocked product needs whole blocks of 8 rows.
static inline bool aligned_conv(const ConvShape *s) {
    return s->H % s->stride == 0 && s->W % s->stride == 0 && s->OH == s->H / s->stride &&
           s->OW == s->W / s->stride;
}
static inline bool fast_rows(int M) {
    return M % ROW_BLOCK == 0;
}

// One row of the implicit col: where it starts (pixel 0 of the group, shifted by the tap), and
// which lanes are inside the image, one 16-bit word per 16 pixels.
typedef struct {
    const float *src;
    const uint16_t *mask;
} Tap;

// The lane masks of every shift (dh,dw) with dh in [lo_h, lo_h + nh), dw in [lo_w, lo_w + nw),
// for a group of nb images of OH x OW: word w, bit b says whether pixel q = 16w + b, at (i,j)
// of its image, has (i+dh, j+dw) inside that image; pixels past the group read as outside.
typedef struct {
    int lo_h, lo_w, nh, nw, words;
    uint16_t *bits;
} Masks;

// One thread's scratch: the group's phase planes, dY rows and product rows, the panel, the taps.
typedef struct {
    float *xq, *dyq, *tmp, *panel;
    Tap *taps;
} Scratch;

// Defined in conv_avx512.c, where each is explained.
// The product: out (M,Q) = (or +=) wt^T @ the taps, columns [p0, p1) or all Q, then the epilogue e.
void fast_product_cols(float *out, const float *wt, const Tap *taps, int M, int K, int Q, int p0, int p1,
                       bool accumulate, const ConvEpilogue *e, float *panel);
void fast_product(float *out, const float *wt, const Tap *taps, int M, int K, int Q, bool accumulate,
                  const ConvEpilogue *e, float *panel);
// Groups of small images, and the stride's phases.
int fast_group_count(const ConvShape *s, int threads);
int fast_group_first(int g, int groups, int N);
int fast_tap_shift(int k, const ConvShape *s);
int fast_tap_phase(int k, const ConvShape *s);
bool fast_phase_used(int a, int KH, const ConvShape *s);
const float *fast_phase_planes(float *xq, const float *x, int nb, const ConvShape *s);
const float *fast_group_rows(float *dst, const float *src, int nb, int M, int P);
void fast_ungroup_rows(float *dst, const float *src, int nb, int M, int P, bool accumulate);
// Masks and taps; for_dx asks for the opposite shifts.
Masks fast_masks_build(const ConvShape *s, int nb, bool for_dx);
void fast_masks(Masks *m, const ConvShape *s, int nb, bool for_dx);
const uint16_t *fast_mask_of(const Masks *m, int dh, int dw);
void fast_forward_taps(Tap *taps, const float *xq, int nb, const ConvShape *s, const Masks *m);
Scratch *fast_scratch_alloc(int threads, const ConvShape *s, int nb);

#endif
