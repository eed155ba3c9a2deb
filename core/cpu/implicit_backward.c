// implicit_backward.c — the backward of the implicit-im2col convolution: the weight gradient dW and
// the input gradient dX on the machinery that implicit.c explains (read it first; conv.c before it). dW
// has a kernel of its own (its tile is in kernels_avx512.c / kernels_avx2.c); dX is the forward's
// product again, over taps shifted the other way.
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "autograd.h"
#include "conv_fast.h"
#include "implicit.h"

static const float wg_zeros[WG_CHUNK]; // stands in for the rows past M or C in the last tiles

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
                        fast_wgrad_tile(dw + (size_t)m * K + c0 * KK + t, K, KK, mo, mk, y, c, mask, n);
                    }
                }
        }
}

// dW by the forward's product instead, over the input in channels-last order. Output pixel q = (n,i,j)
// meets row kh of its patch, x[n, :, i*st + kh - pad, j*st - pad + kw] for kw < KW, and with each pixel's
// C channels adjacent (x transposed to (n, H, W, C)) that row is KW*C adjacent floats. So for each kh
//     dWt_kh (OC, KW*C) += dY (OC, Q) @ rows_kh (Q, KW*C),
// with dY^T standing where the forward has W^T, the pixels as the product's K and one tap per pixel
// pointing at its row: no copy of col, no sums across lanes, the forward kernel's speed. A row's lanes
// are masked by which kw fall inside the image (the pattern (lo, hi): lanes [lo*C, hi*C) on), all off
// when the row itself is outside. The product's columns are (kw, c), so dW is accumulated as
// (kh, OC, KW, C) and put in its (OC, C, KH, KW) order once per call (dw_from_products).
typedef struct {
    int words;      // 16-bit words per pattern: KW*width lanes
    uint16_t *bits; // pattern lo*(KW+1) + hi; pattern 0 has no lane on
} RowMasks;

// The patterns for rows of KW runs of width lanes (rows: C lanes per kw; patches, below: KH*C).
static RowMasks row_masks(const ConvShape *s, int width) {
    int KW = s->KW, words = (KW * width + 15) / 16;
    RowMasks m = {words, step_alloc(sizeof(uint16_t) * (size_t)(KW + 1) * (KW + 1) * words)};
    memset(m.bits, 0, sizeof(uint16_t) * (size_t)(KW + 1) * (KW + 1) * words);
    for (int lo = 0; lo <= KW; lo++)
        for (int hi = lo + 1; hi <= KW; hi++)
            fast_set_bits(m.bits + (size_t)(lo * (KW + 1) + hi) * words, lo * width, hi * width);
    return m;
}

// The pattern of a patch row whose kw = 0 column is c0: the kw that fall inside the image on (pattern 0
// when none do).
static const uint16_t *kw_lanes(const RowMasks *rm, const ConvShape *s, int c0) {
    int lo = c0 < 0 ? -c0 : 0, hi = s->W - c0 < s->KW ? s->W - c0 : s->KW;
    return lo < hi ? rm->bits + (size_t)(lo * (s->KW + 1) + hi) * rm->words : rm->bits;
}

