// conv.c — convolution as im2col + sgemm, its naive reference, and the conv2d tape op.
//
// Why im2col: a convolution is many small dot products between the weight of one output channel
// and one patch of input pixels. Copying every patch into a column of a matrix ("image to
// columns") turns all of them into one matrix product, out = W (OC, C*KH*KW) @ col, and matrix
// products are what OpenBLAS does at near the machine's peak. The copy costs memory traffic, but
// far less time than the product it enables (darknet and Caffe made the same choice).
//
// Threads: the batch is split across OpenMP threads, each with its own col buffer, and every
// thread calls sgemm single-threaded. One sgemm per image keeps col small enough to stay in cache
// (a whole-batch col at 64 px would be 150 MB), and it keeps the im2col copies and col2im sums
// parallel too. Debian's OpenBLAS runs its own pthread pool; letting both pools loose on 2 cores
// oversubscribes them, so OpenBLAS is told to use 1 thread while our team runs (see blas_serial).
#include "conv.h"

#include <cblas.h>
#include <omp.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include <string.h>

#include "autograd.h"
#include "layers.h"

ConvShape conv_shape(int N, int C, int H, int W, int OC, int KH, int KW, int stride, int padding) {
    if (stride < 1 || padding < 0 || KH < 1 || KW < 1 || H + 2 * padding < KH || W + 2 * padding < KW)
        sgd_panic("conv2d: kernel %dx%d, stride %d, padding %d does not fit a %dx%d input", KH, KW, stride,
                  padding, H, W);
    ConvShape s = {N, C, H, W, OC, KH, KW, stride, padding, 0, 0};
    s.OH = (H + 2 * padding - KH) / stride + 1;
    s.OW = (W + 2 * padding - KW) / stride + 1;
    return s;
}

// ---------------------------------------------------------------------------------------------
// the reference: straight from the definition, accumulating in double

void conv2d_forward_naive(float *out, const float *x, const float *w, const float *b, const ConvShape *s) {
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->OC; o++)
            for (int i = 0; i < s->OH; i++)
                for (int j = 0; j < s->OW; j++) {
                    double acc = b ? b[o] : 0.0;
                    for (int c = 0; c < s->C; c++)
                        for (int kh = 0; kh < s->KH; kh++)
                            for (int kw = 0; kw < s->KW; kw++) {
                                int ih = i * s->stride - s->padding + kh,
                                    iw = j * s->stride - s->padding + kw;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                                acc += (double)w[((o * s->C + c) * s->KH + kh) * s->KW + kw] *
                                       x[(((size_t)n * s->C + c) * s->H + ih) * s->W + iw];
                            }
                    out[(((size_t)n * s->OC + o) * s->OH + i) * s->OW + j] = (float)acc;
                }
}

// Each weight w[o,c,kh,kw] met input x[n,c,ih,iw] in output out[n,o,i,j], so
//     dx[n,c,ih,iw] += w[o,c,kh,kw] * dout[n,o,i,j],   dw[o,c,kh,kw] += x[n,c,ih,iw] * dout[n,o,i,j],
//     db[o] += dout[n,o,i,j]
void conv2d_backward_naive(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                           const ConvShape *s) {
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->OC; o++)
            for (int i = 0; i < s->OH; i++)
                for (int j = 0; j < s->OW; j++) {
                    float g = dout[(((size_t)n * s->OC + o) * s->OH + i) * s->OW + j];
                    if (db) db[o] += g;
                    for (int c = 0; c < s->C; c++)
                        for (int kh = 0; kh < s->KH; kh++)
                            for (int kw = 0; kw < s->KW; kw++) {
                                int ih = i * s->stride - s->padding + kh,
                                    iw = j * s->stride - s->padding + kw;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                                size_t xi = (((size_t)n * s->C + c) * s->H + ih) * s->W + iw;
                                size_t wi = ((size_t)(o * s->C + c) * s->KH + kh) * s->KW + kw;
                                if (dx) dx[xi] += w[wi] * g;
                                if (dw) dw[wi] += x[xi] * g;
                            }
                }
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im for one image

// Output columns j whose input column j*stride - padding + kw falls inside [0, W): [*lo, *hi).
// Computing the range once lets the copy loops run without a bounds test per pixel.
static void valid_range(int k, int stride, int padding, int in, int out, int *lo, int *hi) {
    int first = padding - k; // j*stride >= padding - k
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = in - 1 + padding - k; // j*stride <= in - 1 + padding - k
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > out) *hi = out;
    if (*lo > *hi) *lo = *hi;
}

