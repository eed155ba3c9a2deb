// conv_avx512.c — the fast path for convolution on CPUs with AVX-512: implicit im2col.
//
// Read core/conv.c first: it defines the convolution, computes it by im2col + sgemm, and calls the two
// functions at the end of this file, which take the convs they can and decline the rest (conv_fast.h).
// This file does the same products as conv.c without ever writing col out, in two small register-
// blocked kernels (the product of W with the taps, and the weight gradient), about 2x OpenBLAS on the
// convs bearnet-s uses. It is compiled in only when the compiler targets AVX-512 (core/CMakeLists.txt).
#include "conv_fast.h"

#include <immintrin.h>
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

// Column blocks are 48 wide (3 vectors); M is taken 8 rows at a time, K in slices of at most 160
// (a 30 KB panel, in L1 beside the weights it meets; see product_cols).
enum { COL_BLOCK = 48, ROW_BLOCK = 8, K_BLOCK = 160 };

// The first n lanes of a vector (all 16 for n >= 16, none for n <= 0).
static __mmask16 lanes(int n) {
    return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

// Can the implicit path take this conv? The output must be the (phase) planes' size, and the
// register-blocked product needs whole blocks of 8 rows.
static bool aligned_conv(const ConvShape *s) {
    return s->H % s->stride == 0 && s->W % s->stride == 0 && s->OH == s->H / s->stride &&
           s->OW == s->W / s->stride;
}
static bool fast_rows(int M) {
    return M % ROW_BLOCK == 0;
}
// floor(a / b) and a - b*floor(a / b) for b > 0 (C's / and % round towards zero)
static int floor_div(int a, int b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static int floor_mod(int a, int b) {
    return a - b * floor_div(a, b);
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

static const uint16_t *mask_of(const Masks *m, int dh, int dw) {
    return m->bits + ((size_t)(dh - m->lo_h) * m->nw + (dw - m->lo_w)) * m->words;
}

// ---------------------------------------------------------------------------------------------
// the two kernels
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
static void product_cols(float *out, const float *wt, const Tap *taps, int M, int K, int Q, int p0, int p1,
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

static void product(float *out, const float *wt, const Tap *taps, int M, int K, int Q, bool accumulate,
                    const ConvEpilogue *e, float *panel) {
    product_cols(out, wt, taps, M, K, Q, 0, Q, accumulate, e, panel);
}

// The weight gradient dW (M,K) = dY (M,Q) @ col^T is M*K dot products along the pixels, with
// both operands read along their rows. The kernel takes them 4 (rows of dY) x 6 (taps) at a
// time: per 16 pixels, 10 vector loads feed 24 multiply-adds into 24 accumulators; each
// accumulator is summed across its 16 lanes once per chunk of pixels. Chunks keep the 6 taps'
// pixels in L1 while every row of dY passes over them. The 6 taps are one (kh,kw) of 6
// channels, so one lane mask serves all 10 loads (dY's lanes outside the image add nothing).
// The last tile of a row of taps is 4 or 2 wide when fewer channels are left: 16 channels go as
// 6 + 6 + 4, not 6 + 6 + 6 with two columns of zeros (11% of the multiply-adds of bearnet-s's
// 16- and 32-channel layers, which hold half its work at 64 px).
enum { WG_ROWS = 4, WG_COLS = 6, WG_CHUNK = 1024 };
static const float wg_zeros[WG_CHUNK]; // stands in for the rows past M or C in the last tiles

// Lane j of the result is the sum of the 16 lanes of v[j], for n <= 16 vectors (the rest read as 0).
// One reduction per vector costs 8 shuffles and adds on the same pipes as the multiply-adds, about
// 13% of a chunk's work on 14x14 planes; the tree below adds pairs of vectors, each level after one
// shuffle that lines up their halves, so 16 sums cost 45 operations instead of 128.
static inline __attribute__((always_inline)) __m512 sum_lanes16(const __m512 *v, int n) {
    __m512 t[8], u[4], w[2];
    const __m512 z = _mm512_setzero_ps();
    for (int k = 0; k < 8; k++) { // in each 128-bit lane: (a0+a2, b0+b2, a1+a3, b1+b3)
        __m512 a = 2 * k < n ? v[2 * k] : z, b = 2 * k + 1 < n ? v[2 * k + 1] : z;
        t[k] = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    }
    for (int k = 0; k < 4; k++) // in each 128-bit lane: the partial sums of v[4k .. 4k+3]
        u[k] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * k], t[2 * k + 1], 0x44),
                             _mm512_shuffle_ps(t[2 * k], t[2 * k + 1], 0xee));
    for (int k = 0; k < 2; k++) // 128-bit lanes 0,1 and 2,3 added: half sums of v[8k .. 8k+7]
        w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * k], u[2 * k + 1], 0x88),
                             _mm512_shuffle_f32x4(u[2 * k], u[2 * k + 1], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x88), _mm512_shuffle_f32x4(w[0], w[1], 0xdd));
}