// dwt (KH, OC, KW*C) += the group's dW in that order; uses the scratch's xq, tmp and taps.
static void wgrad_rows(float *dwt, const float *x, const float *dyq, int nb, const ConvShape *s,
                       const RowMasks *rm, const Scratch *z) {
    int P = s->OH * s->OW, Q = nb * P, HW = s->H * s->W, C = s->C, KW = s->KW, L = KW * C;
    float *xt = z->xq; // (nb, H, W, C)
    for (int n = 0; n < nb; n++) fast_transpose(xt + (size_t)n * C * HW, x + (size_t)n * C * HW, C, HW);
    const float *dyt = fast_pack_rows(z->tmp, dyq, s->OC, Q);
    for (int kh = 0; kh < s->KH; kh++) {
        for (int n = 0, q = 0; n < nb; n++)
            for (int i = 0; i < s->OH; i++)
                for (int j = 0; j < s->OW; j++, q++) {
                    int r = i * s->stride + kh - s->padding, c0 = j * s->stride - s->padding;
                    // (c0 < 0 points before the row: only formed, its lanes are off)
                    z->taps[q] = r >= 0 && r < s->H ? (Tap){xt + ((ptrdiff_t)(n * s->H + r) * s->W + c0) * C,
                                                            kw_lanes(rm, s, c0)}
                                                    : (Tap){xt, rm->bits};
                }
        fast_product(dwt + (size_t)kh * s->OC * L, dyt, z->taps, s->OC, Q, L, true, NULL, z->panel);
    }
}

// A conv of few channels (ResNet's 7x7 stem of 3) has patch rows of only KW*C floats (21), a third of a
// column block: by rows its product would mostly multiply zeros. Its whole patch is made adjacent
// instead, in a copy of the input with the KH rows each output row reads side by side:
//     xe[n, i, w, kh, c] = x[n, c, i*st - pad + kh, w]   (zero outside the image),
// OH*W*KH*C floats an image (KH/st times the input). Output pixel (i,j)'s patch is then the
// KW*KH*C adjacent floats from xe[n, i, j*st - pad], in (kw, kh, c) order, and
//     dWt (OC, KW*KH*C) += dY (OC, Q) @ patches (Q, KW*KH*C)
// is one product with one tap per pixel, its lanes masked by which kw fall inside the image.
static void wgrad_patches(float *dwt, float *xe, const float *x, const float *dyq, int nb, const ConvShape *s,
                          const RowMasks *rm, const Scratch *z) {
    int C = s->C, KH = s->KH, KW = s->KW, W = s->W, L = KW * KH * C;
    size_t width = (size_t)KH * C; // floats per input column of xe
    for (int n = 0; n < nb; n++)
        for (int i = 0; i < s->OH; i++)
            for (int kh = 0; kh < KH; kh++) {
                int r = i * s->stride - s->padding + kh;
                float *e = xe + ((size_t)n * s->OH + i) * W * width + (size_t)kh * C;
                if (r < 0 || r >= s->H) {
                    for (int w = 0; w < W; w++) memset(e + w * width, 0, sizeof(float) * (size_t)C);
                    continue;
                }
                for (int c = 0; c < C; c++) {
                    const float *src = x + (((size_t)n * C + c) * s->H + r) * W;
                    for (int w = 0; w < W; w++) e[w * width + c] = src[w];
                }
            }
    int Q = nb * s->OH * s->OW;
    const float *dyt = fast_pack_rows(z->tmp, dyq, s->OC, Q);
    for (int n = 0, q = 0; n < nb; n++)
        for (int i = 0; i < s->OH; i++)
            for (int j = 0; j < s->OW; j++, q++) {
                int c0 = j * s->stride - s->padding;
                // (c0 < 0 points before the row: only formed, its lanes are off)
                z->taps[q] =
                    (Tap){xe + (((ptrdiff_t)n * s->OH + i) * W + c0) * (ptrdiff_t)width, kw_lanes(rm, s, c0)};
            }
    fast_product(dwt, dyt, z->taps, s->OC, Q, L, true, NULL, z->panel);
}