void im2col(float *col, const float *x, const ConvShape *s) {
    int P = s->OH * s->OW;
    for (int c = 0; c < s->C; c++)
        for (int kh = 0; kh < s->KH; kh++)
            for (int kw = 0; kw < s->KW; kw++) {
                float *row = col + (size_t)((c * s->KH + kh) * s->KW + kw) * P;
                const float *xc = x + (size_t)c * s->H * s->W;
                int i_lo, i_hi, j_lo, j_hi;
                valid_range(kh, s->stride, s->padding, s->H, s->OH, &i_lo, &i_hi);
                valid_range(kw, s->stride, s->padding, s->W, s->OW, &j_lo, &j_hi);
                memset(row, 0, sizeof(float) * (size_t)i_lo * s->OW);
                for (int i = i_lo; i < i_hi; i++) {
                    float *r = row + (size_t)i * s->OW;
                    const float *xr = xc + (size_t)(i * s->stride - s->padding + kh) * s->W - s->padding + kw;
                    for (int j = 0; j < j_lo; j++) r[j] = 0.0f;
                    if (s->stride == 1)
                        memcpy(r + j_lo, xr + j_lo, sizeof(float) * (size_t)(j_hi - j_lo));
                    else
                        for (int j = j_lo; j < j_hi; j++) r[j] = xr[j * s->stride];
                    for (int j = j_hi; j < s->OW; j++) r[j] = 0.0f;
                }
                memset(row + (size_t)i_hi * s->OW, 0, sizeof(float) * (size_t)(s->OH - i_hi) * s->OW);
            }
}

// The transpose of im2col: every col entry goes back to the pixel it was copied from, added (a
// pixel sits in up to KH*KW patches, and its gradient is the sum over all of them).
void col2im(float *dx, const float *col, const ConvShape *s) {
    int P = s->OH * s->OW;
    for (int c = 0; c < s->C; c++)
        for (int kh = 0; kh < s->KH; kh++)
            for (int kw = 0; kw < s->KW; kw++) {
                const float *row = col + (size_t)((c * s->KH + kh) * s->KW + kw) * P;
                float *dxc = dx + (size_t)c * s->H * s->W;
                int i_lo, i_hi, j_lo, j_hi;
                valid_range(kh, s->stride, s->padding, s->H, s->OH, &i_lo, &i_hi);
                valid_range(kw, s->stride, s->padding, s->W, s->OW, &j_lo, &j_hi);
                for (int i = i_lo; i < i_hi; i++) {
                    const float *r = row + (size_t)i * s->OW;
                    float *dr = dxc + (size_t)(i * s->stride - s->padding + kh) * s->W - s->padding + kw;
                    if (s->stride == 1) {
#pragma omp simd
                        for (int j = j_lo; j < j_hi; j++) dr[j] += r[j];
                    } else {
                        for (int j = j_lo; j < j_hi; j++) dr[j * s->stride] += r[j];
                    }
                }
            }
}

// ---------------------------------------------------------------------------------------------
// the product out (M,P) = W (M,K) @ col (K,P), the heart of the fast path
//
// OpenBLAS does it at ~60 GFLOP/s per core on these shapes: it must use its AVX2 kernels here
// (OPENBLAS_CORETYPE=Haswell), and M (output channels, 16..128) is small next to what it is tuned
// for. On a CPU with AVX-512 a plain register-blocked kernel does about twice that: each step
// over k multiplies 8 rows of W (broadcast) by 48 columns of col (3 vectors of 16), adding into
// 24 accumulators that stay in registers for the whole sum. Elsewhere sgemm is used as is.

// Column blocks are 48 wide (3 vectors); M is taken 8 rows at a time.
enum { COL_BLOCK = 48, ROW_BLOCK = 8 };

// Is the register-blocked kernel usable for M rows? (Otherwise: cblas_sgemm.)
static bool fast_product(int M) {
#ifdef __AVX512F__
    return M % ROW_BLOCK == 0;
#else
    (void)M; // compiled without AVX-512 (e.g. a Debug build): always sgemm
    return false;
#endif
}

// A 1x1 stride-1 unpadded conv reads the image as it is: col would be a copy of x.
static bool col_is_input(const ConvShape *s) {
    return s->KH == 1 && s->KW == 1 && s->stride == 1 && s->padding == 0;
}

