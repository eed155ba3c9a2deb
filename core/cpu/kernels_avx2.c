// kernels_avx2.c — the implicit-im2col convolution's register-blocked kernels on CPUs with AVX2 and FMA
// but no AVX-512 (AMD before Zen 4, most Intel laptops and desktops): kernels_avx512.c's products on
// 8-lane vectors and 16 registers. Read that file first; this one explains what differs.
//
// im2col + OpenBLAS's AVX2 sgemm is what these CPUs had before: the same products, with col written
// out and read back for every image, and the bias, shortcut and relu each a pass of their own.
#include <immintrin.h>
#include <stdint.h>

#include "implicit.h"

// Lane masks. A 16-bit word of the masks covers two vectors: the 8 pixels from q (a multiple of 8) are
// byte q/8 of the words (x86 is little-endian, so the low byte comes first). AVX2's masked loads and
// stores take the mask as a vector, each lane's switch in its top bit: spread the 8 bits over the
// lanes and compare. (Masked-off lanes are never read, as with AVX-512: no fault past a plane's end.)
static inline __m256i spread(unsigned bits) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), bit), bit);
}
static inline __m256i mask_at(const uint16_t *words, int q) {
    return spread(((const uint8_t *)words)[q / 8]);
}
static inline __m256i first_lanes(int n) {
    return spread(n >= 8 ? 0xffu : n <= 0 ? 0u : (1u << n) - 1);
}

// ---------------------------------------------------------------------------------------------
// the product kernel
//
// 4 rows x (8*nv) columns of out, nv <= 3, from wt (plain W^T here: wt_rows) and the panel (K, 24): per k, 4
// broadcast weights times 3 vectors of the panel into 12 accumulators. With the 3 panel vectors and the
// weight that is all 16 registers; AVX-512's 8 x 3 tile would need 24 accumulators. An 8-row block of M is
// two such tiles over the same panel, which stays in L1 (24 columns x 160 k, 15 KB). Full vectors of out are
// stored plainly: masked stores cost more (AMD's Zen microcodes them), so masks serve only a block's edge.
enum { TILE_ROWS = 4 };
static inline __attribute__((always_inline)) void
product_tile(float *out, int Q, const float *wt, int M, const float *panel, int K, int nv, int width,
             const __m256i *mask, bool accumulate, const float *bias, const float *skip, bool relu) {
    __m256 acc[TILE_ROWS][3];
    for (int i = 0; i < TILE_ROWS; i++)
        for (int j = 0; j < nv; j++) acc[i][j] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++, wt += M) {
        __m256 b[3];
        for (int j = 0; j < nv; j++) {
            b[j] = _mm256_load_ps(panel + k * COL_BLOCK + 8 * j);
            __asm__("" : "+x"(b[j])); // in a register: folded into each FMA, it was loaded 4 times
        }
        for (int i = 0; i < TILE_ROWS; i++) {
            __m256 w = _mm256_broadcast_ss(wt + i);
            for (int j = 0; j < nv; j++) acc[i][j] = _mm256_fmadd_ps(w, b[j], acc[i][j]);
        }
    }
    // Unrolled: GCC left these loops rolled, indexing acc at run time, which kept acc in memory.
#pragma GCC unroll 4
    for (int i = 0; i < TILE_ROWS; i++)
#pragma GCC unroll 3
        for (int j = 0; j < nv; j++) {
            float *o = out + (size_t)i * Q + 8 * j;
            const float *sk = skip ? skip + (size_t)i * Q + 8 * j : NULL;
            bool full = 8 * j + 8 <= width;
            // the epilogue (conv.h) while the sums are still in registers, in conv_epilogue's order
            if (accumulate)
                acc[i][j] =
                    _mm256_add_ps(acc[i][j], full ? _mm256_loadu_ps(o) : _mm256_maskload_ps(o, mask[j]));
            if (bias) acc[i][j] = _mm256_add_ps(acc[i][j], _mm256_set1_ps(bias[i]));
            if (sk)
                acc[i][j] =
                    _mm256_add_ps(acc[i][j], full ? _mm256_loadu_ps(sk) : _mm256_maskload_ps(sk, mask[j]));
            if (relu) acc[i][j] = _mm256_max_ps(_mm256_setzero_ps(), acc[i][j]); // NaN: the 2nd, as relu1
            if (full)
                _mm256_storeu_ps(o, acc[i][j]);
            else
                _mm256_maskstore_ps(o, mask[j], acc[i][j]);
        }
}

