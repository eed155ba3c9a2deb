// kernels_avx512.c — the implicit-im2col convolution's register-blocked kernels on CPUs with AVX-512:
// the product of W with the taps (the forward, dX, and dW of most convs), the weight gradient's tile,
// the stride-2 pixel pairs and the transpose. implicit.c explains the method; kernels_avx2.c is the
// same on 8-lane vectors.
#include <immintrin.h>
#include <omp.h>
#include <stdint.h>

#include "implicit.h"

// The first n lanes of a vector (all 16 for n >= 16, none for n <= 0).
static inline __mmask16 lanes(int n) {
    return (__mmask16)lane_bits(n);
}

// ---------------------------------------------------------------------------------------------
// the product kernel
//
// OpenBLAS does ~60 GFLOP/s per core on these shapes: it must use its AVX2 kernels here
// (OPENBLAS_CORETYPE=Haswell), and M (channels, 16..128) is small next to what it is tuned for.
// A plain register-blocked AVX-512 kernel does about twice that.

// Forward-shaped product: 8 rows x (16*nv) columns of out, from one row block of wt (implicit.h: the 8
// weights for one k are adjacent, and the next k's follow) and col. Each step over k multiplies 8 broadcast
// weights by 3 vectors of col into 24 accumulators that stay in registers for the whole sum. col comes from a
// packed panel (K, 48) that the block's first tile (build) fills from the taps as it goes, reading them
// from the image once, as the later tiles read them back, instead of a pass over the taps of its own first
// (with 16 output channels a panel feeds only 2 tiles: bench-conv --n 32 --c 16 --size 32 --oc 16, 86-92 ->
// 97-99 GFLOP/s, and bearnet-s's 64 px step 1.06-1.08x, on a Zen 4). The accumulators are 24 named variables,
// not an array: with an array, any store in the loop (the panel's) made GCC keep them in memory and store
// them on every step (8-channel convs once ran at 35-40% of the peak that way;
// tests/convnet/kernel_registers.sh guards the loops). nv is a constant at each call, so what it leaves out
// is compiled out.
#define TILE_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) // ROW_BLOCK of them

// One row's nv vectors of sums on the way out: the epilogue (conv.h) while they are in registers, in
// conv_epilogue's order.
static inline __attribute__((always_inline)) void tile_row_out(float *o, __m512 s0, __m512 s1, __m512 s2,
                                                               int nv, const __mmask16 *mask, bool accumulate,
                                                               const float *bias, const float *skip,
                                                               bool relu) {
    __m512 s[3] = {s0, s1, s2};
    for (int j = 0; j < nv; j++) {
        if (accumulate) s[j] = _mm512_add_ps(s[j], _mm512_maskz_loadu_ps(mask[j], o + 16 * j));
        if (bias) s[j] = _mm512_add_ps(s[j], _mm512_set1_ps(*bias));
        if (skip) s[j] = _mm512_add_ps(s[j], _mm512_maskz_loadu_ps(mask[j], skip + 16 * j));
        if (relu) s[j] = _mm512_max_ps(_mm512_setzero_ps(), s[j]); // NaN: the 2nd, as relu1
        _mm512_mask_storeu_ps(o + 16 * j, mask[j], s[j]);
    }
}