// Which convs take dW by rows: those with wide patch rows (KW*C) and more than one kw. Against
// wgrad_product's tile on an Intel Xeon with AVX-512 (tests/bench/bench-conv, dW, fastest of 3 x 4 runs,
// one thread): ResNet's 3x3 layers of 64-512 channels 1.34-1.46x, bearnet-s's of 32-128 channels
// 1.24-1.32x; 16 channels 0.92x (stride 2: 1.14x), the 7x7 stem of 3 channels 0.94x, the 1x1 downsamples
// 0.64-0.90x (every pixel is transposed, one in four read). An AVX2 build there: 1.10-1.14x on the
// 3x3 layers that take the implicit path (fast_weights), the rest as before.
static bool wgrad_by_rows(const ConvShape *s) {
    return fast_rows(s->OC) && s->KW > 1 && s->KW * s->C >= 96;
}
// Which take it by patches: those whose rows are too narrow but whose whole patches fill column blocks
// (147 floats: 3 blocks of 48 and 3 lanes), with enough output channels (row tiles) to share each panel.
// ResNet's stem on that Xeon, fastest of 4 interleaved bench-conv --n 4 --c 3 --size 224 --oc 64 --k 7
// --stride 2 --runs 3: 48.4 -> 60.4 GFLOP/s (1.25x). Its AVX2 build read 30.9 -> 28.0, so AVX2 keeps the
// tile.
static bool wgrad_by_patches(const ConvShape *s) {
#ifdef __AVX512F__
    return fast_rows(s->OC) && s->OC >= 64 && s->KW > 1 && s->KW * s->C < 96 && s->KH * s->KW * s->C >= 96;
#else
    (void)s;
    return false;
#endif
}

// dw (OC, C, KH, KW) += dwt in its product's order, with C adjacent: (KH, OC, KW, C) by rows, (OC, KW,
// KH, C) by patches.
static void dw_from_products(float *dw, const float *dwt, const ConvShape *s, bool patches) {
    int KK = s->KH * s->KW, K = s->C * KK;
    size_t C = (size_t)s->C, m_step = patches ? C * KK : C * s->KW,
           kh_step = patches ? C : (size_t)s->OC * s->KW * C, kw_step = patches ? C * s->KH : C;
    for (int m = 0; m < s->OC; m++)
        for (int kh = 0; kh < s->KH; kh++)
            for (int kw = 0; kw < s->KW; kw++) {
                const float *src = dwt + m * m_step + kh * kh_step + kw * kw_step;
                float *dst = dw + (size_t)m * K + kh * s->KW + kw;
                for (size_t c = 0; c < C; c++) dst[c * KK] += src[c];
            }
}

// The kernel taps that read phase (a,b) of x, as kh*KW + kw in (kh, kw) order; *n of them (step memory).
static const int *phase_taps(int a, int b, const ConvShape *s, int *n) {
    int *kk = step_alloc(sizeof(int) * (size_t)s->KH * s->KW);
    *n = 0;
    for (int kh = 0; kh < s->KH; kh++)
        for (int kw = 0; kw < s->KW; kw++)
            if (fast_tap_phase(kh, s) == a && fast_tap_phase(kw, s) == b) kk[(*n)++] = kh * s->KW + kw;
    return kk;
}

// d loss / d x, one phase (a,b) of x at a time: pixel (i,j) of the phase met dY at (i-dh, j-dw)
// through every tap (kh,kw) of that phase, so
//     dx_phase[c, q] = sum over o and those taps of w[o,c,kh,kw] * dY[o, q - dh*OW - dw],
// the same product as the forward's with the taps shifted the other way. These are the taps
// of phase (a,b) in (o, kh, kw) order over the group's dY rows (OC, nb*P); returns their count.
static int dx_taps(Tap *taps, const float *dyq, int nb, int a, int b, const ConvShape *s, const Masks *m) {
    int P = s->OH * s->OW, n;
    const int *kk = phase_taps(a, b, s, &n);
    for (int o = 0; o < s->OC; o++)
        for (int k = 0; k < n; k++) {
            int dh = fast_tap_shift(kk[k] / s->KW, s), dw = fast_tap_shift(kk[k] % s->KW, s);
            taps[o * n + k] = (Tap){dyq + (size_t)o * nb * P - dh * s->OW - dw, fast_mask_of(m, -dh, -dw)};
        }
    return s->OC * n;
}