static inline __attribute__((always_inline)) void product_rows(float *out, int Q, const float *wt, int M,
                                                               const float *panel, int p, int K, int nv,
                                                               int width, const __m256i *mask,
                                                               bool accumulate, const ConvEpilogue *e) {
    for (int m = 0; m < M; m += TILE_ROWS) {
        float *o = out + (size_t)m * Q + p;
        const float *bias = e && e->bias ? e->bias + m : NULL,
                    *skip = e && e->skip ? e->skip + (size_t)m * Q + p : NULL;
        bool relu = e && e->relu;
        if (nv == 3)
            product_tile(o, Q, wt + m, M, panel, K, 3, width, mask, accumulate, bias, skip, relu);
        else if (nv == 2)
            product_tile(o, Q, wt + m, M, panel, K, 2, width, mask, accumulate, bias, skip, relu);
        else
            product_tile(o, Q, wt + m, M, panel, K, 1, width, mask, accumulate, bias, skip, relu);
    }
}

// As kernels_avx512.c's, always through the panel: the 8-row case reads the taps twice here, once per
// tile, and each read pays for its masks.
void fast_product_cols(float *out, const float *wt, const Tap *taps, int M, int K, int Q, int p0, int p1,
                       bool accumulate, const ConvEpilogue *e, float *panel) {
    for (int p = p0; p < p1; p += COL_BLOCK) {
        int width = p1 - p < COL_BLOCK ? p1 - p : COL_BLOCK, nv = (width + 7) / 8;
        __m256i mask[3];
        for (int j = 0; j < 3; j++) mask[j] = first_lanes(width - 8 * j);
        int slices = K > K_BLOCK ? (K + K_BLOCK - 1) / K_BLOCK : 1;
        int slice = K > 0 ? (K + slices - 1) / slices : 1;
        for (int k0 = 0; k0 == 0 || k0 < K; k0 += slice) {
            int kn = K - k0 < slice ? K - k0 : slice;
            uintptr_t asked = 0; // as on AVX-512: one tap of a row asks for the next block's lines
            for (int k = 0; k < kn; k++) {
                const float *src = taps[k0 + k].src + p;
                const uint16_t *bits = taps[k0 + k].mask;
                for (int j = 0; j < nv; j++)
                    _mm256_store_ps(panel + k * COL_BLOCK + 8 * j,
                                    _mm256_maskload_ps(src + 8 * j, mask_at(bits, p + 8 * j)));
                if ((uintptr_t)src - asked + 32 > 64) {
                    asked = (uintptr_t)src;
                    for (int j = 0; j < 2; j++)
                        _mm_prefetch((const char *)(src + COL_BLOCK + 16 * j), _MM_HINT_T0);
                }
            }
            product_rows(out, Q, wt + (size_t)k0 * M, M, panel, p, kn, nv, width, mask, accumulate || k0 > 0,
                         k0 + kn >= K ? e : NULL); // the epilogue on the last slice
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the weight gradient's tile
//
// 2 rows of dY x 6 taps, per 8 pixels 8 loads into 12 accumulators: with the two dY vectors, the tap
// being used and the mask, again all 16 registers (AVX-512 takes 4 x 6). The loads are masked only
// where some of the 8 pixels are outside: most are whole, and a masked load costs more.

// Lane j of the result is the sum of the 8 lanes of v_j: two rounds of horizontal adds within 128-bit
// lanes, then the two halves added. The vectors come by value, from constant indices of acc: a pointer
// into acc made the compiler store all 12 accumulators to memory on every step of the loop.
static inline __attribute__((always_inline)) __m256 sum_lanes8(__m256 v0, __m256 v1, __m256 v2, __m256 v3,
                                                               __m256 v4, __m256 v5, __m256 v6, __m256 v7) {
    __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3)),
           u1 = _mm256_hadd_ps(_mm256_hadd_ps(v4, v5), _mm256_hadd_ps(v6, v7));
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// One step of 8 pixels of wgrad_tile: acc[i * nc + j] += y[i] * c[j], lanes switched off by m unless
// every lane is on (plain).
static inline __attribute__((always_inline)) void wgrad_step(__m256 *acc, int nc, const float **y,
                                                             const float **c, int q, bool plain, __m256i m) {
    __m256 a[WG_ROWS];
#pragma GCC unroll 2
    for (int i = 0; i < WG_ROWS; i++)
        a[i] = plain ? _mm256_loadu_ps(y[i] + q) : _mm256_maskload_ps(y[i] + q, m);
#pragma GCC unroll 6
    for (int j = 0; j < nc; j++) {
        __m256 b = plain ? _mm256_loadu_ps(c[j] + q) : _mm256_maskload_ps(c[j] + q, m);
        __asm__("" : "+x"(b)); // loaded once, not folded into both FMAs
#pragma GCC unroll 2
        for (int i = 0; i < WG_ROWS; i++) acc[i * nc + j] = _mm256_fmadd_ps(a[i], b, acc[i * nc + j]);
    }
}

static inline __attribute__((always_inline)) void wgrad_tile(float *dw, int K, int kstride, int mo, int mk,
                                                             int nc, const float **y, const float **c,
                                                             const uint16_t *mask, int n) {
    __m256 acc[WG_ROWS * WG_COLS]; // acc[i * nc + j]; those past WG_ROWS * nc stay zero
#pragma GCC unroll 12
    for (int k = 0; k < WG_ROWS * WG_COLS; k++) acc[k] = _mm256_setzero_ps();
    for (int q = 0; q < n; q += 8) {
        unsigned bits = ((const uint8_t *)mask)[q / 8];
        if (bits == 0xff) // all 8 pixels inside: plain loads (masked ones cost more, and most are whole)
            wgrad_step(acc, nc, y, c, q, true, _mm256_setzero_si256());
        else
            wgrad_step(acc, nc, y, c, q, false, spread(bits));
    }
    float sum[16];
    __m256 z = _mm256_setzero_ps();
    _mm256_storeu_ps(sum, sum_lanes8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]));
    _mm256_storeu_ps(sum + 8, sum_lanes8(acc[8], acc[9], acc[10], acc[11], z, z, z, z));
    for (int i = 0; i < mo; i++)
        for (int j = 0; j < mk; j++) dw[(size_t)i * K + (size_t)j * kstride] += sum[i * nc + j];
}

