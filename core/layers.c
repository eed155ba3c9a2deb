// layers.c — linear, relu, pooling, dropout and cross-entropy: forward + backward pairs.
// Read first: grad_ops.c (every op here follows its three parts).
// (conv2d lives in conv.c, batchnorm in batchnorm.c.) Each backward adds d loss / d input into the inputs'
// gradients.
#include "layers.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "autograd.h"
#include "cuda/cuda.h"
#include "layer_loops.h"

static void check_rank(const char *what, const Tensor *t, int rank) {
    tensor_check_rank(what, t, rank);
}

float *grad_to_fill(Tensor *t, bool *fresh) {
    *fresh = !t->grad && t->in_arena;
    if (*fresh) t->grad = step_tensor_on(t->device, t->rank, t->shape);
    return *fresh ? t->grad->data : grad_of(t);
}

// ---------------------------------------------------------------------------------------------
// linear

static void linear_backward(Node *node) {
    Tensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    const float *dy = node->out->grad->data;
    // dX += dY @ W          (N,out) @ (out,in)
    if (wants_grad(x)) {
        bool fresh;
        float *dx = grad_to_fill(x, &fresh);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IN, OUT, 1.0f, dy, OUT, w->data, IN,
                    fresh ? 0.0f : 1.0f, dx, IN);
    }
    // dW += dY^T @ X        (out,N) @ (N,in)
    if (wants_grad(w))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, N, 1.0f, dy, OUT, x->data, IN, 1.0f,
                    grad_of(w), IN);
    // db += sum over the batch of dY
    if (wants_grad(b)) {
        float *db = grad_of(b);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) db[o] += dy[(size_t)n * OUT + o];
    }
}

Tensor *linear(Tensor *x, Tensor *w, Tensor *b) {
    check_rank("linear input", x, 2);
    check_rank("linear weight", w, 2);
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    if (w->shape[1] != IN) {
        char sx[64], sw[64];
        sgd_panic("linear: input %s does not fit weight %s (in features %d vs %d)",
                  tensor_shape_str(x, sx, 64), tensor_shape_str(w, sw, 64), IN, w->shape[1]);
    }
    if (b && (b->rank != 1 || b->shape[0] != OUT)) sgd_panic("linear: bias must have shape [%d]", OUT);
    if (x->device == DEVICE_CUDA) return cuda_linear(x, w, b); // cuBLAS (core/cuda/ops.cu)
    Tensor *y = step_tensor(SHAPE(N, OUT));
    // y = x @ w^T (+ b, broadcast to every row first so sgemm can add onto it)
    float beta = 0.0f;
    if (b) {
        for (int n = 0; n < N; n++) memcpy(y->data + (size_t)n * OUT, b->data, sizeof(float) * (size_t)OUT);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1.0f, x->data, IN, w->data, IN, beta,
                y->data, OUT);
    tape_record("linear", y, linear_backward, 3, (Tensor *[]){x, w, b});
    return y;
}

// ---------------------------------------------------------------------------------------------
// relu and the residual join

// dX += dY where y > 0 (the output tells us which inputs were positive)
static void relu_backward(Node *node) {
    const float *y = node->out->data, *dy = node->out->grad->data;
    size_t n = node->out->numel;
    for (int k = 0; k < node->n_in; k++) {
        if (!wants_grad(node->in[k])) continue;
        bool fresh;
        float *dx = grad_to_fill(node->in[k], &fresh);
        if (fresh) {
#pragma omp parallel for simd if (n > PARALLEL_MIN)
            for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        } else {
#pragma omp parallel for simd if (n > PARALLEL_MIN)
            for (size_t i = 0; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
        }
    }
}

Tensor *relu(Tensor *x) {
    if (x->device == DEVICE_CUDA) return cuda_relu(x);
    Tensor *y = step_tensor(x->rank, x->shape);
    // Local pointers: through x->data the compiler must assume each store may move the pointer,
    // and the loop stays scalar.
    const float *xd = x->data;
    float *yd = y->data;
    size_t n = x->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) yd[i] = relu1(xd[i]);
    tape_record("relu", y, relu_backward, 1, &x);
    return y;
}