// The weights of dX's product, for each phase in turn: W' (C, the phase's taps in dx_taps' order) in
// the products' row blocks of B = wt_rows(C) (implicit.h). Every weight is moved, every step (ResNet-18
// has 11M), so output channels go to the threads, and each reads its channel's weights front to back:
// for each block of B input channels, one contiguous run of its taps' columns from B * KK adjacent
// floats of w. (On AVX-512, B = 8: writing one float per block for each tap instead, dX of layer4 at
// batch 1 took 3.66 ms, 2.95-3.11 with runs. Taking (block, output channel) pairs in block order, which
// reads w 18 KB apart at every step, a 512 x 512 3x3 took 1.6-2.4 ms to reorder, against 1.1-1.4 ms
// walking w in order: a standalone copy of this loop on a Zen 4, two threads.)
static float *dx_weights(const float *w, const ConvShape *s) {
    int KK = s->KH * s->KW, B = wt_rows(s->C);
    float *t = step_alloc(sizeof(float) * (size_t)s->OC * KK * s->C), *r = t;
    for (int a = 0; a < s->stride; a++)
        for (int b = 0; b < s->stride; b++) {
            int n;
            const int *kk = phase_taps(a, b, s, &n);
            size_t KT = (size_t)s->OC * n; // this phase's K
#pragma omp parallel for schedule(static) if (KT * s->C >= 1 << 16)
            for (int o = 0; o < s->OC; o++)
                for (int c0 = 0; c0 < s->C; c0 += B) {
                    const float *src = w + ((size_t)o * s->C + c0) * KK;
                    float *dst = r + ((size_t)c0 * KT + (size_t)o * n * B); // block c0 / B, column o * n
                    for (int k = 0; k < n; k++)
                        for (int i = 0; i < B; i++) dst[(size_t)k * B + i] = src[(size_t)i * KK + kk[k]];
                }
            r += KT * s->C;
        }
    return t;
}

// The largest stride whose dX is computed here by phases (ResNet's are 1 and 2); conv.c's col2im takes
// larger ones.
enum { DX_STRIDE_MAX = 4 };

// dx (+)= the phases of dX in tmp[a,b] (C, nb*P), each pixel (i*st + a, j*st + b) from its phase; rows
// [r0, r1) of the nb*C*st*OH rows (n, c, a, i) that the phases fill, so that threads can share them.
// A phase no tap reads (three of the four of a 1x1 stride-2 conv) got no product: its pixels get zero.
static void phases_to_pixels(float *dx, const float *tmp, int nb, const ConvShape *s, bool overwrite_dx,
                             size_t r0, size_t r1) {
    int st = s->stride, P = s->OH * s->OW;
    size_t phase = (size_t)s->C * nb * P;
    bool used_a[DX_STRIDE_MAX], used_b[DX_STRIDE_MAX]; // which phase rows and columns some tap reads
    for (int a = 0; a < st; a++)
        used_a[a] = fast_phase_used(a, s->KH, s), used_b[a] = fast_phase_used(a, s->KW, s);
    for (size_t r = r0; r < r1; r++) {
        int i = (int)(r % s->OH), a = (int)(r / s->OH % st), c = (int)(r / s->OH / st % s->C),
            n = (int)(r / s->OH / st / s->C);
        float *d = dx + (((size_t)n * s->C + c) * s->H + (size_t)i * st + a) * s->W;
        const float *v = tmp + (size_t)a * st * phase + ((size_t)c * nb + n) * P + (size_t)i * s->OW;
        if (!used_a[a]) {
            if (overwrite_dx) memset(d, 0, sizeof(float) * (size_t)s->W);
        } else if (st == 2) {
            fast_join_pairs(d, v, used_b[1] ? v + phase : NULL, s->OW, !overwrite_dx);
        } else {
            for (int j = 0; j < s->W; j++)
                d[j] = (overwrite_dx ? 0.0f : d[j]) +
                       (used_b[j % st] ? v[(size_t)(j % st) * phase + j / st] : 0.0f);
        }
    }
}

