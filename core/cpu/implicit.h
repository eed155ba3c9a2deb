// implicit.h — what the implicit-im2col convolution's files share: the block sizes, the taps and their
// lane masks, and the machinery implicit.c defines (read that file first: it explains the method and
// holds the forward) and implicit_backward.c reuses for dW and dX. The register-blocked kernels are the
// only code that depends on the CPU's vectors: kernels_avx512.c (16 lanes, 32 registers) or
// kernels_avx2.c (8 lanes, 16 registers), whichever the compiler targets (core/CMakeLists.txt).
// Private to core/cpu/; conv.c sees only conv_fast.h.
#ifndef SGDLAB_IMPLICIT_H
#define SGDLAB_IMPLICIT_H

#include <stdbool.h>
#include <stdint.h>

#include "conv.h"

// M is taken 8 rows at a time and K in slices of at most K_BLOCK; a column block is 3 vectors, 48
// pixels on AVX-512 (24 on AVX2). AVX2's slice keeps its panel in L1 beside the weights it meets. On
// AVX-512 a panel of 160 k (30 KB) and its 5 KB of weights did not fit a Zen 4's 32 KB L1 either, and
// slices of 768 (a 147 KB panel, in L2) made every ResNet product 4-9% faster there than 160: each slice
// costs a pass over out (see fast_product_cols). 160 had been sized for the 48 KB L1 of the Intel parts
// earlier sessions had; 768 is measured on the Zen 4 only. AVX2 ran no faster there with longer slices. dW's
// kernel takes WG_ROWS rows of dY by WG_COLS taps, WG_CHUNK pixels at a time; the transpose goes in square
// tiles of TRANSPOSE_TILE.
enum { ROW_BLOCK = 8, WG_COLS = 6, WG_CHUNK = 1024 };
#ifdef __AVX512F__
enum { K_BLOCK = 768, COL_BLOCK = 48, WG_ROWS = 4, TRANSPOSE_TILE = 16 };
#else
enum { K_BLOCK = 160, COL_BLOCK = 24, WG_ROWS = 2, TRANSPOSE_TILE = 8 };
#endif

// A thread's panel scratch: one block's columns of one slice of K.
enum { PANEL_FLOATS = K_BLOCK * COL_BLOCK };