static inline __attribute__((always_inline)) void product_tile(float *out, int Q, const float *wt,
                                                               float *panel, bool build, const Tap *taps,
                                                               int p, int K, int nv, const __mmask16 *mask,
                                                               bool accumulate, const float *bias,
                                                               const float *skip, bool relu) {
#define TILE_ZERO(i) __m512 a##i##_0 = _mm512_setzero_ps(), a##i##_1 = a##i##_0, a##i##_2 = a##i##_0;
    TILE_ROWS(TILE_ZERO)
    for (int k = 0; k < K; k++, wt += ROW_BLOCK) { // wt_rows: blocks of ROW_BLOCK
        // A layer's weights outgrow L2 from 256 channels on (2.4-9.4 MB), and each tile's run of them
        // starts afresh K*8 floats on: asking for them 32 k ahead made the 512-channel layers 5-9%
        // faster (bench-conv-style A/B on a Zen 4).
        _mm_prefetch((const char *)(wt + 32 * ROW_BLOCK), _MM_HINT_T0);
        float *col = panel + k * COL_BLOCK;
        __m512 b[3] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        if (build) { // the masked loads put the padding's zeros in
            const float *src = taps[k].src + p;
            const uint16_t *bits = taps[k].mask + p / 16;
            for (int j = 0; j < nv; j++)
                _mm512_store_ps(col + 16 * j, b[j] = _mm512_maskz_loadu_ps(bits[j], src + 16 * j));
        } else {
            for (int j = 0; j < nv; j++) b[j] = _mm512_load_ps(col + 16 * j);
        }
#define TILE_FMA(i)                                                                                          \
    {                                                                                                        \
        __m512 w = _mm512_set1_ps(wt[i]);                                                                    \
        a##i##_0 = _mm512_fmadd_ps(w, b[0], a##i##_0);                                                       \
        if (nv > 1) a##i##_1 = _mm512_fmadd_ps(w, b[1], a##i##_1);                                           \
        if (nv > 2) a##i##_2 = _mm512_fmadd_ps(w, b[2], a##i##_2);                                           \
    }
        TILE_ROWS(TILE_FMA)
    }
#define TILE_OUT(i)                                                                                          \
    tile_row_out(out + (size_t)(i)*Q, a##i##_0, a##i##_1, a##i##_2, nv, mask, accumulate,                    \
                 bias ? bias + (i) : NULL, skip ? skip + (size_t)(i)*Q : NULL, relu);
    TILE_ROWS(TILE_OUT)
#undef TILE_ZERO
#undef TILE_FMA
#undef TILE_OUT
}

// The tiles of M rows over one block of nv vectors of columns (pixels [p, p + 16*nv)), K of the ldw k of
// each row block of wt, the first tile building the panel from the taps; e (NULL: none) is applied on the
// way out.
static inline __attribute__((always_inline)) void product_rows(float *out, int Q, const float *wt, int ldw,
                                                               int M, float *panel, const Tap *taps, int p,
                                                               int K, int nv, const __mmask16 *mask,
                                                               bool accumulate, const ConvEpilogue *e) {
    for (int m = 0; m < M; m += ROW_BLOCK) {
        float *o = out + (size_t)m * Q + p;
        const float *bias = e && e->bias ? e->bias + m : NULL,
                    *skip = e && e->skip ? e->skip + (size_t)m * Q + p : NULL;
        bool relu = e && e->relu;
        const float *w = wt + (size_t)m * ldw; // this row block
#define TILE(NV)                                                                                             \
    (m == 0 ? product_tile(o, Q, w, panel, true, taps, p, K, NV, mask, accumulate, bias, skip, relu)         \
            : product_tile(o, Q, w, panel, false, taps, p, K, NV, mask, accumulate, bias, skip, relu))
        if (nv == 3)
            TILE(3);
        else if (nv == 2)
            TILE(2);
        else
            TILE(1);
#undef TILE
    }
}