// How a batch's dW goes: through wgrad_product's tile over the forward's taps (rm.bits NULL), by rows or
// by patches (into a thread's dwt in their orders, patches through its xe).
typedef struct {
    bool patches;
    RowMasks rm;
} DwWay;

// dW and dX of one group on the implicit path. dW (OC,K) += dY @ col^T the way `way` says (xe: the
// thread's patches buffer); dX one phase at a time, written straight into dx for a stride-1 conv of one
// image.
static void implicit_backward(float *dx, float *dw, const float *x, const float *dy, int nb, const float *wdx,
                              const ConvShape *s, const Masks *mf, const Masks *mb, const DwWay *way,
                              float *xe, bool overwrite_dx, const Scratch *z) {
    int P = s->OH * s->OW;
    const float *dyq = fast_group_rows(z->dyq, dy, nb, s->OC, P);
    if (dw && way->rm.bits && way->patches) {
        wgrad_patches(dw, xe, x, dyq, nb, s, &way->rm, z);
    } else if (dw && way->rm.bits) {
        wgrad_rows(dw, x, dyq, nb, s, &way->rm, z);
    } else if (dw) {
        fast_forward_taps(z->taps, fast_phase_planes(z->xq, x, nb, s), nb, s, mf);
        wgrad_product(dw, dyq, z->taps, s->OC, s->C, s->KH * s->KW, nb * P);
    }
    if (!dx) return;
    int st = s->stride;
    if (st == 1) { // one phase: straight into dx for one image
        int KT = dx_taps(z->taps, dyq, nb, 0, 0, s, mb);
        fast_product(nb == 1 ? dx : z->tmp, wdx, z->taps, s->C, KT, nb * P, nb == 1 && !overwrite_dx, NULL,
                     z->panel);
        if (nb > 1) fast_ungroup_rows(dx, z->tmp, nb, s->C, P, !overwrite_dx);
        return;
    }
    // every phase (a,b) of dX into tmp[a,b] (C, nb*P), then back to pixels (i*st + a, j*st + b)
    size_t phase = (size_t)s->C * nb * P;
    for (int a = 0; a < st; a++)
        for (int b = 0; b < st; b++) {
            int KT = dx_taps(z->taps, dyq, nb, a, b, s, mb); // none: phases_to_pixels writes zeros
            if (KT)
                fast_product(z->tmp + (size_t)(a * st + b) * phase, wdx, z->taps, s->C, KT, nb * P, false,
                             NULL, z->panel);
            wdx += (size_t)KT * s->C;
        }
    phases_to_pixels(dx, z->tmp, nb, s, overwrite_dx, 0, (size_t)nb * s->C * st * s->OH);
}

// dW of one image of few pixels (ResNet's layer4 at 224 px has 7x7) by the forward's product instead.
// wgrad_product's sums run along the pixels, and 49 of them are 3 vectors and 1 lane (on AVX-512), each
// tile's 24 sums then reduced across lanes: 21% of peak on layer4 (bench-conv --n 1 --c 512 --size 7 --oc
// 512; this way 5.1 -> 2.8-4.7 ms, 14x14 2.1-2.8 -> 1.9-2.3 ms, one thread on a loaded machine: writing dW,
// 9 MB for layer4, is then a good part of the time).
// Here the pixels are the product's short inner dimension and K its long columns:
//     dW (OC, K) += dY (OC, P) @ colT (P, K),
// colT holding the image's patches one row per pixel (im2col's col, transposed) and dY^T standing where
// the forward has W^T. Each thread takes its run of column blocks of K.
enum { FEW_PIXELS = 256 };
typedef struct {
    const float *dy_t; // dY (OC, P) as wt, in row blocks
    Tap *taps;         // pixel q: row q of colT, every lane of its K columns on
} FewPixelsDw;

