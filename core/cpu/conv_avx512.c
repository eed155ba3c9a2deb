// conv_avx512.c — the fast path for convolution on CPUs with AVX-512: implicit im2col, and the forward.
//
// Read core/conv.c first: it defines the convolution, computes it by im2col + sgemm, and calls
// conv2d_fast_forward (the end of this file) and conv2d_fast_backward (conv_avx512_backward.c), which
// take the convs they can and decline the rest (conv_fast.h). The two files do the same products as
// conv.c without ever writing col out, in two small register-blocked kernels (the product of W with the
// taps, here, and the weight gradient, in the backward's file), about 2x OpenBLAS on the convs bearnet-s
// uses. They are compiled in only when the compiler targets AVX-512 (core/CMakeLists.txt).
#include "conv_avx512.h"
#include "conv_fast.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"

// ---------------------------------------------------------------------------------------------
// the fast path on CPUs with AVX-512: implicit im2col
//
// im2col writes K = C*KH*KW shifted copies of the image, and the product then reads them all.
// They are not needed. For a "same-size" conv (3x3 stride 1 padding 1, say) output pixel q =
// i*OW + j of tap (kh,kw) reads input pixel q + dh*OW + dw, with (dh,dw) = (kh,kw) - padding: row k
// of col is the input plane itself, read from an offset, with zeros where (i+dh, j+dw) falls
// outside the image. AVX-512 loads take a 16-bit lane mask and read nothing for the lanes
// switched off, so the kernels read each tap straight from the image through a mask that says
// which of 16 pixels are inside: no copies, no padding.
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
static void set_bits(uint16_t *bits, int q0, int q1) {
    for (int q = q0; q < q1; q = (q / 16 + 1) * 16) {
        int end = (q / 16 + 1) * 16 < q1 ? (q / 16 + 1) * 16 : q1;
        bits[q / 16] |= (uint16_t)(lanes(end - q) << (q % 16));
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
                    if (i + dh >= 0 && i + dh < OH && a < b) set_bits(bits, a, b);
                }
        }
}

const uint16_t *fast_mask_of(const Masks *m, int dh, int dw) {
    return m->bits + ((size_t)(dh - m->lo_h) * m->nw + (dw - m->lo_w)) * m->words;
}

// ---------------------------------------------------------------------------------------------
// the product kernel (the weight gradient's is in conv_avx512_backward.c)
//
// OpenBLAS does ~60 GFLOP/s per core on these shapes: it must use its AVX2 kernels here
// (OPENBLAS_CORETYPE=Haswell), and M (channels, 16..128) is small next to what it is tuned for.
// A plain register-blocked AVX-512 kernel does about twice that.

// Forward-shaped product: 8 rows x (16*nv) columns of out, from wt (K,M) (W transposed: the 8
// weights for one k are adjacent) and col. Each step over k multiplies 8 broadcast weights by 3
// vectors of col into 24 accumulators that stay in registers for the whole sum. col comes from a
// packed panel (K, 48) or, when from_panel is false, straight from the taps at column p: for 8
// rows (one tile per block of columns) the panel would be read once only. (From 16 rows on the
// panel pays: the taps' loads are unaligned, masked and spread over C*KH planes, and a second tile
// reading them again ran at half the speed of one reading the panel, bench-conv --n 1 --c 16
// --size 128 --oc 16 on the EPYC these sessions get.) from_panel and nv are constants at each
// call, so the loops unroll and the choice is made at compile time.
static inline __attribute__((always_inline)) void
product_tile(float *out, int Q, const float *wt, int M, bool from_panel, const float *panel, const Tap *taps,
             int p, int K, int nv, const __mmask16 *mask, bool accumulate, const float *bias,
             const float *skip, bool relu) {
    __m512 acc[ROW_BLOCK][3];
    for (int i = 0; i < ROW_BLOCK; i++)
        for (int j = 0; j < nv; j++) acc[i][j] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++, wt += M) {
        __m512 b[3];
        for (int j = 0; j < nv; j++)
            b[j] = from_panel ? _mm512_load_ps(panel + k * COL_BLOCK + 16 * j)
                              : _mm512_maskz_loadu_ps(_load_mask16((__mmask16 *)&taps[k].mask[p / 16 + j]),
                                                      taps[k].src + p + 16 * j);
        for (int i = 0; i < ROW_BLOCK; i++) {
            __m512 w = _mm512_set1_ps(wt[i]);
            for (int j = 0; j < nv; j++) acc[i][j] = _mm512_fmadd_ps(w, b[j], acc[i][j]);
        }
    }
    for (int i = 0; i < ROW_BLOCK; i++)
        for (int j = 0; j < nv; j++) {
            float *o = out + (size_t)i * Q + 16 * j;
            if (accumulate) acc[i][j] = _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(mask[j], o));
            // the epilogue (conv.h) while the sums are still in registers, in conv_epilogue's order
            if (bias) acc[i][j] = _mm512_add_ps(acc[i][j], _mm512_set1_ps(bias[i]));
            if (skip)
                acc[i][j] =
                    _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(mask[j], skip + (size_t)i * Q + 16 * j));
            if (relu) acc[i][j] = _mm512_max_ps(acc[i][j], _mm512_setzero_ps());
            _mm512_mask_storeu_ps(o, mask[j], acc[i][j]);
        }
}