// y = relu(a + b); both inputs get dY where y > 0 (the same backward as relu, once per input)
Tensor *add_relu(Tensor *a, Tensor *b) {
    tensor_check_same_shape("add_relu", a, b);
    if (a->device == DEVICE_CUDA) return cuda_add_relu(a, b);
    Tensor *y = step_tensor(a->rank, a->shape);
    const float *ad = a->data, *bd = b->data; // local pointers, as in relu(), so the loop vectorises
    float *yd = y->data;
    size_t n = a->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) yd[i] = relu1(ad[i] + bd[i]);
    tape_record("add_relu", y, relu_backward, 2, (Tensor *[]){a, b});
    return y;
}

// ---------------------------------------------------------------------------------------------
// pooling

// dX[argmax of the window] += dY (only the winner of each window moved the output). Each plane's winners
// lie in its own input plane, so the planes go to the threads.
static void max_pool_backward(Node *node) {
    const int *argmax = node->saved;
    const float *dy = node->out->grad->data;
    float *dx = grad_of(node->in[0]);
    size_t planes = (size_t)node->out->shape[0] * node->out->shape[1], per = node->out->numel / planes;
#pragma omp parallel for schedule(static) if (node->out->numel > PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++)
        for (size_t i = p * per; i < (p + 1) * per; i++) dx[argmax[i]] += dy[i];
}

// Does v take the window from best? A larger value does, and a NaN does: a window with a NaN in it gives
// NaN, as PyTorch's max_pool2d does, whichever pixel it is in.
static inline bool pool_wins(float v, float best) {
    return v > best || isnan(v);
}

// Output ow of a row whose window the picture's edge clips (padding counts as -infinity: it never wins),
// from the column maxima rows (and, with col, their rows row): its value, and its winner's column in col
// and row in wrow.
static void pool_clipped(float *yo, int *col, int *wrow, const float *rows, const int *row, int ow, int W,
                         int k, int stride, int padding) {
    int w0 = ow * stride - padding, j0 = w0 < 0 ? 0 : w0, j1 = w0 + k < W ? w0 + k : W, best = j0;
    for (int j = j0 + 1; j < j1; j++)
        if (pool_wins(rows[j], rows[best]) || (col && rows[j] == rows[best] && row[j] < row[best])) best = j;
    yo[ow] = rows[best];
    if (col) col[ow] = best, wrow[ow] = row[best];
}

// Per-thread scratch of max_pool_plane: the column maxima of an output row and their rows, and the same
// split into the stride's phases.
typedef struct {
    float *rows, *ph;
    int *row, *phrow, *wrow;
} PoolScratch;