static FewPixelsDw few_pixels_dw_prepare(const float *x, const float *dy, const ConvShape *s) {
    int P = s->OH * s->OW, K = s->C * s->KH * s->KW, words = (K + 15) / 16;
    float *col = step_alloc(sizeof(float) * (size_t)K * P),
          *col_t = step_alloc(sizeof(float) * (size_t)K * P);
    im2col(col, x, s);
    fast_transpose(col_t, col, K, P);
    uint16_t *on = step_alloc(sizeof(uint16_t) * (size_t)words);
    for (int w = 0; w < words; w++) on[w] = lane_bits(K - 16 * w);
    Tap *taps = step_alloc(sizeof(Tap) * (size_t)P);
    for (int q = 0; q < P; q++) taps[q] = (Tap){col_t + (size_t)q * K, on};
    float *dy_t = step_alloc(sizeof(float) * (size_t)P * s->OC);
    return (FewPixelsDw){fast_pack_rows(dy_t, dy, s->OC, P), taps};
}

// Thread t of team's share of dW (+=), columns in whole blocks.
static void few_pixels_dw(float *dw, const FewPixelsDw *f, const ConvShape *s, int t, int team,
                          float *panel) {
    int K = s->C * s->KH * s->KW, blocks = (K + COL_BLOCK - 1) / COL_BLOCK;
    int p0 = blocks * t / team * COL_BLOCK, p1 = blocks * (t + 1) / team * COL_BLOCK;
    if (p0 < K)
        fast_product_cols(dw, f->dy_t, f->taps, s->OC, s->OH * s->OW, K, p0, p1 < K ? p1 : K, true, NULL,
                          panel);
}