// The tiles of M rows over one block of nv vectors of columns; e (NULL: none) is applied on the way out.
static inline __attribute__((always_inline)) void
product_rows(float *out, int Q, const float *wt, int M, bool from_panel, const float *panel, const Tap *taps,
             int p, int K, int nv, const __mmask16 *mask, bool accumulate, const ConvEpilogue *e) {
    for (int m = 0; m < M; m += ROW_BLOCK) {
        float *o = out + (size_t)m * Q + p;
        const float *bias = e && e->bias ? e->bias + m : NULL,
                    *skip = e && e->skip ? e->skip + (size_t)m * Q + p : NULL;
        bool relu = e && e->relu;
        if (nv == 3)
            product_tile(o, Q, wt + m, M, from_panel, panel, taps, p, K, 3, mask, accumulate, bias, skip,
                         relu);
        else if (nv == 2)
            product_tile(o, Q, wt + m, M, from_panel, panel, taps, p, K, 2, mask, accumulate, bias, skip,
                         relu);
        else
            product_tile(o, Q, wt + m, M, from_panel, panel, taps, p, K, 1, mask, accumulate, bias, skip,
                         relu);
    }
}

// out (M,Q) = (or +=) wt^T @ col, wt (K,M), col given as K taps, then the epilogue e (NULL: none;
// its skip laid out as out); panel: K_BLOCK*48 floats of scratch.
// Columns [p0, p1) only (p0 a multiple of 16): a batch-1 forward splits the pixels over threads.
void fast_product_cols(float *out, const float *wt, const Tap *taps, int M, int K, int Q, int p0, int p1,
                       bool accumulate, const ConvEpilogue *e, float *panel) {
    for (int p = p0; p < p1; p += COL_BLOCK) {
        int width = p1 - p < COL_BLOCK ? p1 - p : COL_BLOCK, nv = (width + 15) / 16;
        __mmask16 mask[3];
        for (int j = 0; j < 3; j++) mask[j] = lanes(width - 16 * j);
        if (M <= ROW_BLOCK) {
            product_rows(out, Q, wt, M, false, NULL, taps, p, K, nv, mask, accumulate, e);
            continue;
        }
        // This block of col, built in a contiguous panel: the taps' masked loads put the zeros
        // of the padding in, and consecutive k are then 192 bytes apart instead of a plane apart.
        // A long K goes in equal slices of at most K_BLOCK, so that the panel stays in L1 for every
        // row tile and no slice is a short rest that pays a pass over out for a few k (K = 144, a
        // 16-channel 3x3, is one slice). (K = 0, a dX phase no tap reads, still makes one pass: it
        // writes the zeros.)
        int slices = K > K_BLOCK ? (K + K_BLOCK - 1) / K_BLOCK : 1;
        int slice = K > 0 ? (K + slices - 1) / slices : 1;
        for (int k0 = 0; k0 == 0 || k0 < K; k0 += slice) {
            int kn = K - k0 < slice ? K - k0 : slice;
            for (int k = 0; k < kn; k++) {
                for (int j = 0; j < nv; j++)
                    _mm512_store_ps(
                        panel + k * COL_BLOCK + 16 * j,
                        _mm512_maskz_loadu_ps(taps[k0 + k].mask[p / 16 + j], taps[k0 + k].src + p + 16 * j));
                // The next block's pixels of this tap, asked for now: with 16 or 32 channels a panel
                // feeds only 2-4 row tiles, and waiting for its lines to come from L2 took a third
                // of the product's time (perf annotate of bench-conv --c 16 --size 64 --oc 16).
                for (int j = 0; j < 3; j++)
                    _mm_prefetch((const char *)(taps[k0 + k].src + p + COL_BLOCK + 16 * j), _MM_HINT_T0);
            }
            product_rows(out, Q, wt + (size_t)k0 * M, M, true, panel, NULL, p, kn, nv, mask,
                         accumulate || k0 > 0, k0 + kn >= K ? e : NULL); // the epilogue on the last slice
        }
    }
}