#ifdef __AVX512F__
// 8 rows x (16*nv) columns of out, from wt (K,M) (W transposed: the 8 weights for one k are
// adjacent) and a packed panel (K, 48). nv is a constant at each call, so the loops unroll.
static inline __attribute__((always_inline)) void product_tile(float *out, int P, const float *wt, int M,
                                                               const float *panel, int K, int nv,
                                                               const __mmask16 *mask, bool accumulate) {
    __m512 acc[ROW_BLOCK][3];
    for (int i = 0; i < ROW_BLOCK; i++)
        for (int j = 0; j < nv; j++) acc[i][j] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++, wt += M, panel += COL_BLOCK) {
        __m512 b[3];
        for (int j = 0; j < nv; j++) b[j] = _mm512_load_ps(panel + 16 * j);
        for (int i = 0; i < ROW_BLOCK; i++) {
            __m512 w = _mm512_set1_ps(wt[i]);
            for (int j = 0; j < nv; j++) acc[i][j] = _mm512_fmadd_ps(w, b[j], acc[i][j]);
        }
    }
    for (int i = 0; i < ROW_BLOCK; i++)
        for (int j = 0; j < nv; j++) {
            float *o = out + (size_t)i * P + 16 * j;
            if (accumulate) acc[i][j] = _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(mask[j], o));
            _mm512_mask_storeu_ps(o, mask[j], acc[i][j]);
        }
}

// out (M,P) = (or +=) wt^T @ col, wt (K,M), col given as K row pointers, each P floats long;
// panel: K*48 floats of scratch.
static void product(float *out, const float *wt, const float *const *rows, int M, int K, int P,
                    bool accumulate, float *panel) {
    for (int p = 0; p < P; p += COL_BLOCK) {
        int width = P - p < COL_BLOCK ? P - p : COL_BLOCK, nv = (width + 15) / 16;
        __mmask16 mask[3];
        for (int j = 0; j < 3; j++) {
            int lanes = width - 16 * j;
            mask[j] = lanes >= 16 ? 0xffff : lanes <= 0 ? 0 : (__mmask16)((1u << lanes) - 1);
        }
        // Copy this block of columns into a contiguous panel: rows of col are P floats apart, and
        // at P = 4096 that stride maps every row to the same few L1 cache sets.
        for (int k = 0; k < K; k++)
            for (int j = 0; j < nv; j++)
                _mm512_store_ps(panel + k * COL_BLOCK + 16 * j,
                                _mm512_maskz_loadu_ps(mask[j], rows[k] + p + 16 * j));
        for (int m = 0; m < M; m += ROW_BLOCK) {
            float *o = out + (size_t)m * P + p;
            if (nv == 3)
                product_tile(o, P, wt + m, M, panel, K, 3, mask, accumulate);
            else if (nv == 2)
                product_tile(o, P, wt + m, M, panel, K, 2, mask, accumulate);
            else
                product_tile(o, P, wt + m, M, panel, K, 1, mask, accumulate);
        }
    }
}

// The weight gradient dW (M,K) = dY (M,Q) @ col^T is M*K dot products along the pixels, with
// both operands read along their rows. The kernel takes them 4 (rows of dY) x 6 (rows of col) at
// a time: per 16 pixels, 10 vector loads feed 24 multiply-adds into 24 accumulators; each
// accumulator is summed across its 16 lanes once per chunk of pixels. Chunks keep the 6 col rows
// in L1 while every row of dY passes over them.
enum { WG_ROWS = 4, WG_COLS = 6, WG_CHUNK = 1024 };
static const float wg_zeros[WG_CHUNK]; // stands in for the rows past M or K in the last tiles

static inline __attribute__((always_inline)) void wgrad_tile(float *dw, int K, int mo, int mk,
                                                             const float **y, const float **c, int n) {
    __m512 acc[WG_ROWS][WG_COLS];
    for (int i = 0; i < WG_ROWS; i++)
        for (int j = 0; j < WG_COLS; j++) acc[i][j] = _mm512_setzero_ps();
    for (int q = 0; q < n; q += 16) {
        __mmask16 m = n - q >= 16 ? 0xffff : (__mmask16)((1u << (n - q)) - 1);
        __m512 b[WG_COLS];
        for (int j = 0; j < WG_COLS; j++) b[j] = _mm512_maskz_loadu_ps(m, c[j] + q);
        for (int i = 0; i < WG_ROWS; i++) {
            __m512 a = _mm512_maskz_loadu_ps(m, y[i] + q);
            for (int j = 0; j < WG_COLS; j++) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
        }
    }
    // Sum the lanes with constant indices only: a runtime index into acc would make the compiler
    // keep acc in memory and store all 24 accumulators on every step of the loop above.
    float sum[WG_ROWS][WG_COLS];
    for (int i = 0; i < WG_ROWS; i++)
        for (int j = 0; j < WG_COLS; j++) sum[i][j] = _mm512_reduce_add_ps(acc[i][j]);
    for (int i = 0; i < mo; i++)
        for (int j = 0; j < mk; j++) dw[(size_t)i * K + j] += sum[i][j];
}