// One plane, row by row: rows (W) = the max over an output row's k input rows, pixel by pixel (that loop
// vectorises), then each output the max over its k neighbours there. With argmax (training), row (W)
// keeps which input row each maximum came from, and ties go to the earlier row, then the earlier column:
// the first winner in reading order, PyTorch's (after a relu, windows of equal zeros are common).
// argmax counts from base (the plane's first pixel in x).
static void max_pool_plane(float *y, int *argmax, int base, const float *xp, int H, int W, int OH, int OW,
                           int k, int stride, int padding, const PoolScratch *z) {
    float *rows = z->rows;
    int *row = z->row, span = (W + stride - 1) / stride; // a phase's length
    for (int oh = 0; oh < OH; oh++) {
        int h0 = oh * stride - padding, i0 = h0 < 0 ? 0 : h0, i1 = h0 + k < H ? h0 + k : H;
        memcpy(rows, xp + (size_t)i0 * W, sizeof(float) * (size_t)W);
        if (argmax)
            for (int j = 0; j < W; j++) row[j] = i0;
        for (int i = i0 + 1; i < i1; i++) {
            const float *r = xp + (size_t)i * W;
            if (argmax) {
#pragma omp simd
                for (int j = 0; j < W; j++) {
                    bool wins = pool_wins(r[j], rows[j]);
                    rows[j] = wins ? r[j] : rows[j];
                    row[j] = wins ? i : row[j];
                }
            } else {
#pragma omp simd
                for (int j = 0; j < W; j++) rows[j] = pool_wins(r[j], rows[j]) ? r[j] : rows[j];
            }
        }
        // Then along the row. Outputs whose window lies inside it (all but one or two at the edges) in k
        // passes, one per offset, each vectorised over the outputs (a branch per window was mispredicted
        // about as often as it was taken); the clipped ones after. Offset d of output ow reads column
        // ow*stride - padding + d: with the row split into its stride phases first, that is one phase read
        // straight along, not every stride-th float (the strided reads, and the tie-break's look-up of the
        // winner's row by its column, were gathers: ResNet's stem pool took 5% of a batch-64 step).
        for (int b = 0; stride > 1 && b < stride; b++) {
            int n = (W - b + stride - 1) / stride; // columns b, b + stride, ... below W
            for (int t = 0; t < n; t++) z->ph[b * span + t] = rows[t * stride + b];
            for (int t = 0; argmax && t < n; t++) z->phrow[b * span + t] = row[t * stride + b];
        }
        float *yo = y + (size_t)oh * OW;
        int *col = argmax ? argmax + (size_t)oh * OW : NULL, *wrow = z->wrow; // the winner's column and row
        int lo = (padding + stride - 1) / stride, hi = (W - k + padding) / stride + 1;
        lo = lo < OW ? lo : OW, hi = hi < lo ? lo : hi < OW ? hi : OW;
        for (int d = 0; d < k; d++) {
            int b = ((d - padding) % stride + stride) % stride, off = (d - padding - b) / stride;
            const float *v = stride > 1 ? z->ph + (size_t)b * span : rows; // v[ow + off]
            const int *vr = stride > 1 ? z->phrow + (size_t)b * span : row;
            int j0 = d - padding; // the column of output 0's offset d
            if (d == 0) {
                for (int ow = lo; ow < hi; ow++) yo[ow] = v[ow + off];
                if (col)
                    for (int ow = lo; ow < hi; ow++) col[ow] = ow * stride + j0, wrow[ow] = vr[ow + off];
            } else if (col) {
#pragma omp simd
                for (int ow = lo; ow < hi; ow++) {
                    float a = v[ow + off];
                    bool wins = pool_wins(a, yo[ow]) || (a == yo[ow] && vr[ow + off] < wrow[ow]);
                    yo[ow] = wins ? a : yo[ow];
                    col[ow] = wins ? ow * stride + j0 : col[ow];
                    wrow[ow] = wins ? vr[ow + off] : wrow[ow];
                }
            } else {
#pragma omp simd
                for (int ow = lo; ow < hi; ow++)
                    yo[ow] = pool_wins(v[ow + off], yo[ow]) ? v[ow + off] : yo[ow];
            }
        }
        for (int ow = 0; ow < lo; ow++) pool_clipped(yo, col, wrow, rows, row, ow, W, k, stride, padding);
        for (int ow = hi; ow < OW; ow++) pool_clipped(yo, col, wrow, rows, row, ow, W, k, stride, padding);
        if (col)
            for (int ow = 0; ow < OW; ow++) col[ow] = base + wrow[ow] * W + col[ow];
    }
}

Tensor *max_pool2d(Tensor *x, int k, int stride, int padding) {
    check_rank("max_pool2d input", x, 4);
    if (x->device == DEVICE_CUDA)
        sgd_panic("max_pool2d has no CUDA version (bearnet-s needs none); use the CPU");
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    // padding <= k/2 (PyTorch's rule) keeps at least one real pixel in every window
    if (k < 1 || stride < 1 || padding < 0 || 2 * padding > k || H + 2 * padding < k || W + 2 * padding < k)
        sgd_panic("max_pool2d: window %d stride %d padding %d on %dx%d", k, stride, padding, H, W);
    int OH = (H + 2 * padding - k) / stride + 1, OW = (W + 2 * padding - k) / stride + 1;
    Tensor *y = step_tensor(SHAPE(N, C, OH, OW));
    // Without the tape (inference, a frozen body) no winner is kept.
    bool taped = grad_enabled() && x->requires_grad;
    int *argmax = taped ? step_alloc(sizeof(int) * y->numel) : NULL; // into x: each window's winner
    int threads = omp_get_max_threads();
    size_t wide = (size_t)W + (size_t)stride; // the phases' rounding up
    PoolScratch *z = step_alloc(sizeof(PoolScratch) * (size_t)threads);
    for (int t = 0; t < threads; t++)
        z[t] = (PoolScratch){step_alloc(sizeof(float) * wide), step_alloc(sizeof(float) * wide),
                             step_alloc(sizeof(int) * wide), step_alloc(sizeof(int) * wide),
                             step_alloc(sizeof(int) * wide)};
#pragma omp parallel for schedule(static) if (x->numel > PARALLEL_MIN)
    for (int plane = 0; plane < N * C; plane++) {
        size_t out = (size_t)plane * OH * OW;
        max_pool_plane(y->data + out, argmax ? argmax + out : NULL, plane * H * W,
                       x->data + (size_t)plane * H * W, H, W, OH, OW, k, stride, padding,
                       &z[omp_get_thread_num()]);
    }
    if (!taped) return y;
    Node *node = tape_record("max_pool2d", y, max_pool_backward, 1, &x);
    if (node) node->saved = argmax;
    return y;
}

