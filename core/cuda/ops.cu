// ops.cu — bearnet-s's layers on the GPU, the twins of core/batchnorm.c, core/layers.c and core/optim.c:
// the same tape nodes (same names, same inputs, the same backward maths), kernels instead of loops.
//
// Each kernel is a grid-stride loop over one function of math.cuh, so the per-element maths can be read
// (and is tested) apart from the launch. Batchnorm carries the element-wise work that follows it: the
// relu, and the residual join (+ skip, relu) are applied in the same pass that normalises, and their
// masks are taken in the same pass that computes dX, as on the CPU. Matrix products go to cuBLAS: the
// library that does them well on this hardware, as OpenBLAS does on the CPU.
#include <float.h>
#include <string.h>

#include "internal.cuh"
#include "math.cuh"

static void on_gpu(const char *op, const Tensor *t) {
    if (t && t->device != DEVICE_CUDA)
        sgd_panic("%s: one tensor is on the CPU and another on the GPU; move the model and the batch to the "
                  "same device (state_dict_to, tensor_to)",
                  op);
}

static bool wants(const Tensor *t) {
    return t && t->requires_grad;
}

// Index arithmetic in math.cuh is 32-bit (a 64-bit division costs tens of instructions per element).
static void fits_32_bits(const char *op, const Tensor *t) {
    if (t->numel >= (size_t)1 << 31)
        sgd_panic("%s: %zu elements is more than the GPU kernels index", op, t->numel);
}

static Tensor *gpu_step_like(const Tensor *t) {
    return step_tensor_on(DEVICE_CUDA, t->rank, t->shape);
}

// ---------------------------------------------------------------------------------------------
// relu and the residual join: y = relu(a) or relu(a + b); both inputs get dY where y > 0

static __global__ void relu_kernel(float *y, const float *a, const float *b, size_t n) {
    GRID_STRIDE_LOOP(i, n) y[i] = relu_value(b ? a[i] + b[i] : a[i]);
}