// dw (M,K) += dy (M,Q) @ col^T, col given as K row pointers each Q floats long.
static void wgrad_product(float *dw, const float *dy, const float *const *rows, int M, int K, int Q) {
    for (int q0 = 0; q0 < Q; q0 += WG_CHUNK) {
        int n = Q - q0 < WG_CHUNK ? Q - q0 : WG_CHUNK;
        for (int k = 0; k < K; k += WG_COLS) {
            int mk = K - k < WG_COLS ? K - k : WG_COLS;
            const float *c[WG_COLS];
            for (int j = 0; j < WG_COLS; j++) c[j] = j < mk ? rows[k + j] + q0 : wg_zeros;
            for (int m = 0; m < M; m += WG_ROWS) {
                int mo = M - m < WG_ROWS ? M - m : WG_ROWS;
                const float *y[WG_ROWS];
                for (int i = 0; i < WG_ROWS; i++) y[i] = i < mo ? dy + (size_t)(m + i) * Q + q0 : wg_zeros;
                wgrad_tile(dw + (size_t)m * K + k, K, mo, mk, y, c, n);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// implicit im2col: the products read a padded, phase-split copy of the images
//
// im2col writes K = C*KH*KW copies of the image. They are not needed: pad the image once, each
// padded row Wq wide, and the im2col row for tap (c,kh,kw) is that padded plane read from offset
// kh*Wq + kw, one column per "virtual" output pixel q = i*Wq + j. The Wq - OW columns j >= OW of
// each virtual row are junk (they run into the next row); the forward drops them, and the weight
// gradient multiplies them by zeros. A stride-s conv becomes a stride-1 one the same way once the
// padded image is split into its s*s phases (every s-th row and column from (a, b)): tap (kh,kw)
// reads phase (kh%s, kw%s) from offset (kh/s)*Wq + kw/s. The copy is about the size of the image.
//
// Small images are taken in groups of nb, their planes one after the other per channel: virtual
// pixel q = n*plane + i*Wq + j then reads image n, and the rows i >= OH between images are junk
// too. One product over the group keeps the kernels' sums long (an 8x8 image alone would give the
// weight gradient 80-pixel sums, and the forward product two 48-column blocks for 64 pixels).
typedef struct {
    int PA, PB;    // phases in use: rows a < PA, columns b < PB
    int Hq, Wq;    // one phase plane of one image is Hq*Wq floats
    int nb;        // images in the group
    int Q;         // virtual output pixels: (nb-1)*plane + OH*Wq
    size_t plane;  // Hq*Wq
    size_t floats; // the whole copy, then Wq zeros that the last taps' junk columns read
    bool is_input; // one image, 1x1, stride 1, no padding: the image itself is the copy
} Phases;

static Phases phases_of(const ConvShape *s, int nb) {
    Phases p;
    p.PA = s->stride < s->KH ? s->stride : s->KH;
    p.PB = s->stride < s->KW ? s->stride : s->KW;
    p.Hq = s->OH + (s->KH - 1) / s->stride;
    p.Wq = s->OW + (s->KW - 1) / s->stride;
    p.nb = nb;
    p.plane = (size_t)p.Hq * p.Wq;
    p.Q = (int)((size_t)(nb - 1) * p.plane) + s->OH * p.Wq;
    p.floats = (size_t)p.PA * p.PB * s->C * nb * p.plane + (size_t)p.Wq;
    p.is_input = nb == 1 && col_is_input(s);
    return p;
}

// Images per group: enough for about GROUP_PIXELS virtual pixels, and a number of groups that
// the threads share evenly. *groups gets the group count; image n of N is in group n*groups/N.
enum { GROUP_PIXELS = 2048 };
static int group_count(const ConvShape *s, int threads) {
    Phases p = phases_of(s, 1);
    int per = (int)(GROUP_PIXELS / p.plane);
    if (per < 1) per = 1;
    int groups = (s->N + per - 1) / per;
    groups = (groups + threads - 1) / threads * threads;
    return groups < s->N ? groups : s->N;
}
static int group_first(int g, int groups, int N) {
    return (int)((long long)g * N / groups);
}

// xq[a*PB + b, c, n, i, j] = x[n, c, i*stride + a - padding, j*stride + b - padding], 0 outside x.
static void build_phases(float *xq, const float *x, const ConvShape *s, const Phases *p) {
    for (int a = 0; a < p->PA; a++)
        for (int b = 0; b < p->PB; b++) {
            int lo, hi; // columns j that land inside x
            valid_range(b, s->stride, s->padding, s->W, p->Wq, &lo, &hi);
            for (int c = 0; c < s->C; c++)
                for (int n = 0; n < p->nb; n++) {
                    float *q = xq + (((size_t)(a * p->PB + b) * s->C + c) * p->nb + n) * p->plane;
                    const float *xc = x + ((size_t)n * s->C + c) * s->H * s->W + b - s->padding;
                    for (int i = 0; i < p->Hq; i++) {
                        float *r = q + (size_t)i * p->Wq;
                        int ih = i * s->stride + a - s->padding;
                        if (ih < 0 || ih >= s->H) {
                            memset(r, 0, sizeof(float) * (size_t)p->Wq);
                            continue;
                        }
                        const float *xr = xc + (size_t)ih * s->W;
                        for (int j = 0; j < lo; j++) r[j] = 0.0f;
                        if (s->stride == 1)
                            memcpy(r + lo, xr + lo, sizeof(float) * (size_t)(hi - lo));
                        else
                            for (int j = lo; j < hi; j++) r[j] = xr[j * s->stride];
                        for (int j = hi; j < p->Wq; j++) r[j] = 0.0f;
                    }
                }
        }
    memset(xq + p->floats - (size_t)p->Wq, 0, sizeof(float) * (size_t)p->Wq);
}

// The K im2col rows of a group as pointers, in im2col's (c, kh, kw) order, each Q floats long.
// xq: scratch of p->floats, unless the image is its own copy.
static const float *const *phase_rows(const float **rows, float *xq, const float *x, const ConvShape *s,
                                      const Phases *p) {
    const float *src = x;
    if (!p->is_input) build_phases(xq, x, s, p), src = xq;
    const float **r = rows;
    for (int c = 0; c < s->C; c++)
        for (int kh = 0; kh < s->KH; kh++)
            for (int kw = 0; kw < s->KW; kw++) {
                int phase = (kh % s->stride) * p->PB + kw % s->stride;
                *r++ = src + ((size_t)phase * s->C + c) * p->nb * p->plane +
                       (size_t)(kh / s->stride) * p->Wq + kw / s->stride;
            }
    return rows;
}

// One thread's scratch for the implicit paths.
typedef struct {
    float *xq, *tmp, *panel;
    const float **rows;
} Scratch;

typedef struct {
    size_t xq, tmp, panel, rows; // floats (rows: pointers)
} ScratchSize;

static void scratch_grow(ScratchSize *z, const ConvShape *s, int nb) {
    Phases p = phases_of(s, nb);
    size_t K = (size_t)s->C * s->KH * s->KW;
    if (!p.is_input && p.floats > z->xq) z->xq = p.floats;
    if ((size_t)s->OC * p.Q > z->tmp) z->tmp = (size_t)s->OC * p.Q;
    if (K * COL_BLOCK > z->panel) z->panel = K * COL_BLOCK;
    if (K > z->rows) z->rows = K;
}

// Per-thread scratch from step memory (64-byte aligned, as the panel's aligned stores need).
static Scratch *scratch_alloc(int threads, const ScratchSize *z) {
    Scratch *sc = step_alloc(sizeof(Scratch) * (size_t)threads);
    for (int t = 0; t < threads; t++) {
        sc[t].xq = z->xq ? step_alloc(sizeof(float) * z->xq) : NULL;
        sc[t].tmp = z->tmp ? step_alloc(sizeof(float) * z->tmp) : NULL;
        sc[t].panel = step_alloc(sizeof(float) * z->panel);
        sc[t].rows = step_alloc(sizeof(float *) * z->rows);
    }
    return sc;
}

// out (nb, OC, OH, OW) = (or +=) the conv of nb images x (nb, C, H, W) by wt = W^T (K, OC).
static void implicit_conv(float *out, const float *x, int nb, const float *wt, const ConvShape *s,
                          bool accumulate, const Scratch *sc) {
    Phases p = phases_of(s, nb);
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    const float *const *rows = phase_rows(sc->rows, sc->xq, x, s, &p);
    if (nb == 1 && p.Wq == s->OW) { // no junk: the virtual output is the output
        product(out, wt, rows, s->OC, K, p.Q, accumulate, sc->panel);
        return;
    }
    product(sc->tmp, wt, rows, s->OC, K, p.Q, false, sc->panel);
    for (int n = 0; n < nb; n++)
        for (int o = 0; o < s->OC; o++)
            for (int i = 0; i < s->OH; i++) {
                const float *v = sc->tmp + (size_t)o * p.Q + n * p.plane + (size_t)i * p.Wq;
                float *r = out + ((size_t)n * s->OC + o) * P + (size_t)i * s->OW;
                if (accumulate)
                    for (int j = 0; j < s->OW; j++) r[j] += v[j];
                else
                    memcpy(r, v, sizeof(float) * (size_t)s->OW);
            }
}

// dw (OC, K) += sum over nb images of dY (OC, OH, OW) @ im2col(x)^T.
static void implicit_wgrad(float *dw, const float *x, const float *dy, int nb, const ConvShape *s,
                           const Scratch *sc) {
    Phases p = phases_of(s, nb);
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    const float *const *rows = phase_rows(sc->rows, sc->xq, x, s, &p);
    const float *dyv = dy;
    if (nb > 1 || p.Wq != s->OW) { // dY laid out as the virtual pixels, zeros against the junk
        float *v = sc->tmp;
        memset(v, 0, sizeof(float) * (size_t)s->OC * p.Q);
        for (int n = 0; n < nb; n++)
            for (int o = 0; o < s->OC; o++)
                for (int i = 0; i < s->OH; i++)
                    memcpy(v + (size_t)o * p.Q + n * p.plane + (size_t)i * p.Wq,
                           dy + ((size_t)n * s->OC + o) * P + (size_t)i * s->OW,
                           sizeof(float) * (size_t)s->OW);
        dyv = v;
    }
    wgrad_product(dw, dyv, rows, s->OC, K, p.Q);
}

// (rows, cols) -> (cols, rows), for the kernel's W^T; from step memory.
static float *transposed(const float *a, int rows, int cols) {
    float *t = step_alloc(sizeof(float) * (size_t)rows * cols);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) t[(size_t)c * rows + r] = a[(size_t)r * cols + c];
    return t;
}

// wt for the dX convolution: (OC*KH*KW, C) with entry [(o,kh,kw), c] = w[o,c,KH-1-kh,KW-1-kw].
static float *turned_kernel(const float *w, const ConvShape *s) {
    int KK = s->KH * s->KW;
    float *t = step_alloc(sizeof(float) * (size_t)s->OC * KK * s->C);
    for (int o = 0; o < s->OC; o++)
        for (int c = 0; c < s->C; c++)
            for (int k = 0; k < KK; k++)
                t[((size_t)o * KK + k) * s->C + c] = w[((size_t)o * s->C + c) * KK + KK - 1 - k];
    return t;
}
#endif

// out (M,P) = (or +=) W @ col with sgemm (the path without AVX-512, and for M not a multiple of 8).
static void sgemm_product(float *out, const float *w, const float *col, int M, int K, int P,
                          bool accumulate) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, P, K, 1.0f, w, K, col, P,
                accumulate ? 1.0f : 0.0f, out, P);
}

// ---------------------------------------------------------------------------------------------
// the fast path

// While our OpenMP team runs one product per thread, OpenBLAS must not start its own threads.
#ifdef OPENBLAS_VERSION
static int blas_serial_begin(void) {
    int n = openblas_get_num_threads();
    if (n > 1) openblas_set_num_threads(1);
    return n;
}
static void blas_serial_end(int n) {
    if (n > 1) openblas_set_num_threads(n);
}
#else // another CBLAS: assume it is single-threaded or manages nesting itself
static int blas_serial_begin(void) {
    return 1;
}
static void blas_serial_end(int n) {
    (void)n;
}
#endif

// Threads that split the batch: one image each at least. With a single image (inference at
// batch 1) this is 1, and OpenBLAS keeps its threads for the one big product.
static int batch_threads(int N) {
    int t = omp_get_max_threads();
    return t < N ? t : N;
}

static void add_bias(float *yn, const float *b, int OC, int P) {
    for (int o = 0; o < OC; o++)
        for (int p = 0; p < P; p++) yn[(size_t)o * P + p] += b[o];
}

void conv2d_forward(float *out, const float *x, const float *w, const float *b, const ConvShape *s) {
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    size_t x_image = (size_t)s->C * s->H * s->W, out_image = (size_t)s->OC * P;
    int threads = batch_threads(s->N);
#ifdef __AVX512F__
    if (fast_product(s->OC)) { // implicit im2col, the register-blocked product, groups of images
        float *wt = transposed(w, s->OC, K);
        int groups = group_count(s, threads), most = (s->N + groups - 1) / groups;
        ScratchSize z = {0};
        scratch_grow(&z, s, most);
        Scratch *sc = scratch_alloc(threads, &z);
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int g = 0; g < groups; g++) {
            int n0 = group_first(g, groups, s->N), nb = group_first(g + 1, groups, s->N) - n0;
            implicit_conv(out + n0 * out_image, x + n0 * x_image, nb, wt, s, false,
                          &sc[omp_get_thread_num()]);
            if (b)
                for (int n = n0; n < n0 + nb; n++) add_bias(out + n * out_image, b, s->OC, P);
        }
        return;
    }
#endif
    float *cols = col_is_input(s) ? NULL : step_alloc(sizeof(float) * (size_t)threads * K * P);
    int blas = threads > 1 ? blas_serial_begin() : 1;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        float *col = cols ? cols + (size_t)t * K * P : NULL;
#pragma omp for schedule(static)
        for (int n = 0; n < s->N; n++) {
            const float *xn = x + n * x_image;
            float *yn = out + n * out_image;
            if (col) im2col(col, xn, s);
            // Y_n (OC,P) = W (OC,K) @ col (K,P)
            sgemm_product(yn, w, col ? col : xn, s->OC, K, P, false);
            if (b) add_bias(yn, b, s->OC, P);
        }
    }
    blas_serial_end(blas);
}