// dw[i*K + j*kstride] += sum over q < n of y[i][q] * c[j][q], lanes where mask is set, for i < mo and
// j < mk <= nc (nc: 6, 4 or 2, a constant at each call).
static inline __attribute__((always_inline)) void wgrad_tile(float *dw, int K, int kstride, int mo, int mk,
                                                             int nc, const float **y, const float **c,
                                                             const uint16_t *mask, int n) {
    __m512 acc[WG_ROWS * WG_COLS]; // acc[i * nc + j]
    for (int k = 0; k < WG_ROWS * nc; k++) acc[k] = _mm512_setzero_ps();
    for (int q = 0; q < n; q += 16) {
        __mmask16 m = _load_mask16((__mmask16 *)&mask[q / 16]);
        __m512 b[WG_COLS];
        for (int j = 0; j < nc; j++) b[j] = _mm512_maskz_loadu_ps(m, c[j] + q);
        for (int i = 0; i < WG_ROWS; i++) {
            __m512 a = _mm512_maskz_loadu_ps(m, y[i] + q);
            for (int j = 0; j < nc; j++) acc[i * nc + j] = _mm512_fmadd_ps(a, b[j], acc[i * nc + j]);
        }
    }
    // Sum the lanes with constant indices only: a runtime index into acc would make the compiler
    // keep acc in memory and store all 24 accumulators on every step of the loop above.
    float sum[32];
    _mm512_storeu_ps(sum, sum_lanes16(acc, WG_ROWS * nc < 16 ? WG_ROWS * nc : 16));
    if (WG_ROWS * nc > 16) _mm512_storeu_ps(sum + 16, sum_lanes16(acc + 16, WG_ROWS * nc - 16));
    for (int i = 0; i < mo; i++)
        for (int j = 0; j < mk; j++) dw[(size_t)i * K + (size_t)j * kstride] += sum[i * nc + j];
}

// dw (M,K) += dy (M,Q) @ col^T, col given as K = C*KK taps in (c, kh, kw) order. Every 6 taps meet
// the rows of dY WG_M_BLOCK at a time: a chunk of 64 rows (256 KB) stays in L2 while all the taps pass;
// all 512 rows of ResNet's layer4 (2 MB) did not, and came from L3 again for every 6 taps.
enum { WG_M_BLOCK = 64 };
static void wgrad_product(float *dw, const float *dy, const Tap *taps, int M, int C, int KK, int Q) {
    int K = C * KK;
    for (int q0 = 0; q0 < Q; q0 += WG_CHUNK)
        for (int m0 = 0; m0 < M; m0 += WG_M_BLOCK) {
            int n = Q - q0 < WG_CHUNK ? Q - q0 : WG_CHUNK, m1 = M - m0 < WG_M_BLOCK ? M : m0 + WG_M_BLOCK;
            for (int t = 0; t < KK; t++)
                for (int c0 = 0; c0 < C; c0 += WG_COLS) {
                    int mk = C - c0 < WG_COLS ? C - c0 : WG_COLS;
                    const float *c[WG_COLS];
                    for (int j = 0; j < WG_COLS; j++)
                        c[j] = j < mk ? taps[(c0 + j) * KK + t].src + q0 : wg_zeros;
                    const uint16_t *mask = taps[c0 * KK + t].mask + q0 / 16; // the same for every c
                    for (int m = m0; m < m1; m += WG_ROWS) {
                        int mo = m1 - m < WG_ROWS ? m1 - m : WG_ROWS;
                        const float *y[WG_ROWS];
                        for (int i = 0; i < WG_ROWS; i++)
                            y[i] = i < mo ? dy + (size_t)(m + i) * Q + q0 : wg_zeros;
                        float *d = dw + (size_t)m * K + c0 * KK + t;
                        if (mk > 4)
                            wgrad_tile(d, K, KK, mo, mk, 6, y, c, mask, n);
                        else if (mk > 2)
                            wgrad_tile(d, K, KK, mo, mk, 4, y, c, mask, n);
                        else
                            wgrad_tile(d, K, KK, mo, mk, 2, y, c, mask, n);
                    }
                }
        }
}

