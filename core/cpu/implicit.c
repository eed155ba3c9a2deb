// implicit.c — the fast path for convolution on CPUs with AVX-512 or AVX2: implicit im2col, and the
// forward.
//
// Read core/conv.c first: it defines the convolution, computes it by im2col + sgemm, and calls
// conv2d_fast_forward (the end of this file) and conv2d_fast_backward (implicit_backward.c), which
// take the convs they can and decline the rest (conv_fast.h). The two files do the same products as
// conv.c without ever writing col out, in two small register-blocked kernels (the product of W with the
// taps, and the weight gradient's tile), in kernels_avx512.c or kernels_avx2.c: about 2x OpenBLAS on
// the convs bearnet-s uses on AVX-512. They are compiled in only when the compiler targets one of the
// two (core/CMakeLists.txt).
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "conv_fast.h"
#include "implicit.h"
#include "layer_loops.h"

// ---------------------------------------------------------------------------------------------
// implicit im2col
//
// im2col writes K = C*KH*KW shifted copies of the image, and the product then reads them all.
// They are not needed. For a "same-size" conv (3x3 stride 1 padding 1, say) output pixel q =
// i*OW + j of tap (kh,kw) reads input pixel q + dh*OW + dw, with (dh,dw) = (kh,kw) - padding: row k
// of col is the input plane itself, read from an offset, with zeros where (i+dh, j+dw) falls
// outside the image. Masked vector loads (AVX-512's take a 16-bit lane mask, AVX2's a vector of
// them) read nothing for the lanes switched off, so the kernels read each tap straight from the image through
// a mask that says which of 16 pixels are inside: no copies, no padding.
//
// A stride-s conv becomes such a conv once the image is split into its s*s phases: phase (a,b)
// holds every s-th pixel from (a,b), an OH x OW plane when H and W are multiples of s. Tap (kh,kw)
// reads phase ((kh-p) mod s, (kw-p) mod s), shifted by dh = floor((kh-p)/s), dw likewise.
//
// Small images go in groups of nb, their planes one after the other per channel, so that q =
// n*P + i*OW + j runs over the group (P = OH*OW): the sums over pixels in the weight gradient
// stay long (an 8x8 image alone has 64). Groups and the phases of stride > 1 cost one copy of the
// input. (A tap's start can lie before its plane, or a shifted dY row past the last one: such
// addresses are only formed, never read, as their lanes are masked off.)