// For a stride-1 conv, d loss / d x is itself a convolution: of dY, padded by KH-1-padding, with
// the kernel turned by 180 degrees and its channel axes swapped,
//     dx[c,i,j] = sum over o,kh,kw of w[o,c,KH-1-kh,KW-1-kw] * dy[o, i-(KH-1-padding)+kh, j-...+kw].
// That is one product of the forward pass's shape, instead of a product with only OC terms per
// sum followed by a col2im scatter. Needs a square kernel and the fast kernel's M = C.
static bool dx_as_conv(const ConvShape *s) {
    return s->stride == 1 && s->KH == s->KW && s->padding <= s->KH - 1 && fast_product(s->C) &&
           !col_is_input(s);
}

void conv2d_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                     const ConvShape *s, bool overwrite_dx) {
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    size_t x_image = (size_t)s->C * s->H * s->W, out_image = (size_t)s->OC * P, w_size = (size_t)s->OC * K;
    int threads = batch_threads(s->N);
    bool as_conv = dx && dx_as_conv(s); // (never without AVX-512)
#ifdef __AVX512F__
    bool implicit_dw = dw != NULL; // the dot-product kernel takes any shape
    // The dX convolution reads dY as its images: (N, OC, OH, OW) -> (N, C, H, W).
    ConvShape ds =
        as_conv ? conv_shape(s->N, s->OC, s->OH, s->OW, s->C, s->KH, s->KW, 1, s->KH - 1 - s->padding) : *s;
    int dw_groups = implicit_dw ? group_count(s, threads) : 0,
        dx_groups = as_conv ? group_count(&ds, threads) : 0;
    ScratchSize z = {0};
    if (implicit_dw) scratch_grow(&z, s, (s->N + dw_groups - 1) / dw_groups);
    if (as_conv) scratch_grow(&z, &ds, (s->N + dx_groups - 1) / dx_groups);
    Scratch *sc = implicit_dw || as_conv ? scratch_alloc(threads, &z) : NULL;
    float *wt2 = as_conv ? turned_kernel(w, s) : NULL;
#else
    bool implicit_dw = false;
#endif
    // col (K,P) for the paths that still use im2col/col2im
    bool needs_col = !col_is_input(s) && ((dw && !implicit_dw) || (dx && !as_conv));
    float *cols = needs_col ? step_alloc(sizeof(float) * (size_t)threads * K * P) : NULL;
    // Each thread sums its images' dW privately; the partial sums are added up at the end.
    float *dws = dw ? step_alloc(sizeof(float) * (size_t)threads * w_size) : NULL;
    if (dws) memset(dws, 0, sizeof(float) * (size_t)threads * w_size);
    int blas = threads > 1 ? blas_serial_begin() : 1;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        float *col = cols ? cols + (size_t)t * K * P : NULL;
#ifdef __AVX512F__
        if (implicit_dw) {
#pragma omp for schedule(static)
            for (int g = 0; g < dw_groups; g++) {
                int n0 = group_first(g, dw_groups, s->N), nb = group_first(g + 1, dw_groups, s->N) - n0;
                implicit_wgrad(dws + (size_t)t * w_size, x + n0 * x_image, dout + n0 * out_image, nb, s,
                               &sc[t]);
            }
        }
        if (as_conv) { // dX (C,HW) += turned W (C,K') @ im2col(dY) (K',HW)
#pragma omp for schedule(static)
            for (int g = 0; g < dx_groups; g++) {
                int n0 = group_first(g, dx_groups, s->N), nb = group_first(g + 1, dx_groups, s->N) - n0;
                implicit_conv(dx + n0 * x_image, dout + n0 * out_image, nb, wt2, &ds, !overwrite_dx, &sc[t]);
            }
        }
#endif
#pragma omp for schedule(static)
        for (int n = 0; n < s->N; n++) {
            const float *xn = x + n * x_image, *dyn = dout + n * out_image;
            if (dws && !implicit_dw) { // dW (OC,K) += dY_n (OC,P) @ col_n^T (P,K)
                if (!col_is_input(s)) im2col(col, xn, s);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->OC, K, P, 1.0f, dyn, P,
                            col_is_input(s) ? xn : col, P, 1.0f, dws + (size_t)t * w_size, K);
            }
            if (!dx || as_conv) continue;
            float *dxn = dx + n * x_image;
            if (col_is_input(s)) { // col is the image itself, so dcol is dX itself
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->OC, 1.0f, w, K, dyn, P,
                            overwrite_dx ? 0.0f : 1.0f, dxn, P);
            } else { // dcol (K,P) = W^T (K,OC) @ dY_n (OC,P), then scattered back onto the pixels
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->OC, 1.0f, w, K, dyn, P, 0.0f,
                            col, P);
                if (overwrite_dx) memset(dxn, 0, sizeof(float) * x_image); // one image, still in cache
                col2im(dxn, col, s);
            }
        }
    }
    blas_serial_end(blas);
    if (dws)
        for (int t = 0; t < threads; t++)
            for (size_t i = 0; i < w_size; i++) dw[i] += dws[(size_t)t * w_size + i];
    // db[o] += sum over images and pixels of dY
    if (db)
        for (int n = 0; n < s->N; n++)
            for (int o = 0; o < s->OC; o++) {
                const float *g = dout + n * out_image + (size_t)o * P;
                float acc = 0;
                for (int p = 0; p < P; p++) acc += g[p];
                db[o] += acc;
            }
}