static __global__ void relu_backward_kernel(float *dx, bool accumulate, const float *y, const float *dy,
                                            size_t n) {
    GRID_STRIDE_LOOP(i, n) {
        float g = relu_grad_at(i, y, dy);
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

static void relu_op_backward(Node *node) {
    size_t n = node->out->numel;
    for (int k = 0; k < node->n_in; k++) {
        if (!wants(node->in[k])) continue;
        bool fresh;
        float *dx = grad_to_fill(node->in[k], &fresh);
        relu_backward_kernel<<<blocks_for(n), THREADS, 0, cuda_stream()>>>(dx, !fresh, node->out->data,
                                                                           node->out->grad->data, n);
        LAUNCH_CHECK();
    }
}

static Tensor *relu_op(const char *name, Tensor *a, Tensor *b) {
    on_gpu(name, b);
    Tensor *y = gpu_step_like(a);
    relu_kernel<<<blocks_for(a->numel), THREADS, 0, cuda_stream()>>>(y->data, a->data, b ? b->data : NULL,
                                                                     a->numel);
    LAUNCH_CHECK();
    Tensor *in[2] = {a, b};
    tape_record(name, y, relu_op_backward, b ? 2 : 1, in);
    return y;
}

extern "C" Tensor *cuda_relu(Tensor *x) {
    return relu_op("relu", x, NULL);
}

extern "C" Tensor *cuda_add_relu(Tensor *a, Tensor *b) {
    return relu_op("add_relu", a, b);
}

// ---------------------------------------------------------------------------------------------
// global average pool: (N,C,H,W) -> (N,C), one warp per plane

static __global__ void avg_pool_kernel(float *y, const float *x, size_t planes, size_t HW) {
    size_t warp = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32,
           warps = (size_t)gridDim.x * blockDim.x / 32;
    unsigned lane = threadIdx.x % 32;
    for (size_t p = warp; p < planes; p += warps) { // the same p for the whole warp: the shuffles line up
        float s = 0;
        for (size_t i = lane; i < HW; i += 32) s += x[p * HW + i];
        for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
        if (lane == 0) y[p] = s / (float)HW;
    }
}

static __global__ void avg_pool_backward_kernel(float *dx, bool accumulate, const float *dy, size_t n,
                                                size_t HW) {
    GRID_STRIDE_LOOP(i, n) {
        float g = avg_pool_grad_at(i, dy, HW);
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

static void avg_pool_op_backward(Node *node) {
    Tensor *x = node->in[0];
    bool fresh;
    float *dx = grad_to_fill(x, &fresh);
    avg_pool_backward_kernel<<<blocks_for(x->numel), THREADS, 0, cuda_stream()>>>(
        dx, !fresh, node->out->grad->data, x->numel, (size_t)x->shape[2] * x->shape[3]);
    LAUNCH_CHECK();
}

extern "C" Tensor *cuda_global_avg_pool(Tensor *x) {
    fits_32_bits("global_avg_pool", x);
    int shape[2] = {x->shape[0], x->shape[1]};
    Tensor *y = step_tensor_on(DEVICE_CUDA, 2, shape);
    size_t planes = (size_t)shape[0] * shape[1];
    avg_pool_kernel<<<blocks_for(planes * 32), THREADS, 0, cuda_stream()>>>(
        y->data, x->data, planes, (size_t)x->shape[2] * x->shape[3]);
    LAUNCH_CHECK();
    tape_record("global_avg_pool", y, avg_pool_op_backward, 1, &x);
    return y;
}

// ---------------------------------------------------------------------------------------------
// linear: y (N,OUT) = x (N,IN) @ w^T + b, through cuBLAS (math.cuh's Gemm says how each product is asked)

// C = op(A) @ op(B) + beta * C, as g describes it
static void gemm(const Gemm &g, const float *A, const float *B, float *C, float beta) {
    const float one = 1.0f;
    CUBLAS_CHECK(cublas.sgemm(cuda_cublas(), g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                              g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k, &one, A, g.lda, B, g.ldb,
                              &beta, C, g.ldc));
}

static __global__ void bias_rows_kernel(float *y, const float *b, size_t n, int OUT) {
    GRID_STRIDE_LOOP(i, n) y[i] = bias_row_at(i, b, OUT);
}

static __global__ void column_sum_kernel(float *db, const float *dy, int N, int OUT) {
    int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o < OUT) db[o] += column_sum(dy, N, OUT, o);
}

static void linear_op_backward(Node *node) {
    Tensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    const float *dy = node->out->grad->data;
    if (wants(x)) { // dX (N,IN) += dY @ W
        bool fresh;
        float *dx = grad_to_fill(x, &fresh);
        gemm(linear_dx_gemm(N, IN, OUT), w->data, dy, dx, fresh ? 0.0f : 1.0f);
    }
    if (wants(w)) gemm(linear_dw_gemm(N, IN, OUT), x->data, dy, grad_of(w), 1.0f); // dW (OUT,IN) += dY^T @ X
    if (wants(b)) { // db += the column sums of dY
        column_sum_kernel<<<(OUT + THREADS - 1) / THREADS, THREADS, 0, cuda_stream()>>>(grad_of(b), dy, N,
                                                                                        OUT);
        LAUNCH_CHECK();
    }
}

extern "C" Tensor *cuda_linear(Tensor *x, Tensor *w, Tensor *b) {
    on_gpu("linear", w);
    on_gpu("linear", b);
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    int shape[2] = {N, OUT};
    Tensor *y = step_tensor_on(DEVICE_CUDA, 2, shape);
    if (b) { // every row starts as b, and the product is added onto it
        bias_rows_kernel<<<blocks_for(y->numel), THREADS, 0, cuda_stream()>>>(y->data, b->data, y->numel,
                                                                              OUT);
        LAUNCH_CHECK();
    }
    gemm(linear_forward_gemm(N, IN, OUT), w->data, x->data, y->data, b ? 1.0f : 0.0f);
    Tensor *in[3] = {x, w, b};
    tape_record("linear", y, linear_op_backward, 3, in);
    return y;
}

// ---------------------------------------------------------------------------------------------
// cross-entropy: loss = mean over rows of logsumexp(z) - z[label]; dZ += dLoss/N * (softmax - onehot)

typedef struct {
    float *softmax; // (N,C) on the device
    int *labels;    // N on the device
} CrossEntropySaved;

// One block: the rows are few (a batch) and short (the classes); a single block sums the loss in a fixed
// order, so the same batch gives the same bits every time.
static __global__ void cross_entropy_kernel(float *loss, float *p, const float *z, const int *labels, int N,
                                            int C) {
    double total = 0, unused = 0;
    for (int n = threadIdx.x; n < N; n += blockDim.x)
        total += cross_entropy_row(z + (size_t)n * C, C, labels[n], p + (size_t)n * C);
    block_sum2(&total, &unused);
    if (threadIdx.x == 0) *loss = (float)(total / N);
}

// dLoss is read on the device: backward never waits for the host.
static __global__ void cross_entropy_backward_kernel(float *dz, const float *p, const int *labels,
                                                     const float *dloss, int N, int C) {
    float g = *dloss / (float)N;
    GRID_STRIDE_LOOP(i, (size_t)N * C) dz[i] += cross_entropy_grad_at(i, p, labels, C, g);
}

static void cross_entropy_op_backward(Node *node) {
    const CrossEntropySaved *s = (const CrossEntropySaved *)node->saved;
    Tensor *z = node->in[0];
    int N = z->shape[0], C = z->shape[1];
    cross_entropy_backward_kernel<<<blocks_for((size_t)N * C), THREADS, 0, cuda_stream()>>>(
        grad_of(z), s->softmax, s->labels, node->out->grad->data, N, C);
    LAUNCH_CHECK();
}

extern "C" Tensor *cuda_cross_entropy(Tensor *logits, const int *labels) {
    int N = logits->shape[0], C = logits->shape[1];
    CrossEntropySaved *s = (CrossEntropySaved *)step_alloc(sizeof *s);
    s->softmax = (float *)cuda_step_alloc(sizeof(float) * (size_t)N * C);
    s->labels = (int *)cuda_step_alloc(sizeof(int) * (size_t)N);
    cuda_upload(s->labels, labels, sizeof(int) * (size_t)N); // checked in range by cross_entropy()
    Tensor *loss = step_tensor_on(DEVICE_CUDA, 0, NULL);
    cross_entropy_kernel<<<1, THREADS, 0, cuda_stream()>>>(loss->data, s->softmax, logits->data, s->labels, N,
                                                           C);
    LAUNCH_CHECK();
    Node *node = tape_record("cross_entropy", loss, cross_entropy_op_backward, 1, &logits);
    if (node) node->saved = s;
    return loss;
}

// ---------------------------------------------------------------------------------------------
// batch normalisation (core/batchnorm.c has the maths), alone, + relu, + skip + relu
//
// Forward, training: per channel, the sums of d = x - centre and d^2 over its N*H*W values (centre: the
// channel's first value, so the sums do not cancel for data far from 0), by `splits` blocks per channel
// into partial sums; one thread per channel adds them up, updates the running statistics and folds
// the normalisation into y = x*k + shift; then one pass writes y (with the relu / join). Backward is the
// same shape: partial sums of g and g*(x - mean), the per-channel coefficients, one pass for dX (and
// dSkip).

typedef struct {
    float *mean, *invstd, *k, *shift; // C each, on the device
} BatchNormSaved;

static __global__ void bn_stats_kernel(double2 *partial, const float *x, int N, int C, size_t HW,
                                       int splits) {
    int c = blockIdx.y, s = blockIdx.x;
    size_t begin, end;
    split_range((size_t)N * HW, splits, s, &begin, &end);
    float centre = x[channel_element(c, 0, C, HW)], a = 0, b = 0;
    for (size_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
        float d = x[channel_element(c, j, C, HW)] - centre;
        a += d, b += d * d;
    }
    double sa = a, sb = b;
    block_sum2(&sa, &sb);
    if (threadIdx.x == 0) partial[(size_t)c * splits + s] = make_double2(sa, sb);
}

static __global__ void bn_finalize_kernel(BatchNormSaved s, const double2 *partial, int splits, int C,
                                          double M, const float *x, size_t HW, const float *weight,
                                          const float *bias, float *running_mean, float *running_var,
                                          bool training) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float mean, var;
    if (training) {
        double s1 = 0, s2 = 0;
        for (int k = 0; k < splits; k++)
            s1 += partial[(size_t)c * splits + k].x, s2 += partial[(size_t)c * splits + k].y;
        float var_unbiased;
        bn_stats(s1, s2, M, x[channel_element(c, 0, C, HW)], &mean, &var, &var_unbiased);
        running_mean[c] = bn_running(running_mean[c], mean, BN_MOMENTUM);
        running_var[c] = bn_running(running_var[c], var_unbiased, BN_MOMENTUM);
    } else {
        mean = running_mean[c], var = running_var[c];
    }
    s.mean[c] = mean;
    bn_fold(weight[c], bias[c], mean, var, BN_EPS, &s.invstd[c], &s.k[c], &s.shift[c]);
}

static __global__ void bn_apply_kernel(float *y, const float *x, const float *k, const float *shift,
                                       const float *skip, bool relu, int C, size_t HW, size_t n) {
    GRID_STRIDE_LOOP(i, n) y[i] = bn_forward_at(i, x, k, shift, skip, relu, C, HW);
}

static __global__ void bn_grad_stats_kernel(double2 *partial, const float *x, const float *dy, const float *y,
                                            bool relu, BatchNormSaved s, int N, int C, size_t HW,
                                            int splits) {
    int c = blockIdx.y, sp = blockIdx.x;
    size_t begin, end;
    split_range((size_t)N * HW, splits, sp, &begin, &end);
    float k = s.k[c], shift = s.shift[c], mean = s.mean[c], a = 0, b = 0;
    for (size_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
        size_t i = channel_element(c, j, C, HW);
        float g = bn_grad_at(i, x, dy, y, relu, k, shift);
        a += g, b += g * (x[i] - mean);
    }
    double sa = a, sb = b;
    block_sum2(&sa, &sb);
    if (threadIdx.x == 0) partial[(size_t)c * splits + sp] = make_double2(sa, sb);
}

// coef: kg, kx, k0 for each channel (3*C), dX = kg*g + kx*(x - mean) + k0
static __global__ void bn_grad_finalize_kernel(float *coef, float *dweight, float *dbias,
                                               const double2 *partial, int splits, int C, double M,
                                               const float *weight, BatchNormSaved s, bool training) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double sum_g = 0, sum_gx = 0;
    for (int k = 0; k < splits; k++)
        sum_g += partial[(size_t)c * splits + k].x, sum_gx += partial[(size_t)c * splits + k].y;
    float dw, db;
    bn_backward_coefficients(sum_g, sum_gx, M, weight[c], s.invstd[c], training, &dw, &db, &coef[c],
                             &coef[C + c], &coef[2 * C + c]);
    if (dweight) dweight[c] += dw;
    if (dbias) dbias[c] += db;
}

static __global__ void bn_grad_apply_kernel(float *dx, bool dx_accumulate, float *dskip,
                                            bool dskip_accumulate, const float *x, const float *dy,
                                            const float *y, bool relu, BatchNormSaved s, const float *coef,
                                            int C, size_t HW, size_t n) {
    GRID_STRIDE_LOOP(i, n) {
        int c = nchw_channel(i, C, HW);
        float g = bn_grad_at(i, x, dy, y, relu, s.k[c], s.shift[c]);
        if (dx) {
            float d = coef[c] * g + coef[C + c] * (x[i] - s.mean[c]) + coef[2 * C + c];
            dx[i] = dx_accumulate ? dx[i] + d : d;
        }
        if (dskip) dskip[i] = dskip_accumulate ? dskip[i] + g : g;
    }
}

static void batchnorm_op_backward(Node *node) {
    Tensor *x = node->in[0], *weight = node->in[1], *bias = node->in[2],
           *skip = node->n_in > 3 ? node->in[3] : NULL;
    const BatchNormSaved *s = (const BatchNormSaved *)node->saved;
    bool training = node->i[0], fused_relu = node->i[1];
    const float *y = skip ? node->out->data : NULL; // the relu's mask, after the join
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
    const float *dy = node->out->grad->data;
    bool fresh = false, skip_fresh = false;
    float *dx = wants(x) ? grad_to_fill(x, &fresh) : NULL;
    float *dskip = wants(skip) ? grad_to_fill(skip, &skip_fresh) : NULL;
    int splits = bn_splits(M, THREADS);
    double2 *partial = (double2 *)cuda_step_alloc(sizeof(double2) * (size_t)C * splits);
    float *coef = (float *)cuda_step_alloc(sizeof(float) * 3 * (size_t)C);
    bn_grad_stats_kernel<<<dim3(splits, C), THREADS, 0, cuda_stream()>>>(partial, x->data, dy, y, fused_relu,
                                                                         *s, N, C, HW, splits);
    LAUNCH_CHECK();
    bn_grad_finalize_kernel<<<(C + THREADS - 1) / THREADS, THREADS, 0, cuda_stream()>>>(
        coef, wants(weight) ? grad_of(weight) : NULL, wants(bias) ? grad_of(bias) : NULL, partial, splits, C,
        (double)M, weight->data, *s, training);
    LAUNCH_CHECK();
    if (!dx && !dskip) return;
    bn_grad_apply_kernel<<<blocks_for(x->numel), THREADS, 0, cuda_stream()>>>(
        dx, !fresh, dskip, !skip_fresh, x->data, dy, y, fused_relu, *s, coef, C, HW, x->numel);
    LAUNCH_CHECK();
}

extern "C" Tensor *cuda_batchnorm(Tensor *x, const BatchNorm2d *bn, bool training, bool fused_relu,
                                  Tensor *skip) {
    on_gpu("batchnorm2d", bn->weight);
    on_gpu("batchnorm2d", skip);
    fits_32_bits("batchnorm2d", x);
    int N = x->shape[0], C = x->shape[1];
    size_t HW = (size_t)x->shape[2] * x->shape[3], M = (size_t)N * HW;
    Tensor *y = gpu_step_like(x);
    BatchNormSaved *s = (BatchNormSaved *)step_alloc(sizeof *s);
    float *channels = (float *)cuda_step_alloc(sizeof(float) * 4 * (size_t)C);
    s->mean = channels, s->invstd = channels + C, s->k = channels + 2 * C, s->shift = channels + 3 * C;
    int splits = bn_splits(M, THREADS);
    double2 *partial = NULL;
    if (training) {
        partial = (double2 *)cuda_step_alloc(sizeof(double2) * (size_t)C * splits);
        bn_stats_kernel<<<dim3(splits, C), THREADS, 0, cuda_stream()>>>(partial, x->data, N, C, HW, splits);
        LAUNCH_CHECK();
    }
    bn_finalize_kernel<<<(C + THREADS - 1) / THREADS, THREADS, 0, cuda_stream()>>>(
        *s, partial, splits, C, (double)M, x->data, HW, bn->weight->data, bn->bias->data,
        bn->running_mean->data, bn->running_var->data, training);
    LAUNCH_CHECK();
    bn_apply_kernel<<<blocks_for(x->numel), THREADS, 0, cuda_stream()>>>(
        y->data, x->data, s->k, s->shift, skip ? skip->data : NULL, fused_relu, C, HW, x->numel);
    LAUNCH_CHECK();
    if (training) tensor_changed(bn->running_mean), tensor_changed(bn->running_var);
    const char *name = skip ? "batchnorm2d_add_relu" : fused_relu ? "batchnorm2d_relu" : "batchnorm2d";
    Tensor *in[4] = {x, bn->weight, bn->bias, skip};
    Node *node = tape_record(name, y, batchnorm_op_backward, skip ? 4 : 3, in);
    if (node) {
        node->saved = s;
        node->i[0] = training;
        node->i[1] = fused_relu;
    }
    return y;
}

// ---------------------------------------------------------------------------------------------
// optimisers: one kernel per parameter, the CPU's update for each element (core/optim.c)

static __global__ void sgd_kernel(float *w, const float *g, float *buf, size_t n, float lr, float momentum,
                                  float wd) {
    GRID_STRIDE_LOOP(i, n) sgd_at(i, w, g, buf, lr, momentum, wd);
}

static __global__ void adamw_kernel(float *w, const float *g, float *m, float *v, size_t n, float lr,
                                    float b1, float b2, float eps, float wd, float correct1, float correct2) {
    GRID_STRIDE_LOOP(i, n) adamw_at(i, w, g, m, v, lr, b1, b2, eps, wd, correct1, correct2);
}

extern "C" void cuda_sgd_update(float *w, const float *g, float *buf, size_t n, float lr, float momentum,
                                float wd) {
    sgd_kernel<<<blocks_for(n), THREADS, 0, cuda_stream()>>>(w, g, buf, n, lr, momentum, wd);
    LAUNCH_CHECK();
}

extern "C" void cuda_adamw_update(float *w, const float *g, float *m, float *v, size_t n, float lr,
                                  float beta1, float beta2, float eps, float wd, float correct1,
                                  float correct2) {
    adamw_kernel<<<blocks_for(n), THREADS, 0, cuda_stream()>>>(w, g, m, v, n, lr, beta1, beta2, eps, wd,
                                                               correct1, correct2);
    LAUNCH_CHECK();
}