void fast_product(float *out, const float *wt, const Tap *taps, int M, int K, int Q, bool accumulate,
                  const ConvEpilogue *e, float *panel) {
    fast_product_cols(out, wt, taps, M, K, Q, 0, Q, accumulate, e, panel);
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

// Stride 2 splits rows into even and odd pixels, and dX puts them back together; AVX-512 does
// either 16 pixels at a time with one two-vector permute per output vector.

// even[j] = src[2j], odd[j] = src[2j+1] for j < n; odd may be NULL.
static void split_pairs(float *even, float *odd, const float *src, int n) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int j = 0; j < n; j += 16) {
        int rest = n - j;
        __m512 lo = _mm512_maskz_loadu_ps(lanes(2 * rest), src + 2 * j);
        __m512 hi = _mm512_maskz_loadu_ps(lanes(2 * rest - 16), src + 2 * j + 16);
        _mm512_mask_storeu_ps(even + j, lanes(rest), _mm512_permutex2var_ps(lo, ie, hi));
        if (odd) _mm512_mask_storeu_ps(odd + j, lanes(rest), _mm512_permutex2var_ps(lo, io, hi));
    }
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
        for (int c = 0; c < s->C; c++)
            for (int n = 0; n < nb; n++) {
                const float *xc = x + ((size_t)n * s->C + c) * s->H * s->W;
                float *q = xq + (((size_t)a * st * s->C + c) * nb + n) * P; // phase (a, 0)
                size_t next = (size_t)s->C * nb * P;                        // to phase (a, b+1)
                if (st == 1) {
                    memcpy(q + i0 * s->OW, xc + i0 * s->W, sizeof(float) * (size_t)(i1 - i0) * s->OW);
                } else if (st == 2) {
                    bool odd = fast_phase_used(1, s->KW, s);
                    for (int i = i0; i < i1; i++)
                        split_pairs(q + i * s->OW, odd ? q + next + i * s->OW : NULL,
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
    for (int n = 0; n < nb; n++)
        for (int m = 0; m < M; m++) {
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

// One 16 x 16 tile in registers: t's rows 0..15 (t_stride apart) = a's columns. Four rounds of shuffles,
// each pairing elements, then pairs, then 4-wide and 8-wide blocks, of two rows.
static inline void transpose_tile(float *t, size_t t_stride, const float *a, size_t a_stride) {
    __m512 r[16], u[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(a + i * a_stride);
    for (int i = 0; i < 16; i += 2)
        u[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), u[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(u[i + 1], u[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(u[i + 1], u[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            u[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
            u[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(u[j], u[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(u[j], u[j + 8], 0xdd);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(t + i * t_stride, r[i]);
}

// t (cols, rows) = a (rows, cols)^T: the forward kernel wants W^T. Returns t. In 16 x 16 tiles, in
// registers where whole (the ragged edges element by element). Element by element throughout, a 512 x 4608
// layer4 weight took 2.4 ms on one thread, more than its batch-1 product (1.9 ms); in registers 0.8 ms
// (bench-conv --n 1 --c 512 --size 7 --oc 512: forward minus infer). Bands of 16 rows go to the threads:
// in a training step (the weights move every step, so there is no packed copy to keep) one thread
// transposing alone left the other waiting.
float *fast_transpose(float *t, const float *a, int rows, int cols) {
    enum { TILE = 16, PARALLEL_FLOATS = 1 << 16 };
#pragma omp parallel for schedule(static) if ((size_t)rows * cols >= PARALLEL_FLOATS)
    for (int r0 = 0; r0 < rows; r0 += TILE)
        for (int c0 = 0; c0 < cols; c0 += TILE) {
            if (r0 + TILE <= rows && c0 + TILE <= cols) {
                transpose_tile(t + (size_t)c0 * rows + r0, (size_t)rows, a + (size_t)r0 * cols + c0,
                               (size_t)cols);
                continue;
            }
            for (int c = c0; c < c0 + TILE && c < cols; c++)
                for (int r = r0; r < r0 + TILE && r < rows; r++)
                    t[(size_t)c * rows + r] = a[(size_t)r * cols + c];
        }
    return t;
}

Scratch *fast_scratch_alloc(int threads, const ConvShape *s, int nb) {
    size_t P = (size_t)s->OH * s->OW, K = (size_t)s->C * s->KH * s->KW, KT = (size_t)s->OC * s->KH * s->KW;
    size_t K_max = K > KT ? K : KT, M_max = s->C > s->OC ? (size_t)s->C : (size_t)s->OC;
    size_t x_image = (size_t)s->C * s->H * s->W; // tmp holds the s*s phases of dX, too
    Scratch *sc = step_alloc(sizeof(Scratch) * (size_t)threads);
    for (int t = 0; t < threads; t++) {
        sc[t].xq = step_alloc(sizeof(float) * x_image * nb);
        sc[t].dyq = step_alloc(sizeof(float) * (size_t)s->OC * P * nb);
        sc[t].tmp = step_alloc(sizeof(float) * (M_max * P > x_image ? M_max * P : x_image) * nb);
        sc[t].panel = step_alloc(sizeof(float) * K_BLOCK * COL_BLOCK);
        sc[t].taps = step_alloc(sizeof(Tap) * K_max);
    }
    return sc;
}

// ---------------------------------------------------------------------------------------------
// the entry points conv.c calls

float *conv2d_fast_pack(const float *w, int OC, int C, int KH, int KW) {
    if (!fast_rows(OC)) return NULL;
    int K = C * KH * KW;
    return fast_transpose(sgd_malloc(sizeof(float) * (size_t)K * OC), w, OC, K);
}

// Batch 1 (inference) on omp_get_max_threads() threads: they share one image. Each takes an equal
// run of whole vectors of pixels (blocks of 48 split 8x8 pixels 48 + 16, so the small planes of the
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
    float *panels = step_alloc(sizeof(float) * (size_t)T * K_BLOCK * COL_BLOCK);
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
                              panels + (size_t)t * K_BLOCK * COL_BLOCK);
    }
}

bool conv2d_fast_forward(float *out, const float *x, const float *w, const float *packed,
                         const ConvEpilogue *e, const ConvShape *s, int threads) {
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    size_t x_image = (size_t)s->C * s->H * s->W, out_image = (size_t)s->OC * P;
    if (!aligned_conv(s) || !fast_rows(s->OC)) return false;
    // implicit im2col, the register-blocked product
    const float *wt = packed;
    if (!wt) wt = fast_transpose(step_alloc(sizeof(float) * (size_t)K * s->OC), w, s->OC, K);
    if (s->N == 1 && omp_get_max_threads() > 1) { // batch 1 (inference): threads share the image
        forward_one(out, x, wt, e, s);
        return true;
    }
    int groups = fast_group_count(s, threads), most = (s->N + groups - 1) / groups;
    Masks m[2];
    fast_masks(m, s, most, false);
    Scratch *sc = fast_scratch_alloc(threads, s, most);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int g = 0; g < groups; g++) {
        int n0 = fast_group_first(g, groups, s->N), nb = fast_group_first(g + 1, groups, s->N) - n0;
        const Scratch *z = &sc[omp_get_thread_num()];
        fast_forward_taps(z->taps, fast_phase_planes(z->xq, x + n0 * x_image, nb, s), nb, s, &m[most - nb]);
        float *y = out + n0 * out_image;
        // One image is written straight into out with the epilogue; a group's rows are
        // ungrouped first, and the epilogue then takes one more pass over them.
        ConvEpilogue en = {e ? e->bias : NULL, e && e->skip ? e->skip + n0 * out_image : NULL, e && e->relu};
        fast_product_cols(nb == 1 ? y : z->tmp, wt, z->taps, s->OC, K, nb * P, 0, nb * P, false,
                          e && nb == 1 ? &en : NULL, z->panel);
        if (nb > 1) fast_ungroup_rows(y, z->tmp, nb, s->OC, P, false);
        if (e && nb > 1) conv_epilogue(y, &en, nb, s->OC, P);
    }
    return true;
}