// dX += dY / (H*W), spread evenly over the plane each mean came from
static void global_avg_pool_backward(Node *node) {
    Tensor *x = node->in[0];
    size_t planes = (size_t)x->shape[0] * x->shape[1], HW = (size_t)x->shape[2] * x->shape[3];
    const float *dy = node->out->grad->data;
    bool fresh;
    float *dx = grad_to_fill(x, &fresh);
#pragma omp parallel for schedule(static) if (planes * HW > PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) {
        float g = dy[p] / (float)HW, *dxp = dx + p * HW;
        if (fresh) {
#pragma omp simd
            for (size_t i = 0; i < HW; i++) dxp[i] = g;
        } else {
#pragma omp simd
            for (size_t i = 0; i < HW; i++) dxp[i] += g;
        }
    }
}

Tensor *global_avg_pool(Tensor *x) {
    check_rank("global_avg_pool input", x, 4);
    if (x->device == DEVICE_CUDA) return cuda_global_avg_pool(x);
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3];
    Tensor *y = step_tensor(SHAPE(N, C));
    const float *xd = x->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) if (x->numel > PARALLEL_MIN)
    for (int p = 0; p < N * C; p++) yd[p] = plane_sum(xd + (size_t)p * HW, HW) / (float)HW;
    tape_record("global_avg_pool", y, global_avg_pool_backward, 1, &x);
    return y;
}

// ---------------------------------------------------------------------------------------------
// flatten and dropout

// dX += dY: flatten moves no numbers, it only renames the axes
static void flatten_backward(Node *node) {
    const float *dy = node->out->grad->data;
    float *dx = grad_of(node->in[0]);
    for (size_t i = 0; i < node->out->numel; i++) dx[i] += dy[i];
}

Tensor *flatten(Tensor *x) {
    if (x->rank < 1) sgd_panic("flatten needs a batch axis, got a scalar");
    Tensor *y = step_alloc(sizeof(Tensor)); // a header only: the data stays x's
    memset(y, 0, sizeof *y);
    y->data = x->data;
    y->rank = 2;
    y->shape[0] = x->shape[0];
    y->shape[1] = x->shape[0] ? (int)(x->numel / (size_t)x->shape[0]) : 0;
    y->shape[2] = y->shape[3] = 1;
    y->numel = x->numel;
    y->in_arena = true;
    tape_record("flatten", y, flatten_backward, 1, &x);
    return y;
}

// dX += dY * mask, the same mask (0 or 1/(1-p)) the forward pass multiplied by
static void dropout_backward(Node *node) {
    const float *mask = node->saved, *dy = node->out->grad->data;
    float *dx = grad_of(node->in[0]);
    for (size_t i = 0; i < node->out->numel; i++) dx[i] += dy[i] * mask[i];
}

Tensor *dropout(Tensor *x, float p, Rng *rng, bool training) {
    if (!(p >= 0.0f && p < 1.0f)) sgd_panic("dropout: p = %g must be in [0, 1)", (double)p);
    if (!training || p == 0.0f) return x;
    Tensor *y = step_tensor(x->rank, x->shape);
    float *mask = step_alloc(sizeof(float) * x->numel);
    float keep_scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < x->numel; i++) {
        mask[i] = rng_uniform(rng) < p ? 0.0f : keep_scale;
        y->data[i] = x->data[i] * mask[i];
    }
    Node *node = tape_record("dropout", y, dropout_backward, 1, &x);
    if (node) node->saved = mask;
    return y;
}