void fast_wgrad_tile(float *dw, int K, int kstride, int mo, int mk, const float **y, const float **c,
                     const uint16_t *mask, int n) {
    if (mk > 4)
        wgrad_tile(dw, K, kstride, mo, mk, 6, y, c, mask, n);
    else if (mk > 2)
        wgrad_tile(dw, K, kstride, mo, mk, 4, y, c, mask, n);
    else
        wgrad_tile(dw, K, kstride, mo, mk, 2, y, c, mask, n);
}

// ---------------------------------------------------------------------------------------------
// stride 2's pixel pairs, and the transpose

// Plain loops: the phase copies are about 2% of a step (the compiler vectorises them as it can).
void fast_split_pairs(float *even, float *odd, const float *src, int n) {
    for (int j = 0; j < n; j++) even[j] = src[2 * j];
    if (odd)
        for (int j = 0; j < n; j++) odd[j] = src[2 * j + 1];
}

void fast_join_pairs(float *dst, const float *even, const float *odd, int n, bool accumulate) {
    for (int j = 0; j < n; j++) {
        float e = even[j], o = odd ? odd[j] : 0.0f;
        dst[2 * j] = accumulate ? dst[2 * j] + e : e;
        dst[2 * j + 1] = accumulate ? dst[2 * j + 1] + o : o;
    }
}

// One 8 x 8 tile in registers: pairs of rows interleaved, then 4-wide blocks, then 128-bit halves. (Its
// rows are 8 wide: no second half.)
void fast_transpose_tile(float *t, size_t t_stride, size_t half, const float *a, size_t a_stride) {
    (void)half;
    __m256 r[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(a + i * a_stride);
    for (int i = 0; i < 8; i += 2)
        u[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), u[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    for (int i = 0; i < 8; i += 4) { // r[i + j]: columns j and j + 4 of rows i .. i+3
        r[i] = _mm256_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm256_shuffle_ps(u[i], u[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm256_shuffle_ps(u[i + 1], u[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm256_shuffle_ps(u[i + 1], u[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
        _mm256_storeu_ps(t + j * t_stride, _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
        _mm256_storeu_ps(t + (j + 4) * t_stride, _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
    }
}