// Batch 1 (fine-tuning on one picture) has no images to share out, so the threads split one image's
// work, as the batch-1 forward splits its pixels: dW by rows (output channels, whole tiles of
// WG_ROWS: no partial sums to add), dX by equal runs of whole vectors of each phase's pixels (in
// AVX-512's blocks of 48, ResNet's 7x7 planes went 48 + 1 to two threads), then by rows back to pixels.
// (A stride over DX_STRIDE_MAX takes the path of batches, for dW only.)
static void single_image_backward(float *dx, float *dw, const float *x, const float *dy, const float *w,
                                  const ConvShape *s, int threads, bool overwrite_dx) {
    int P = s->OH * s->OW, st = s->stride, KK = s->KH * s->KW, K = s->C * KK;
    int V = (P + 15) / 16, tiles = (s->OC + WG_ROWS - 1) / WG_ROWS;
    Masks mf = fast_masks_build(s, 1, false), mb = fast_masks_build(s, 1, true);
    Scratch *z = fast_scratch_alloc(1, s, 1); // one copy of the phases and taps; a panel per thread
    float *panels = step_alloc(sizeof(float) * (size_t)threads * PANEL_FLOATS);
    bool few = dw && P <= FEW_PIXELS && fast_rows(s->OC);
    FewPixelsDw fp = few ? few_pixels_dw_prepare(x, dy, s) : (FewPixelsDw){NULL, NULL};
    if (dw && !few) fast_forward_taps(z->taps, fast_phase_planes(z->xq, x, 1, s), 1, s, &mf);
    // every phase's dX taps and weights, side by side: phase f has taps[f0[f], f0[f+1])
    Tap *dtaps = step_alloc(sizeof(Tap) * (size_t)s->OC * KK);
    int f0[DX_STRIDE_MAX * DX_STRIDE_MAX + 1] = {0};
    const float *wdx = dx ? dx_weights(w, s) : NULL;
    for (int f = 0; dx && f < st * st; f++)
        f0[f + 1] = f0[f] + dx_taps(dtaps + f0[f], dy, 1, f / st, f % st, s, &mb);
    size_t phase = (size_t)s->C * P;
#pragma omp parallel num_threads(threads)
    { // the team may be smaller than asked for (nested, OMP_THREAD_LIMIT): split by its size
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        int m0 = tiles * t / team * WG_ROWS, m1 = tiles * (t + 1) / team * WG_ROWS;
        float *panel = panels + (size_t)t * PANEL_FLOATS;
        if (few)
            few_pixels_dw(dw, &fp, s, t, team, panel);
        else if (dw && m0 < s->OC)
            wgrad_product(dw + (size_t)m0 * K, dy + (size_t)m0 * P, z->taps, (m1 < s->OC ? m1 : s->OC) - m0,
                          s->C, KK, P);
        int p0 = 16 * (V * t / team), p1 = 16 * (V * (t + 1) / team);
        for (int f = 0; dx && f < st * st; f++) // stride 1: straight into dx
            if (f0[f + 1] > f0[f])
                fast_product_cols(st == 1 ? dx : z->tmp + f * phase, wdx + (size_t)f0[f] * s->C,
                                  dtaps + f0[f], s->C, f0[f + 1] - f0[f], P, p0, p1 < P ? p1 : P,
                                  st == 1 && !overwrite_dx, NULL, panel);
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
    // the weight-gradient kernel takes any shape the masks can describe
    bool implicit = aligned_conv(s) && fast_weights(s->OC, s->C * s->KH * s->KW, s->N);
    bool implicit_dx = dx && implicit && fast_rows(s->C) && s->stride <= DX_STRIDE_MAX;
    *did_dw = dws && implicit, *did_dx = implicit_dx;
    if (implicit && (dws || implicit_dx) && s->N == 1 && threads == 1 && omp_get_max_threads() > 1 &&
        s->stride <= DX_STRIDE_MAX) {
        single_image_backward(implicit_dx ? dx : NULL, dws, x, dout, w, s, omp_get_max_threads(),
                              overwrite_dx);
    } else if (implicit && (dws || implicit_dx)) {
        int groups = fast_group_count(s, threads), most = (s->N + groups - 1) / groups;
        Masks mf[2], mb[2];
        fast_masks(mf, s, most, false), fast_masks(mb, s, most, true);
        Scratch *sc = fast_scratch_alloc(threads, s, most);
        float *wdx = implicit_dx ? dx_weights(w, s) : NULL;
        // by the forward's product (rows or patches), dW goes through a per-thread dwt in its own order
        bool patches = dws && wgrad_by_patches(s), product = patches || (dws && wgrad_by_rows(s));
        DwWay way = {patches, product ? row_masks(s, patches ? s->KH * s->C : s->C) : (RowMasks){0, NULL}};
        float *dwts = product ? step_alloc(sizeof(float) * (size_t)threads * w_size) : NULL;
        size_t xe_size = (size_t)most * s->OH * s->W * s->KH * s->C; // an xe per thread
        float *xes = patches ? step_alloc(sizeof(float) * (size_t)threads * xe_size) : NULL;
#pragma omp parallel num_threads(threads)
        {
            int t = omp_get_thread_num();
            float *dwt = product ? dwts + (size_t)t * w_size : NULL,
                  *dwn = dws ? dws + (size_t)t * w_size : NULL;
            if (dwt) memset(dwt, 0, sizeof(float) * w_size);
#pragma omp for schedule(static)
            for (int g = 0; g < groups; g++) {
                int n0 = fast_group_first(g, groups, s->N), nb = fast_group_first(g + 1, groups, s->N) - n0;
                implicit_backward(implicit_dx ? dx + n0 * x_image : NULL, dwt ? dwt : dwn, x + n0 * x_image,
                                  dout + n0 * out_image, nb, wdx, s, &mf[most - nb], &mb[most - nb], &way,
                                  xes ? xes + t * xe_size : NULL, overwrite_dx, &sc[t]);
            }
            if (dwt) dw_from_products(dwn, dwt, s, patches);
        }
    }
}