// ---------------------------------------------------------------------------------------------
// groups, phases and taps

// Images per group: about GROUP_PIXELS pixels, and a group count the threads share evenly.
// Image n of N is in group n*groups/N.
enum { GROUP_PIXELS = 1024 };
static int group_count(const ConvShape *s, int threads) {
    int per = GROUP_PIXELS / (s->OH * s->OW);
    if (per < 1) per = 1;
    int groups = (s->N + per - 1) / per;
    groups = (groups + threads - 1) / threads * threads;
    return groups < s->N ? groups : s->N;
}
static int group_first(int g, int groups, int N) {
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

// dst[2j] (+)= even[j], dst[2j+1] (+)= odd[j] for j < n.
static void join_pairs(float *dst, const float *even, const float *odd, int n, bool accumulate) {
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ih = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int j = 0; j < n; j += 16) {
        int rest = n - j;
        __mmask16 m = lanes(rest), mlo = lanes(2 * rest), mhi = lanes(2 * rest - 16);
        __m512 e = _mm512_maskz_loadu_ps(m, even + j), o = _mm512_maskz_loadu_ps(m, odd + j);
        __m512 lo = _mm512_permutex2var_ps(e, il, o), hi = _mm512_permutex2var_ps(e, ih, o);
        if (accumulate) {
            lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(mlo, dst + 2 * j));
            hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(mhi, dst + 2 * j + 16));
        }
        _mm512_mask_storeu_ps(dst + 2 * j, mlo, lo);
        _mm512_mask_storeu_ps(dst + 2 * j + 16, mhi, hi);
    }
}

// The shift of tap kh: (kh - padding) = stride*dh + phase.
static int tap_shift(int k, const ConvShape *s) {
    return floor_div(k - s->padding, s->stride);
}
static int tap_phase(int k, const ConvShape *s) {
    return floor_mod(k - s->padding, s->stride);
}

// Does some tap read phase row (or column) a? (A 1x1 stride-2 conv reads phase 0 only.)
static bool phase_used(int a, int KH, const ConvShape *s) {
    for (int k = 0; k < KH; k++)
        if (tap_phase(k, s) == a) return true;
    return false;
}

