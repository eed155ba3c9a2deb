// conv.c — convolution: the naive reference, im2col + sgemm, and the conv2d tape op. Read this file
// first; core/cpu/implicit.c (the forward) and implicit_backward.c are the fast path it hands the
// convs it can take to, on CPUs with AVX-512 or AVX2.
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
//
// The im2col path serves every conv on every CPU. On CPUs with AVX-512 or AVX2 the convs bearnet-s
// and the ResNets use go through the fast path instead (core/cpu/implicit.c, behind
// core/cpu/conv_fast.h): the same products with col never written out, by two small register-blocked
// kernels (about 2x OpenBLAS on AVX-512).
#include "conv.h"

#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "autograd.h"
#include "cpu/conv_fast.h"
#include "cuda/cuda.h"
#include "layer_loops.h"
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
// the paths

// While our OpenMP team runs one product per thread, OpenBLAS must not start its own threads.
#ifdef SGDLAB_OPENBLAS
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

// A 1x1 stride-1 unpadded conv reads the image as it is: col would be a copy of x.
static bool col_is_input(const ConvShape *s) {
    return s->KH == 1 && s->KW == 1 && s->stride == 1 && s->padding == 0;
}

void conv_epilogue(float *out, const ConvEpilogue *e, int N, int OC, int P) {
    for (size_t plane = 0; plane < (size_t)N * OC; plane++) {
        float *y = out + plane * P;
        const float *skip = e->skip ? e->skip + plane * P : NULL;
        float b = e->bias ? e->bias[plane % OC] : 0.0f;
        for (int p = 0; p < P; p++) {
            float v = y[p];
            if (e->bias) v += b;
            if (skip) v += skip[p];
            y[p] = e->relu ? relu1(v) : v;
        }
    }
}

void conv2d_forward(float *out, const float *x, const float *w, const float *b, const ConvShape *s) {
    conv2d_forward_fused(out, x, w, NULL, b ? &(ConvEpilogue){b, NULL, false, NULL} : NULL, s);
}

float *conv2d_pack(const float *w, int OC, int C, int KH, int KW) {
    return conv2d_fast_pack(w, OC, C, KH, KW);
}

void conv2d_forward_fused(float *out, const float *x, const float *w, const float *packed,
                          const ConvEpilogue *e, const ConvShape *s) {
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    size_t x_image = (size_t)s->C * s->H * s->W, out_image = (size_t)s->OC * P;
    int threads = batch_threads(s->N);
    if (conv2d_fast_forward(out, x, w, packed, e, s, threads)) return; // core/cpu/implicit.c
    if (!conv_epilogue_writes(e)) e = NULL; // moments: gathered by the fast path only
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
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, P, K, 1.0f, w, K, col ? col : xn, P,
                        0.0f, yn, P);
            if (e)
                conv_epilogue(
                    yn, &(ConvEpilogue){e->bias, e->skip ? e->skip + n * out_image : NULL, e->relu, NULL}, 1,
                    s->OC, P);
        }
    }
    blas_serial_end(blas);
}

void conv2d_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                     const ConvShape *s, bool overwrite_dx) {
    int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    size_t x_image = (size_t)s->C * s->H * s->W, out_image = (size_t)s->OC * P, w_size = (size_t)s->OC * K;
    int threads = batch_threads(s->N);
    // Each thread sums its images' dW privately; the partial sums are added up at the end. One thread
    // (batch 1) adds straight into dw: a zeroed copy and the pass adding it were 3 passes over every
    // weight, a few ms of a ResNet's batch-1 step.
    float *dws = dw && threads > 1 ? step_alloc(sizeof(float) * (size_t)threads * w_size) : dw;
    if (dws && dws != dw) memset(dws, 0, sizeof(float) * (size_t)threads * w_size);
    // What the fast path takes (core/cpu/implicit_backward.c), the rest by im2col + sgemm.
    bool fast_dw = false, fast_dx = false;
    conv2d_fast_backward(dx, dws, dout, x, w, s, threads, overwrite_dx, &fast_dw, &fast_dx);
    bool sgemm_dw = dw && !fast_dw, sgemm_dx = dx && !fast_dx;
    if (sgemm_dw || sgemm_dx) {
        float *cols = col_is_input(s) ? NULL : step_alloc(sizeof(float) * (size_t)threads * K * P);
        int blas = threads > 1 ? blas_serial_begin() : 1;
#pragma omp parallel num_threads(threads)
        {
            int t = omp_get_thread_num();
            float *col = cols ? cols + (size_t)t * K * P : NULL;
#pragma omp for schedule(static)
            for (int n = 0; n < s->N; n++) {
                const float *xn = x + n * x_image, *dyn = dout + n * out_image;
                if (sgemm_dw) { // dW (OC,K) += dY_n (OC,P) @ col_n^T (P,K)
                    if (col) im2col(col, xn, s);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->OC, K, P, 1.0f, dyn, P,
                                col ? col : xn, P, 1.0f, dws + (size_t)t * w_size, K);
                }
                if (!sgemm_dx) continue;
                float *dxn = dx + n * x_image;
                if (!col) { // col is the image itself, so dcol is dX itself
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->OC, 1.0f, w, K, dyn, P,
                                overwrite_dx ? 0.0f : 1.0f, dxn, P);
                } else { // dcol (K,P) = W^T (K,OC) @ dY_n (OC,P), then scattered back onto the pixels
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->OC, 1.0f, w, K, dyn, P,
                                0.0f, col, P);
                    if (overwrite_dx) memset(dxn, 0, sizeof(float) * x_image); // one image, still in cache
                    col2im(dxn, col, s);
                }
            }
        }
        blas_serial_end(blas);
    }
    // The partial sums added up, on the same threads (a conv of ResNet's layer4 has 2.4M weights), each
    // weight in thread order as before, so the sum does not depend on how the loop is shared out.
    if (dws && dws != dw) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < w_size; i++)
            for (int t = 0; t < threads; t++) dw[i] += dws[(size_t)t * w_size + i];
    }
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
    return conv2d_moments(x, w, b, stride, padding, NULL);
}

Tensor *conv2d_moments(Tensor *x, Tensor *w, Tensor *b, int stride, int padding, ChannelMoments *mo) {
    tensor_check_rank("conv2d input", x, 4);
    tensor_check_rank("conv2d weight", w, 4);
    if (x->shape[1] != w->shape[1]) {
        char sx[64], sw[64];
        sgd_panic("conv2d: input %s has %d channels, weight %s expects %d", tensor_shape_str(x, sx, 64),
                  x->shape[1], tensor_shape_str(w, sw, 64), w->shape[1]);
    }
    if (b && (b->rank != 1 || b->shape[0] != w->shape[0]))
        sgd_panic("conv2d: bias must have shape [%d]", w->shape[0]);
    if (x->device == DEVICE_CUDA) return cuda_conv2d(x, w, b, stride, padding); // cuDNN (core/cuda/conv.cu)
    ConvShape *s = step_alloc(sizeof *s);
    *s = conv_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], w->shape[2], w->shape[3],
                    stride, padding);
    Tensor *y = step_tensor(SHAPE(s->N, s->OC, s->OH, s->OW));
    const ConvEpilogue e = {b ? b->data : NULL, NULL, false, mo};
    conv2d_forward_fused(y->data, x->data, w->data, NULL, &e, s);
    Node *node = tape_record("conv2d", y, conv2d_op_backward, 3, (Tensor *[]){x, w, b});
    if (node) node->saved = s;
    return y;
}