// out (M,Q) = (or +=) W @ col, W as wt (implicit.h), col given as K taps, then the epilogue e (NULL: none;
// its skip laid out as out); panel: K_BLOCK*48 floats of scratch.
// Columns [p0, p1) only (p0 a multiple of 16): a batch-1 forward splits the pixels over threads.
void fast_product_cols(float *out, const float *wt, const Tap *taps, int M, int K, int Q, int p0, int p1,
                       bool accumulate, const ConvEpilogue *e, float *panel) {
    for (int p = p0; p < p1; p += COL_BLOCK) {
        int width = p1 - p < COL_BLOCK ? p1 - p : COL_BLOCK, nv = (width + 15) / 16;
        __mmask16 mask[3];
        for (int j = 0; j < 3; j++) mask[j] = lanes(width - 16 * j);
        // This block of col goes into a contiguous panel (its first row tile fills it): consecutive k
        // are then 192 bytes apart instead of a plane apart. A long K goes in equal slices of at most K_BLOCK
        // (implicit.h), so that the panel stays in L2 for every row tile and no slice is a short rest that
        // pays a pass over out for a few k. (K = 0, a dX phase no tap reads, still makes one pass: it writes
        // the zeros.) A first loop over the slice's taps only asks for the next block's lines.
        int slices = K > K_BLOCK ? (K + K_BLOCK - 1) / K_BLOCK : 1;
        int slice = K > 0 ? (K + slices - 1) / slices : 1;
        for (int k0 = 0; k0 == 0 || k0 < K; k0 += slice) {
            int kn = K - k0 < slice ? K - k0 : slice;
            uintptr_t asked = 0; // where the last tap that asked for the next block's lines starts
            for (int k = 0; k < kn; k++) {
                const float *src = taps[k0 + k].src + p;
                // The next block's pixels of this tap, asked for now: with 16 or 32 channels a panel
                // feeds only 2-4 row tiles, and waiting for its lines to come from L2 took a third
                // of the product's time (perf annotate of bench-conv --c 16 --size 64 --oc 16). The
                // taps along a row (kw) start a float apart and want the same lines, so only a tap more
                // than 8 floats from the last one that asked asks: every tap asking cost 5-15% of the
                // product.
                if ((uintptr_t)src - asked + 32 > 64) {
                    asked = (uintptr_t)src;
                    for (int j = 0; j < 3; j++)
                        _mm_prefetch((const char *)(src + COL_BLOCK + 16 * j), _MM_HINT_T0);
                }
            }
            product_rows(out, Q, wt + (size_t)k0 * ROW_BLOCK, K, M, panel, taps + k0, p, kn, nv, mask,
                         accumulate || k0 > 0,
                         k0 + kn >= K ? e : NULL); // the epilogue on the last slice
        }
    }
}

// Stride 2 splits rows into even and odd pixels, and dX puts them back together; AVX-512 does
// either 16 pixels at a time with one two-vector permute per output vector.

// even[j] = src[2j], odd[j] = src[2j+1] for j < n; odd may be NULL.
void fast_split_pairs(float *even, float *odd, const float *src, int n) {
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

// One 16 x 16 tile in registers: t's rows 0..15 (t_stride apart) = a's columns, each row's lanes 8..15
// half floats after its lanes 0..7. Four rounds of shuffles,
// each pairing elements, then pairs, then 4-wide and 8-wide blocks, of two rows.
void fast_transpose_tile(float *t, size_t t_stride, size_t half, const float *a, size_t a_stride) {
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
    for (int i = 0; i < 16; i++) {
        _mm256_storeu_ps(t + i * t_stride, _mm512_castps512_ps256(r[i]));
        _mm256_storeu_ps(t + i * t_stride + half, _mm512_extractf32x8_ps(r[i], 1));
    }
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

// Lane j of the result is the sum of the 16 lanes of v_j. One reduction per vector costs 8 shuffles
// and adds on the same pipes as the multiply-adds, about 13% of a chunk's work on 14x14 planes; the
// tree below adds pairs of vectors, each level after one shuffle that lines up their halves, so 16 sums
// cost 45 operations instead of 128. The vectors come by value: given a pointer into the accumulators,
// GCC kept them in memory and stored all 24 on every step of wgrad_tile's loop (36% of the peak on a
// Zen 4 instead of 78%).
static inline __attribute__((always_inline)) __m512
sum_lanes16(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __m512 v4, __m512 v5, __m512 v6, __m512 v7, __m512 v8,
            __m512 v9, __m512 v10, __m512 v11, __m512 v12, __m512 v13, __m512 v14, __m512 v15) {
    const __m512 v[16] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15};
    __m512 t[8], u[4], w[2];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) // in each 128-bit lane: (a0+a2, b0+b2, a1+a3, b1+b3)
        t[k] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]),
                             _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]));
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) // in each 128-bit lane: the partial sums of v[4k .. 4k+3]
        u[k] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * k], t[2 * k + 1], 0x44),
                             _mm512_shuffle_ps(t[2 * k], t[2 * k + 1], 0xee));