// floor(a / b) and a - b*floor(a / b) for b > 0 (C's / and % round towards zero)
static int floor_div(int a, int b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static int floor_mod(int a, int b) {
    return a - b * floor_div(a, b);
}

// Bits [q0, q1) of the words.
void fast_set_bits(uint16_t *bits, int q0, int q1) {
    for (int q = q0; q < q1; q = (q / 16 + 1) * 16) {
        int end = (q / 16 + 1) * 16 < q1 ? (q / 16 + 1) * 16 : q1;
        bits[q / 16] |= (uint16_t)(lane_bits(end - q) << (q % 16));
    }
}

static Masks masks_alloc(int OH, int OW, int nb, int lo_h, int hi_h, int lo_w, int hi_w) {
    Masks m = {lo_h, lo_w, hi_h - lo_h + 1, hi_w - lo_w + 1, (nb * OH * OW + 15) / 16, NULL};
    m.bits = step_alloc(sizeof(uint16_t) * (size_t)m.nh * m.nw * m.words);
    return m;
}

// The words of pixels [q0, q1) of every shift (q0 a multiple of 16, q1 too or the group's end), so
// that threads splitting the pixels in whole vectors can each fill their own.
static void masks_fill(const Masks *m, int OH, int OW, int nb, int q0, int q1) {
    int P = OH * OW, w0 = q0 / 16, w1 = (q1 + 15) / 16;
    for (int dh = m->lo_h; dh < m->lo_h + m->nh; dh++)
        for (int dw = m->lo_w; dw < m->lo_w + m->nw; dw++) {
            uint16_t *bits = m->bits + ((size_t)(dh - m->lo_h) * m->nw + (dw - m->lo_w)) * m->words;
            memset(bits + w0, 0, sizeof(uint16_t) * (size_t)(w1 - w0));
            // the pixels j of row i with j + dw inside: one run of bits, set a word at a time
            int j0 = dw < 0 ? -dw : 0, j1 = dw > 0 ? OW - dw : OW;
            for (int n = 0; n < nb; n++)
                for (int i = 0; i < OH; i++) {
                    int a = n * P + i * OW + j0, b = n * P + i * OW + j1;
                    a = a > q0 ? a : q0, b = b < q1 ? b : q1;
                    if (i + dh >= 0 && i + dh < OH && a < b) fast_set_bits(bits, a, b);
                }
        }
}

const uint16_t *fast_mask_of(const Masks *m, int dh, int dw) {
    return m->bits + ((size_t)(dh - m->lo_h) * m->nw + (dw - m->lo_w)) * m->words;
}

// ---------------------------------------------------------------------------------------------
// groups, phases and taps

// Images per group: about GROUP_PIXELS pixels, and a group count the threads share evenly.
// Image n of N is in group n*groups/N.
enum { GROUP_PIXELS = 1024 };
int fast_group_count(const ConvShape *s, int threads) {
    int per = GROUP_PIXELS / (s->OH * s->OW);
    if (per < 1) per = 1;
    int groups = (s->N + per - 1) / per;
    groups = (groups + threads - 1) / threads * threads;
    return groups < s->N ? groups : s->N;
}
int fast_group_first(int g, int groups, int N) {
    return (int)((long long)g * N / groups);
}

// The shift of tap kh: (kh - padding) = stride*dh + phase.
int fast_tap_shift(int k, const ConvShape *s) {
    return floor_div(k - s->padding, s->stride);
}
int fast_tap_phase(int k, const ConvShape *s) {
    return floor_mod(k - s->padding, s->stride);
}

// Does some tap read phase row (or column) a? (A 1x1 stride-2 conv reads phase 0 only.)
bool fast_phase_used(int a, int KH, const ConvShape *s) {
    for (int k = 0; k < KH; k++)
        if (fast_tap_phase(k, s) == a) return true;
    return false;
}

// The group's input as planes xq[a,b][c][n] (OH*OW each): phase (a,b) of channel c of image n, rows
// [i0, i1) of each plane.
static void phase_rows(float *xq, const float *x, int nb, const ConvShape *s, int i0, int i1) {
    int st = s->stride, P = s->OH * s->OW;
    for (int a = 0; a < st; a++) {
        if (!fast_phase_used(a, s->KH, s)) continue;
        // image by image, reading each one straight through: channel by channel across the images
        // jumped C planes at every step, and the copy was 4% of a 7x7 layer's forward (16 images
        // of 512 channels: thousands of 196-byte runs, each on a page of its own)
        for (int n = 0; n < nb; n++)
            for (int c = 0; c < s->C; c++) {
                const float *xc = x + ((size_t)n * s->C + c) * s->H * s->W;
                float *q = xq + (((size_t)a * st * s->C + c) * nb + n) * P; // phase (a, 0)
                size_t next = (size_t)s->C * nb * P;                        // to phase (a, b+1)
                if (st == 1) {
                    memcpy(q + i0 * s->OW, xc + i0 * s->W, sizeof(float) * (size_t)(i1 - i0) * s->OW);
                } else if (st == 2) {
                    bool odd = fast_phase_used(1, s->KW, s);
                    for (int i = i0; i < i1; i++)
                        fast_split_pairs(q + i * s->OW, odd ? q + next + i * s->OW : NULL,
                                         xc + (size_t)(2 * i + a) * s->W, s->OW);
                } else {
                    for (int b = 0; b < st; b++)
                        for (int i = i0; i < i1; i++)
                            for (int j = 0; j < s->OW; j++)
                                q[b * next + i * s->OW + j] = xc[(size_t)(i * st + a) * s->W + j * st + b];
                }
            }
    }
}
// All of them; with stride 1 and one image that is the image itself, so nothing is copied.
const float *fast_phase_planes(float *xq, const float *x, int nb, const ConvShape *s) {
    if (s->stride == 1 && nb == 1) return x;
    phase_rows(xq, x, nb, s, 0, s->OH);
    return xq;
}

// (nb, M, P) -> (M, nb*P) and back: a group's images side by side in each channel's row.
const float *fast_group_rows(float *dst, const float *src, int nb, int M, int P) {
    if (nb == 1) return src;
    for (int n = 0; n < nb; n++)
        for (int m = 0; m < M; m++)
            memcpy(dst + ((size_t)m * nb + n) * P, src + ((size_t)n * M + m) * P, sizeof(float) * (size_t)P);
    return dst;
}
void fast_ungroup_rows(float *dst, const float *src, int nb, int M, int P, bool accumulate) {
    for (int m = 0; m < M; m++) // src in order: it was just written, and is in cache as far as it fits
        for (int n = 0; n < nb; n++) {
            float *d = dst + ((size_t)n * M + m) * P;
            const float *v = src + ((size_t)m * nb + n) * P;
            if (accumulate)
                for (int p = 0; p < P; p++) d[p] += v[p];
            else
                memcpy(d, v, sizeof(float) * (size_t)P);
        }
}

// Masks for every shift the taps use (dx asks for the opposite shifts), for groups of nb images:
// allocated, or built.
static Masks masks_alloc_for(const ConvShape *s, int nb, bool for_dx) {
    int lo_h = fast_tap_shift(0, s), hi_h = fast_tap_shift(s->KH - 1, s);
    int lo_w = fast_tap_shift(0, s), hi_w = fast_tap_shift(s->KW - 1, s);
    return for_dx ? masks_alloc(s->OH, s->OW, nb, -hi_h, -lo_h, -hi_w, -lo_w)
                  : masks_alloc(s->OH, s->OW, nb, lo_h, hi_h, lo_w, hi_w);
}
Masks fast_masks_build(const ConvShape *s, int nb, bool for_dx) {
    Masks m = masks_alloc_for(s, nb, for_dx);
    masks_fill(&m, s->OH, s->OW, nb, 0, nb * s->OH * s->OW);
    return m;
}
// The same for groups of nb and of nb - 1 images (groups differ by one at most): m[0] and m[1].
void fast_masks(Masks *m, const ConvShape *s, int nb, bool for_dx) {
    for (int v = 0; v < 2 && nb - v > 0; v++) m[v] = fast_masks_build(s, nb - v, for_dx);
}

// The forward's K = C*KH*KW taps, in im2col's (c, kh, kw) order, over the planes of xq.
void fast_forward_taps(Tap *taps, const float *xq, int nb, const ConvShape *s, const Masks *m) {
    int P = s->OH * s->OW;
    for (int c = 0; c < s->C; c++)
        for (int kh = 0; kh < s->KH; kh++)
            for (int kw = 0; kw < s->KW; kw++) {
                int dh = fast_tap_shift(kh, s), dw = fast_tap_shift(kw, s);
                int phase = fast_tap_phase(kh, s) * s->stride + fast_tap_phase(kw, s);
                const float *plane = xq + ((size_t)phase * s->C + c) * nb * P;
                *taps++ = (Tap){plane + dh * s->OW + dw, fast_mask_of(m, dh, dw)};
            }
}

// t = a^T, plain (t (cols, rows)) or in the products' row blocks (implicit.h: each block of ROW_BLOCK rows
// of a becomes its (cols, ROW_BLOCK) transpose). In square tiles (16 x 16 on AVX-512, 8 x 8 on AVX2), in
// registers where whole (the ragged edges element by element). Element by element throughout, a
// 512 x 4608 layer4 weight took 2.4 ms on one thread, more than its batch-1 product (1.9 ms); in
// registers 0.8 ms (bench-conv --n 1 --c 512 --size 7 --oc 512: forward minus infer). Bands of rows go to
// the threads: in a training step (the weights move every step, so there is no packed copy to keep) one
// thread transposing alone left the other waiting.
static float *transpose(float *t, const float *a, int rows, int cols, int B) {
    enum { TILE = TRANSPOSE_TILE, PARALLEL_FLOATS = 1 << 16 };
    // where a[r][c] goes in blocks of B rows (B = rows: plain), and so where a tile's upper 8 rows go
#define AT(r, c) (((size_t)(r) / B * cols + (c)) * B + (r) % B)
    size_t half = AT(8, 0);
#pragma omp parallel for schedule(static) if ((size_t)rows * cols >= PARALLEL_FLOATS)
    for (int r0 = 0; r0 < rows; r0 += TILE)
        for (int c0 = 0; c0 < cols; c0 += TILE) {
            if (r0 + TILE <= rows && c0 + TILE <= cols) {
                fast_transpose_tile(t + AT(r0, c0), (size_t)B, half, a + (size_t)r0 * cols + c0,
                                    (size_t)cols);
                continue;
            }
            for (int c = c0; c < c0 + TILE && c < cols; c++)
                for (int r = r0; r < r0 + TILE && r < rows; r++) t[AT(r, c)] = a[(size_t)r * cols + c];
        }
#undef AT
    return t;
}

float *fast_transpose(float *t, const float *a, int rows, int cols) {
    return transpose(t, a, rows, cols, rows);
}

float *fast_pack_rows(float *t, const float *a, int rows, int cols) {
    return transpose(t, a, rows, cols, wt_rows(rows));
}

Scratch *fast_scratch_alloc(int threads, const ConvShape *s, int nb) {
    size_t P = (size_t)s->OH * s->OW, K = (size_t)s->C * s->KH * s->KW, KT = (size_t)s->OC * s->KH * s->KW;
    size_t K_max = K > KT ? K : KT, M_max = s->C > s->OC ? (size_t)s->C : (size_t)s->OC;
    if (K_max < P * nb) K_max = P * nb;          // dW's taps are the group's pixels (implicit_backward.c)
    size_t x_image = (size_t)s->C * s->H * s->W; // tmp holds the s*s phases of dX, too
    Scratch *sc = step_alloc(sizeof(Scratch) * (size_t)threads);
    for (int t = 0; t < threads; t++) {
        sc[t].xq = step_alloc(sizeof(float) * x_image * nb);
        sc[t].dyq = step_alloc(sizeof(float) * (size_t)s->OC * P * nb);
        sc[t].tmp = step_alloc(sizeof(float) * (M_max * P > x_image ? M_max * P : x_image) * nb);
        sc[t].panel = step_alloc(sizeof(float) * PANEL_FLOATS);
        sc[t].taps = step_alloc(sizeof(Tap) * K_max);
    }
    return sc;
}

// ---------------------------------------------------------------------------------------------
// the entry points conv.c calls

float *conv2d_fast_pack(const float *w, int OC, int C, int KH, int KW) {
    int K = C * KH * KW;
    if (!fast_rows(OC)) return NULL;
    return fast_pack_rows(sgd_malloc(sizeof(float) * (size_t)K * OC), w, OC, K);
}

// Batch 1 (inference) on omp_get_max_threads() threads: they share one image. Each takes an equal
// run of whole 16-pixel vectors (AVX-512's blocks of 48 split 8x8 pixels 48 + 16, so the small planes of the
// last layers left one thread waiting), fills its masks and copies the phase rows under it, then,
// after a barrier for the rows a neighbour's taps reach into (none with stride 1: no copy), computes
// its pixels for every output channel with the epilogue. (A plane of fewer vectors than threads
// leaves the rest idle: 4x4 pixels are a few microseconds of work.)
static void forward_one(float *out, const float *x, const float *wt, const ConvEpilogue *e,
                        const ConvShape *s) {
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW, V = (P + 15) / 16, T = omp_get_max_threads();
    Masks m = masks_alloc_for(s, 1, false);
    float *xq = s->stride == 1 ? NULL : step_alloc(sizeof(float) * (size_t)s->C * s->H * s->W);
    Tap *taps = step_alloc(sizeof(Tap) * (size_t)K);
    fast_forward_taps(taps, xq ? xq : x, 1, s, &m); // addresses only: the threads fill what they point to
    float *panels = step_alloc(sizeof(float) * (size_t)T * PANEL_FLOATS);
#pragma omp parallel num_threads(T)
    { // the team may be smaller than asked for (nested, OMP_THREAD_LIMIT): split by its size
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        int q0 = 16 * (V * t / team), q1 = 16 * (V * (t + 1) / team);
        q1 = q1 < P ? q1 : P;
        masks_fill(&m, s->OH, s->OW, 1, q0, q1);
        if (xq) {
            phase_rows(xq, x, 1, s, s->OH * t / team, s->OH * (t + 1) / team);
#pragma omp barrier
        }
        if (q0 < q1)
            fast_product_cols(out, wt, taps, s->OC, K, P, q0, q1, false, e,
                              panels + (size_t)t * PANEL_FLOATS);
    }
}

bool conv2d_fast_forward(float *out, const float *x, const float *w, const float *packed,
                         const ConvEpilogue *e, const ConvShape *s, int threads) {
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    size_t x_image = (size_t)s->C * s->H * s->W, out_image = (size_t)s->OC * P;
    if (!aligned_conv(s) || !fast_rows(s->OC) || !fast_weights(s->OC, K, s->N)) return false;
    // implicit im2col, the register-blocked product
    const float *wt = packed;
    if (!wt) wt = fast_pack_rows(step_alloc(sizeof(float) * (size_t)K * s->OC), w, s->OC, K);
    ChannelMoments *mo = e ? e->moments : NULL;   // gathered by groups, below (not at batch 1)
    if (!conv_epilogue_writes(e)) e = NULL;       // nothing to do to each value
    if (s->N == 1 && omp_get_max_threads() > 1) { // batch 1 (inference): threads share the image
        forward_one(out, x, wt, e, s);
        return true;
    }
    int groups = fast_group_count(s, threads), most = (s->N + groups - 1) / groups;
    Masks m[2];
    fast_masks(m, s, most, false);
    Scratch *sc = fast_scratch_alloc(threads, s, most);
    if (mo) channel_moments_init(mo, groups, s->OC);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int g = 0; g < groups; g++) {
        int n0 = fast_group_first(g, groups, s->N), nb = fast_group_first(g + 1, groups, s->N) - n0;
        const Scratch *z = &sc[omp_get_thread_num()];
        fast_forward_taps(z->taps, fast_phase_planes(z->xq, x + n0 * x_image, nb, s), nb, s, &m[most - nb]);
        float *y = out + n0 * out_image;
        // One image is written straight into out with the epilogue; a group's rows are
        // ungrouped first, and the epilogue then takes one more pass over them.
        ConvEpilogue en = {e ? e->bias : NULL, e && e->skip ? e->skip + n0 * out_image : NULL, e && e->relu,
                           NULL};
        fast_product_cols(nb == 1 ? y : z->tmp, wt, z->taps, s->OC, K, nb * P, 0, nb * P, false,
                          e && nb == 1 ? &en : NULL, z->panel);
        if (nb > 1) fast_ungroup_rows(y, z->tmp, nb, s->OC, P, false);
        if (e && nb > 1) conv_epilogue(y, &en, nb, s->OC, P);
        // a training batchnorm's statistics, while the group's output is in cache (L2 on these parts)
        if (mo) {
            mo->planes[g] = nb;
            for (int o = 0; o < s->OC; o++)
                channel_moments(mo, g, o, y + (size_t)o * P, out_image, nb, (size_t)P,
                                plane_sum(y + (size_t)o * P, (size_t)P) / (float)P);
        }
    }
    return true;
}