// ---------------------------------------------------------------------------------------------
// the tape op

static void conv2d_op_backward(Node *node) {
    Tensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
    const ConvShape *s = node->saved;
    bool fresh = false; // set by grad_to_fill, before the call reads it
    float *dx = x->requires_grad ? grad_to_fill(x, &fresh) : NULL;
    conv2d_backward(dx, w->requires_grad ? grad_of(w) : NULL, b && b->requires_grad ? grad_of(b) : NULL,
                    node->out->grad->data, x->data, w->data, s, fresh);
}

Tensor *conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int padding) {
    tensor_check_rank("conv2d input", x, 4);
    tensor_check_rank("conv2d weight", w, 4);
    if (x->shape[1] != w->shape[1]) {
        char sx[64], sw[64];
        sgd_panic("conv2d: input %s has %d channels, weight %s expects %d", tensor_shape_str(x, sx, 64),
                  x->shape[1], tensor_shape_str(w, sw, 64), w->shape[1]);
    }
    if (b && (b->rank != 1 || b->shape[0] != w->shape[0]))
        sgd_panic("conv2d: bias must have shape [%d]", w->shape[0]);
    ConvShape *s = step_alloc(sizeof *s);
    *s = conv_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], w->shape[2], w->shape[3],
                    stride, padding);
    Tensor *y = step_tensor(SHAPE(s->N, s->OC, s->OH, s->OW));
    conv2d_forward(y->data, x->data, w->data, b ? b->data : NULL, s);
    Node *node = tape_record("conv2d", y, conv2d_op_backward, 3, (Tensor *[]){x, w, b});
    if (node) node->saved = s;
    return y;
}