#pragma GCC unroll 2
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
    __m512 acc[WG_ROWS * WG_COLS]; // acc[i * nc + j]; those past WG_ROWS * nc stay zero
#pragma GCC unroll 24
    for (int k = 0; k < WG_ROWS * WG_COLS; k++) acc[k] = _mm512_setzero_ps();
    for (int q = 0; q < n; q += 16) {
        __mmask16 m = _load_mask16((__mmask16 *)&mask[q / 16]);
        __m512 b[WG_COLS];
#pragma GCC unroll 6
        for (int j = 0; j < nc; j++) b[j] = _mm512_maskz_loadu_ps(m, c[j] + q);
#pragma GCC unroll 4
        for (int i = 0; i < WG_ROWS; i++) {
            __m512 a = _mm512_maskz_loadu_ps(m, y[i] + q);
#pragma GCC unroll 6
            for (int j = 0; j < nc; j++) acc[i * nc + j] = _mm512_fmadd_ps(a, b[j], acc[i * nc + j]);
        }
    }
    float sum[32] = {0}; // GCC cannot see that mo and mk keep the reads below WG_ROWS * nc
    _mm512_storeu_ps(sum, sum_lanes16(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7], acc[8],
                                      acc[9], acc[10], acc[11], acc[12], acc[13], acc[14], acc[15]));
    if (WG_ROWS * nc > 16) {
        const __m512 z = _mm512_setzero_ps();
        _mm512_storeu_ps(sum + 16, sum_lanes16(acc[16], acc[17], acc[18], acc[19], acc[20], acc[21], acc[22],
                                               acc[23], z, z, z, z, z, z, z, z));
    }
    for (int i = 0; i < mo; i++)
        for (int j = 0; j < mk; j++) dw[(size_t)i * K + (size_t)j * kstride] += sum[i * nc + j];
}

// One tile of dW for implicit_backward.c's loop: mk (<= WG_COLS) taps c against mo (<= WG_ROWS) rows y.
void fast_wgrad_tile(float *dw, int K, int kstride, int mo, int mk, const float **y, const float **c,
                     const uint16_t *mask, int n) {
    if (mk > 4)
        wgrad_tile(dw, K, kstride, mo, mk, 6, y, c, mask, n);
    else if (mk > 2)
        wgrad_tile(dw, K, kstride, mo, mk, 4, y, c, mask, n);
    else
        wgrad_tile(dw, K, kstride, mo, mk, 2, y, c, mask, n);
}

// dst[2j] (+)= even[j], dst[2j+1] (+)= odd[j] for j < n; odd NULL: zeros (no tap reads that phase).
void fast_join_pairs(float *dst, const float *even, const float *odd, int n, bool accumulate) {
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ih = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int j = 0; j < n; j += 16) {
        int rest = n - j;
        __mmask16 m = lanes(rest), mlo = lanes(2 * rest), mhi = lanes(2 * rest - 16);
        __m512 e = _mm512_maskz_loadu_ps(m, even + j),
               o = odd ? _mm512_maskz_loadu_ps(m, odd + j) : _mm512_setzero_ps();
        __m512 lo = _mm512_permutex2var_ps(e, il, o), hi = _mm512_permutex2var_ps(e, ih, o);
        if (accumulate) {
            lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(mlo, dst + 2 * j));
            hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(mhi, dst + 2 * j + 16));
        }
        _mm512_mask_storeu_ps(dst + 2 * j, mlo, lo);
        _mm512_mask_storeu_ps(dst + 2 * j + 16, mhi, hi);
    }
}