// The group's input as planes xq[a,b][c][n] (OH*OW each): phase (a,b) of channel c of image n, rows
// [i0, i1) of each plane.
static void phase_rows(float *xq, const float *x, int nb, const ConvShape *s, int i0, int i1) {
    int st = s->stride, P = s->OH * s->OW;
    for (int a = 0; a < st; a++) {
        if (!phase_used(a, s->KH, s)) continue;
        for (int c = 0; c < s->C; c++)
            for (int n = 0; n < nb; n++) {
                const float *xc = x + ((size_t)n * s->C + c) * s->H * s->W;
                float *q = xq + (((size_t)a * st * s->C + c) * nb + n) * P; // phase (a, 0)
                size_t next = (size_t)s->C * nb * P;                        // to phase (a, b+1)
                if (st == 1) {
                    memcpy(q + i0 * s->OW, xc + i0 * s->W, sizeof(float) * (size_t)(i1 - i0) * s->OW);
                } else if (st == 2) {
                    bool odd = phase_used(1, s->KW, s);
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
static const float *phase_planes(float *xq, const float *x, int nb, const ConvShape *s) {
    if (s->stride == 1 && nb == 1) return x;
    phase_rows(xq, x, nb, s, 0, s->OH);
    return xq;
}

// (nb, M, P) -> (M, nb*P) and back: a group's images side by side in each channel's row.
static const float *group_rows(float *dst, const float *src, int nb, int M, int P) {
    if (nb == 1) return src;
    for (int n = 0; n < nb; n++)
        for (int m = 0; m < M; m++)
            memcpy(dst + ((size_t)m * nb + n) * P, src + ((size_t)n * M + m) * P, sizeof(float) * (size_t)P);
    return dst;
}
static void ungroup_rows(float *dst, const float *src, int nb, int M, int P, bool accumulate) {
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
    int lo_h = tap_shift(0, s), hi_h = tap_shift(s->KH - 1, s);
    int lo_w = tap_shift(0, s), hi_w = tap_shift(s->KW - 1, s);
    return for_dx ? masks_alloc(s->OH, s->OW, nb, -hi_h, -lo_h, -hi_w, -lo_w)
                  : masks_alloc(s->OH, s->OW, nb, lo_h, hi_h, lo_w, hi_w);
}
static Masks masks_build_for(const ConvShape *s, int nb, bool for_dx) {
    Masks m = masks_alloc_for(s, nb, for_dx);
    masks_fill(&m, s->OH, s->OW, nb, 0, nb * s->OH * s->OW);
    return m;
}
// The same for groups of nb and of nb - 1 images (groups differ by one at most): m[0] and m[1].
static void conv_masks(Masks *m, const ConvShape *s, int nb, bool for_dx) {
    for (int v = 0; v < 2 && nb - v > 0; v++) m[v] = masks_build_for(s, nb - v, for_dx);
}

// The forward's K = C*KH*KW taps, in im2col's (c, kh, kw) order, over the planes of xq.
static void forward_taps(Tap *taps, const float *xq, int nb, const ConvShape *s, const Masks *m) {
    int P = s->OH * s->OW;
    for (int c = 0; c < s->C; c++)
        for (int kh = 0; kh < s->KH; kh++)
            for (int kw = 0; kw < s->KW; kw++) {
                int dh = tap_shift(kh, s), dw = tap_shift(kw, s);
                int phase = tap_phase(kh, s) * s->stride + tap_phase(kw, s);
                const float *plane = xq + ((size_t)phase * s->C + c) * nb * P;
                *taps++ = (Tap){plane + dh * s->OW + dw, mask_of(m, dh, dw)};
            }
}

// d loss / d x, one phase (a,b) of x at a time: pixel (i,j) of the phase met dY at (i-dh, j-dw)
// through every tap (kh,kw) of that phase, so
//     dx_phase[c, q] = sum over o and those taps of w[o,c,kh,kw] * dY[o, q - dh*OW - dw],
// the same product as the forward's with the taps shifted the other way. These are the taps
// of phase (a,b) in (o, kh, kw) order over the group's dY rows (OC, nb*P); returns their count.
static int dx_taps(Tap *taps, const float *dyq, int nb, int a, int b, const ConvShape *s, const Masks *m) {
    int P = s->OH * s->OW, K = 0;
    for (int o = 0; o < s->OC; o++)
        for (int kh = 0; kh < s->KH; kh++)
            for (int kw = 0; kw < s->KW; kw++) {
                if (tap_phase(kh, s) != a || tap_phase(kw, s) != b) continue;
                int dh = tap_shift(kh, s), dw = tap_shift(kw, s);
                taps[K++] = (Tap){dyq + (size_t)o * nb * P - dh * s->OW - dw, mask_of(m, -dh, -dw)};
            }
    return K;
}

// The weights in the order dx_taps lists them, for each phase in turn: (taps of the phase, C).
static float *dx_weights(const float *w, const ConvShape *s) {
    int KK = s->KH * s->KW;
    float *t = step_alloc(sizeof(float) * (size_t)s->OC * KK * s->C), *r = t;
    for (int a = 0; a < s->stride; a++)
        for (int b = 0; b < s->stride; b++)
            for (int o = 0; o < s->OC; o++)
                for (int kh = 0; kh < s->KH; kh++)
                    for (int kw = 0; kw < s->KW; kw++) {
                        if (tap_phase(kh, s) != a || tap_phase(kw, s) != b) continue;
                        for (int c = 0; c < s->C; c++)
                            *r++ = w[((size_t)o * s->C + c) * KK + kh * s->KW + kw];
                    }
    return t;
}

// t (cols, rows) = a (rows, cols)^T: the forward kernel wants W^T. Returns t. In 16 x 16 tiles, so that
// reads and writes both stay on a few cache lines: row by row, each write went to a new line (2 KB
// apart for 512 channels), and ResNet-34's forward at batch 1 spent as long on this as on its products.
static float *transpose(float *t, const float *a, int rows, int cols) {
    enum { TILE = 16 };
    for (int r0 = 0; r0 < rows; r0 += TILE)
        for (int c0 = 0; c0 < cols; c0 += TILE)
            for (int c = c0; c < c0 + TILE && c < cols; c++)
                for (int r = r0; r < r0 + TILE && r < rows; r++)
                    t[(size_t)c * rows + r] = a[(size_t)r * cols + c];
    return t;
}

// One thread's scratch: the group's phase planes, dY rows and product rows, the panel, the taps.
typedef struct {
    float *xq, *dyq, *tmp, *panel;
    Tap *taps;
} Scratch;

static Scratch *scratch_alloc(int threads, const ConvShape *s, int nb) {
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
    float *wt = malloc(sizeof(float) * (size_t)K * OC);
    if (!wt) sgd_panic("out of memory");
    return transpose(wt, w, OC, K);
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
    forward_taps(taps, xq ? xq : x, 1, s, &m); // addresses only: the threads fill what they point to
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
            product_cols(out, wt, taps, s->OC, K, P, q0, q1, false, e,
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
    if (!wt) wt = transpose(step_alloc(sizeof(float) * (size_t)K * s->OC), w, s->OC, K);
    if (s->N == 1 && omp_get_max_threads() > 1) { // batch 1 (inference): threads share the image
        forward_one(out, x, wt, e, s);
        return true;
    }
    int groups = group_count(s, threads), most = (s->N + groups - 1) / groups;
    Masks m[2];
    conv_masks(m, s, most, false);
    Scratch *sc = scratch_alloc(threads, s, most);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int g = 0; g < groups; g++) {
        int n0 = group_first(g, groups, s->N), nb = group_first(g + 1, groups, s->N) - n0;
        const Scratch *z = &sc[omp_get_thread_num()];
        forward_taps(z->taps, phase_planes(z->xq, x + n0 * x_image, nb, s), nb, s, &m[most - nb]);
        float *y = out + n0 * out_image;
        // One image is written straight into out with the epilogue; a group's rows are
        // ungrouped first, and the epilogue then takes one more pass over them.
        ConvEpilogue en = {e ? e->bias : NULL, e && e->skip ? e->skip + n0 * out_image : NULL, e && e->relu};
        product_cols(nb == 1 ? y : z->tmp, wt, z->taps, s->OC, K, nb * P, 0, nb * P, false,
                     e && nb == 1 ? &en : NULL, z->panel);
        if (nb > 1) ungroup_rows(y, z->tmp, nb, s->OC, P, false);
        if (e && nb > 1) conv_epilogue(y, &en, nb, s->OC, P);
    }
    return true;
}

// dx (+)= the phases of dX in tmp[a,b] (C, nb*P), each pixel (i*st + a, j*st + b) from its phase; rows
// [r0, r1) of the nb*C*st*OH rows (n, c, a, i) that the phases fill, so that threads can share them.
static void phases_to_pixels(float *dx, const float *tmp, int nb, const ConvShape *s, bool overwrite_dx,
                             size_t r0, size_t r1) {
    int st = s->stride, P = s->OH * s->OW;
    size_t phase = (size_t)s->C * nb * P;
    for (size_t r = r0; r < r1; r++) {
        int i = (int)(r % s->OH), a = (int)(r / s->OH % st), c = (int)(r / s->OH / st % s->C),
            n = (int)(r / s->OH / st / s->C);
        float *d = dx + (((size_t)n * s->C + c) * s->H + (size_t)i * st + a) * s->W;
        const float *v = tmp + (size_t)a * st * phase + ((size_t)c * nb + n) * P + (size_t)i * s->OW;
        if (st == 2) {
            join_pairs(d, v, v + phase, s->OW, !overwrite_dx);
            continue;
        }
        for (int j = 0; j < s->W; j++)
            d[j] = (overwrite_dx ? 0.0f : d[j]) + v[(size_t)(j % st) * phase + j / st];
    }
}

// dW and dX of one group on the implicit path. dW (OC,K) += dY @ col^T over the forward's taps;
// dX one phase at a time, written straight into dx for a stride-1 conv of one image.
static void implicit_backward(float *dx, float *dw, const float *x, const float *dy, int nb, const float *wdx,
                              const ConvShape *s, const Masks *mf, const Masks *mb, bool overwrite_dx,
                              const Scratch *z) {
    int P = s->OH * s->OW;
    const float *dyq = group_rows(z->dyq, dy, nb, s->OC, P);
    if (dw) {
        forward_taps(z->taps, phase_planes(z->xq, x, nb, s), nb, s, mf);
        wgrad_product(dw, dyq, z->taps, s->OC, s->C, s->KH * s->KW, nb * P);
    }
    if (!dx) return;
    int st = s->stride;
    if (st == 1) { // one phase: straight into dx for one image
        int KT = dx_taps(z->taps, dyq, nb, 0, 0, s, mb);
        product(nb == 1 ? dx : z->tmp, wdx, z->taps, s->C, KT, nb * P, nb == 1 && !overwrite_dx, NULL,
                z->panel);
        if (nb > 1) ungroup_rows(dx, z->tmp, nb, s->C, P, !overwrite_dx);
        return;
    }
    // every phase (a,b) of dX into tmp[a,b] (C, nb*P), then back to pixels (i*st + a, j*st + b)
    size_t phase = (size_t)s->C * nb * P;
    for (int a = 0; a < st; a++)
        for (int b = 0; b < st; b++) {
            int KT = dx_taps(z->taps, dyq, nb, a, b, s, mb); // none: the product writes zeros
            product(z->tmp + (size_t)(a * st + b) * phase, wdx, z->taps, s->C, KT, nb * P, false, NULL,
                    z->panel);
            wdx += (size_t)KT * s->C;
        }
    phases_to_pixels(dx, z->tmp, nb, s, overwrite_dx, 0, (size_t)nb * s->C * st * s->OH);
}

// Batch 1 (fine-tuning on one picture) has no images to share out, so the threads split one image's
// work, as the batch-1 forward splits its pixels: dW by rows (output channels, whole tiles of
// WG_ROWS: no partial sums to add), dX by column blocks of each phase, then by rows back to pixels.
// For strides up to SPLIT_STRIDE_MAX (ResNet's are 1 and 2); a larger one takes the path of batches.
enum { SPLIT_STRIDE_MAX = 4 };
static void single_image_backward(float *dx, float *dw, const float *x, const float *dy, const float *w,
                                  const ConvShape *s, int threads, bool overwrite_dx) {
    int P = s->OH * s->OW, st = s->stride, KK = s->KH * s->KW, K = s->C * KK;
    int blocks = (P + COL_BLOCK - 1) / COL_BLOCK, tiles = (s->OC + WG_ROWS - 1) / WG_ROWS;
    Masks mf = masks_build_for(s, 1, false), mb = masks_build_for(s, 1, true);
    Scratch *z = scratch_alloc(1, s, 1); // one copy of the phases and taps; a panel per thread
    float *panels = step_alloc(sizeof(float) * (size_t)threads * K_BLOCK * COL_BLOCK);
    if (dw) forward_taps(z->taps, phase_planes(z->xq, x, 1, s), 1, s, &mf);
    // every phase's dX taps and weights, side by side: phase f has taps[f0[f], f0[f+1])
    Tap *dtaps = step_alloc(sizeof(Tap) * (size_t)s->OC * KK);
    int f0[SPLIT_STRIDE_MAX * SPLIT_STRIDE_MAX + 1] = {0};
    const float *wdx = dx ? dx_weights(w, s) : NULL;
    for (int f = 0; dx && f < st * st; f++)
        f0[f + 1] = f0[f] + dx_taps(dtaps + f0[f], dy, 1, f / st, f % st, s, &mb);
    size_t phase = (size_t)s->C * P;
#pragma omp parallel num_threads(threads)
    { // the team may be smaller than asked for (nested, OMP_THREAD_LIMIT): split by its size
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        int m0 = tiles * t / team * WG_ROWS, m1 = tiles * (t + 1) / team * WG_ROWS;
        if (dw && m0 < s->OC)
            wgrad_product(dw + (size_t)m0 * K, dy + (size_t)m0 * P, z->taps, (m1 < s->OC ? m1 : s->OC) - m0,
                          s->C, KK, P);
        int p0 = blocks * t / team * COL_BLOCK, p1 = blocks * (t + 1) / team * COL_BLOCK;
        float *panel = panels + (size_t)t * K_BLOCK * COL_BLOCK;
        for (int f = 0; dx && f < st * st; f++) // stride 1: straight into dx
            product_cols(st == 1 ? dx : z->tmp + f * phase, wdx + (size_t)f0[f] * s->C, dtaps + f0[f], s->C,
                         f0[f + 1] - f0[f], P, p0, p1 < P ? p1 : P, st == 1 && !overwrite_dx, NULL, panel);
        if (dx && st > 1) {
#pragma omp barrier
            size_t rows = (size_t)s->C * st * s->OH;
            phases_to_pixels(dx, z->tmp, 1, s, overwrite_dx, rows * t / team, rows * (t + 1) / team);
        }
    }
}

void conv2d_fast_backward(float *dx, float *dws, const float *dout, const float *x, const float *w,
                          const ConvShape *s, int threads, bool overwrite_dx, bool *did_dw, bool *did_dx) {
    size_t x_image = (size_t)s->C * s->H * s->W, out_image = (size_t)s->OC * s->OH * s->OW,
           w_size = (size_t)s->OC * s->C * s->KH * s->KW;
    bool implicit = aligned_conv(s); // the weight-gradient kernel takes any shape
    bool implicit_dx = dx && implicit && fast_rows(s->C);
    *did_dw = dws && implicit, *did_dx = implicit_dx;
    if (implicit && (dws || implicit_dx) && s->N == 1 && threads == 1 && omp_get_max_threads() > 1 &&
        s->stride <= SPLIT_STRIDE_MAX) {
        single_image_backward(implicit_dx ? dx : NULL, dws, x, dout, w, s, omp_get_max_threads(),
                              overwrite_dx);
    } else if (implicit && (dws || implicit_dx)) {
        int groups = group_count(s, threads), most = (s->N + groups - 1) / groups;
        Masks mf[2], mb[2];
        conv_masks(mf, s, most, false), conv_masks(mb, s, most, true);
        Scratch *sc = scratch_alloc(threads, s, most);
        float *wdx = implicit_dx ? dx_weights(w, s) : NULL;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int g = 0; g < groups; g++) {
            int n0 = group_first(g, groups, s->N), nb = group_first(g + 1, groups, s->N) - n0,
                t = omp_get_thread_num();
            implicit_backward(implicit_dx ? dx + n0 * x_image : NULL, dws ? dws + (size_t)t * w_size : NULL,
                              x + n0 * x_image, dout + n0 * out_image, nb, wdx, s, &mf[most - nb],
                              &mb[most - nb], overwrite_dx, &sc[t]);
        }
    }
}