// The first n bits of a 16-bit lane mask (all 16 for n >= 16, none for n <= 0).
static inline uint16_t lane_bits(int n) {
    return n >= 16 ? 0xffff : n <= 0 ? 0 : (uint16_t)((1u << n) - 1);
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
// Does this CPU's kernel beat im2col + OpenBLAS on a batch of N with these weights (OC x K)? Each
// column block of the product passes over all the weights. On AVX-512 a block is 48 pixels and every
// conv goes. On AVX2 it is 24, and once a batch's weights outgrow L2 (ResNet's 128- to 512-channel
// layers: 0.6-9 MB) they come from L3 for every 24 pixels, where OpenBLAS's packed sgemm reads them once
// per large block (bench-conv --n 16 --c 256 --size 14 --oc 256 on a Zen 3: 40-60 against 64-100
// GFLOP/s). Batch 1 still goes: there the threads split one image, which im2col + sgemm do not
// (ResNet-18's batch-1 training step 264 -> 208-226 ms with its big layers on this path).
static inline bool fast_weights(int OC, int K, int N) {
#ifdef __AVX512F__
    (void)OC, (void)K, (void)N;
    return true;
#else
    return N == 1 || (long long)OC * K <= 1 << 16;
#endif
}

// The weights' row block. On AVX-512 it is a tile's 8 rows, whose weights are then one contiguous run.
// With plain W^T (K,M) there, consecutive k were M floats apart, a page apart every one or two k for 256
// to 512 rows: ResNet's layer4 at batch 1 took 4.25 ms, 2.34 ms in blocks (bench-conv --n 1 --c 512 --size 7
// --oc 512 --threads 2, a Zen 4). AVX2's 4-row tiles stay on plain W^T (B = M), which an AVX2 build ran
// faster on the same machine: layer4 3.2-3.5 ms against 4.4-4.6 in blocks of 8, ResNet-34's batch-1
// frozen step 19-20 against 17 img/s.
static inline int wt_rows(int M) {
#ifdef __AVX512F__
    (void)M;
    return ROW_BLOCK;
#else
    return M;
#endif
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

// The kernels (kernels_avx512.c or kernels_avx2.c, where each is explained):
// out (M,Q) = (or +=) W @ the taps, columns [p0, p1) or all Q, then the epilogue e. W (M,K) comes as wt,
// in row blocks of B = wt_rows(M): the K x B transpose of each block of B rows, one block after the
// other, so that weight (m,k) is at wt[(m / B) * K * B + k * B + m % B] (fast_pack_rows).
void fast_product_cols(float *out, const float *wt, const Tap *taps, int M, int K, int Q, int p0, int p1,
                       bool accumulate, const ConvEpilogue *e, float *panel);
static inline void fast_product(float *out, const float *wt, const Tap *taps, int M, int K, int Q,
                                bool accumulate, const ConvEpilogue *e, float *panel) {
    fast_product_cols(out, wt, taps, M, K, Q, 0, Q, accumulate, e, panel);
}
// dw[i*K + j*kstride] += the dot product of rows y[i] and c[j] over n pixels (lanes where mask is set),
// for i < mo <= WG_ROWS and j < mk <= WG_COLS: one tile of implicit_backward.c's weight gradient.
void fast_wgrad_tile(float *dw, int K, int kstride, int mo, int mk, const float **y, const float **c,
                     const uint16_t *mask, int n);
// even[j] = src[2j], odd[j] = src[2j+1] for j < n (odd may be NULL), and back: dst[2j] (+)= even[j],
// dst[2j+1] (+)= odd[j] (odd NULL: zeros).
void fast_split_pairs(float *even, float *odd, const float *src, int n);
void fast_join_pairs(float *dst, const float *even, const float *odd, int n, bool accumulate);
// One TRANSPOSE_TILE square of t (rows t_stride apart) = a's columns (rows a_stride apart); lanes 8..15 of
// each of t's rows go half floats after its lanes 0..7 (8 in a plain transpose; AVX2's tile is 8 wide).
void fast_transpose_tile(float *t, size_t t_stride, size_t half, const float *a, size_t a_stride);
// The machinery (implicit.c):
// Groups of small images, and the stride's phases.
int fast_group_count(const ConvShape *s, int threads);
int fast_group_first(int g, int groups, int N);
int fast_tap_shift(int k, const ConvShape *s);
int fast_tap_phase(int k, const ConvShape *s);
bool fast_phase_used(int a, int KH, const ConvShape *s);
const float *fast_phase_planes(float *xq, const float *x, int nb, const ConvShape *s);
const float *fast_group_rows(float *dst, const float *src, int nb, int M, int P);
void fast_ungroup_rows(float *dst, const float *src, int nb, int M, int P, bool accumulate);
// Bits [q0, q1) of the words set (the others kept).
void fast_set_bits(uint16_t *bits, int q0, int q1);
// Masks and taps; for_dx asks for the opposite shifts.
Masks fast_masks_build(const ConvShape *s, int nb, bool for_dx);
void fast_masks(Masks *m, const ConvShape *s, int nb, bool for_dx);
const uint16_t *fast_mask_of(const Masks *m, int dh, int dw);
void fast_forward_taps(Tap *taps, const float *xq, int nb, const ConvShape *s, const Masks *m);
Scratch *fast_scratch_alloc(int threads, const ConvShape *s, int nb);
// t (cols, rows) = a (rows, cols)^T, on the threads when it is large; returns t.
float *fast_transpose(float *t, const float *a, int rows, int cols);
// t = a (rows, cols) as the products' wt, in row blocks of wt_rows(rows) (rows: a multiple of 8); returns t.
float *fast_pack_rows(float *t, const float *a, int rows, int cols);

#endif