// ---------------------------------------------------------------------------------------------
// cross-entropy
//
// loss = mean_n( logsumexp(z_n) - z_n[label_n] ), with logsumexp(z) = max + log(sum exp(z - max))
// so no exp overflows. Its gradient is the softmax minus the one-hot label:
//     dZ_n += dLoss / N * (softmax(z_n) - onehot(label_n))
// The node saves the softmax (N,C) and the targets (one-hot rows for labels; softer ones from
// cross_entropy_soft), so the same backward serves both: dZ_n += dLoss / N * (softmax(z_n) - t_n).

typedef struct {
    float *softmax;
    float *targets; // N x C, each row a distribution
} CrossEntropySaved;

static void cross_entropy_backward(Node *node) {
    const CrossEntropySaved *s = node->saved;
    Tensor *z = node->in[0];
    int N = z->shape[0], C = z->shape[1];
    float g = node->out->grad->data[0] / (float)N;
    float *dz = grad_of(z);
    // d/dz of -sum_c t_c log softmax(z)_c is softmax(z) - t (the targets sum to 1)
    for (size_t k = 0; k < (size_t)N * C; k++) dz[k] += g * (s->softmax[k] - s->targets[k]);
}

static void check_logits(const Tensor *logits) {
    check_rank("cross_entropy logits", logits, 2);
    if (logits->shape[0] < 1) sgd_panic("cross_entropy: empty batch");
}

// The loss of checked logits against targets already in step memory, which the node keeps as they are.
static Tensor *cross_entropy_targets(Tensor *logits, float *targets) {
    int N = logits->shape[0], C = logits->shape[1];
    CrossEntropySaved *s = step_alloc(sizeof *s);
    s->softmax = step_alloc(sizeof(float) * (size_t)N * C);
    s->targets = targets;
    double total = 0;
    for (int n = 0; n < N; n++) {
        const float *z = logits->data + (size_t)n * C, *t = targets + (size_t)n * C;
        float *p = s->softmax + (size_t)n * C;
        float max = -FLT_MAX;
        for (int c = 0; c < C; c++) max = fmaxf(max, z[c]);
        double sum = 0, target_logit = 0;
        for (int c = 0; c < C; c++) sum += (p[c] = expf(z[c] - max));
        for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
        for (int c = 0; c < C; c++)
            if (t[c] != 0) target_logit += (double)t[c] * z[c];
        total += (double)max + log(sum) - target_logit; // sum_c t_c (log-sum-exp - z_c)
    }
    Tensor *loss = step_tensor(0, NULL);
    loss->data[0] = (float)(total / N);
    Node *node = tape_record("cross_entropy", loss, cross_entropy_backward, 1, &logits);
    if (node) node->saved = s;
    return loss;
}

Tensor *cross_entropy_soft(Tensor *logits, const float *targets) {
    check_logits(logits);
    if (logits->device == DEVICE_CUDA) sgd_panic("cross_entropy_soft: soft targets run on the CPU only");
    size_t bytes = sizeof(float) * (size_t)logits->shape[0] * logits->shape[1];
    float *kept = step_alloc(bytes); // the caller's rows may change before backward runs
    memcpy(kept, targets, bytes);
    return cross_entropy_targets(logits, kept);
}

Tensor *cross_entropy(Tensor *logits, const int *labels) {
    check_logits(logits);
    int N = logits->shape[0], C = logits->shape[1];
    for (int n = 0; n < N; n++)
        if (labels[n] < 0 || labels[n] >= C)
            sgd_panic("cross_entropy: label %d of row %d is outside [0,%d)", labels[n], n, C);
    if (logits->device == DEVICE_CUDA) return cuda_cross_entropy(logits, labels);
    float *one_hot = step_alloc(sizeof(float) * (size_t)N * C);
    memset(one_hot, 0, sizeof(float) * (size_t)N * C);
    for (int n = 0; n < N; n++) one_hot[(size_t)n * C + labels[n]] = 1;
    return cross_entropy_targets(logits, one_hot);
}
