// conv.cu — convolution on the GPU: the twin of core/conv.c's conv2d tape op, through cuDNN.
//
// Why cuDNN and not im2col + cuBLAS as on the CPU: cuDNN is to NVIDIA's GPUs what OpenBLAS is to the
// CPU, the library that does this one job near the hardware's peak. It holds several algorithms for
// each conv (implicit GEMM with im2col left implicit, as core/cpu/conv_avx512.c does; Winograd; FFT),
// and which is fastest depends on the shape and the GPU, so each shape is timed once by cuDNN
// (cudnnFind...) and the winner kept with its workspace size: after the first step no call chooses,
// allocates or waits. (The legacy convolution API used here is deprecated in cuDNN 9 in favour of its
// graph API, and still shipped and supported; it says the same thing in far fewer lines.)
// Reference math (parity tests): TF32 off, and only the GEMM-like algorithms, whose sums are ordinary
// fp32 sums; Winograd and FFT transform the data and round differently.
#include <string.h>

#include "internal.cuh"

extern "C" {
#include "conv.h"
}

namespace {

// Everything cuDNN needs for one shape, made once.
struct ConvPlan {
    ConvShape s;
    bool bias, reference;
    cudnnTensorDescriptor_t x, y, b;
    cudnnFilterDescriptor_t w;
    // One descriptor per direction: each keeps the math type (TF32 or not) of the algorithm found for it.
    cudnnConvolutionDescriptor_t forward, backward_data, backward_filter;
    cudnnConvolutionFwdAlgo_t forward_algo;
    cudnnConvolutionBwdDataAlgo_t data_algo;
    cudnnConvolutionBwdFilterAlgo_t filter_algo;
    bool backward_found; // backward algorithms are timed on the first backward (inference never needs them)
    size_t workspace;    // the largest any chosen algorithm needs
};
enum { MAX_PLANS = 128 }; // bearnet-s has 11 conv shapes per batch shape; training meets about 4
ConvPlan plans[MAX_PLANS];
int n_plans;

cudnnConvolutionDescriptor_t new_conv_descriptor(const ConvShape *s, bool reference) {
    cudnnConvolutionDescriptor_t d;
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    // cuDNN's "convolution" flips the kernel; PyTorch's (and ours) is cross-correlation.
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, s->padding, s->padding, s->stride, s->stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d, reference ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH));
    return d;
}

bool exact_forward(cudnnConvolutionFwdAlgo_t a) {
    return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM;
}
bool exact_data(cudnnConvolutionBwdDataAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
bool exact_filter(cudnnConvolutionBwdFilterAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
           a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

// cudnnFind* times every algorithm on scratch buffers of its own and lists them fastest first; the
// first that ran (and, for reference math, is exact) is kept.
template <typename Perf, typename Algo>
const Perf *pick(const Perf *perf, int n, bool reference, bool (*exact)(Algo), const char *what) {
    for (int i = 0; i < n; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && (!reference || exact(perf[i].algo))) return &perf[i];
    sgd_panic("cuDNN has no usable %s algorithm for this convolution", what);
}

void find_forward(ConvPlan *p) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(cuda_cudnn(), p->x, p->w, p->forward, p->y,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
    const cudnnConvolutionFwdAlgoPerf_t *best = pick(perf, n, p->reference, exact_forward, "forward");
    p->forward_algo = best->algo;
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->forward, best->mathType));
    if (best->memory > p->workspace) p->workspace = best->memory;
}

void find_backward(ConvPlan *p) {
    cudnnConvolutionBwdDataAlgoPerf_t data[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    cudnnConvolutionBwdFilterAlgoPerf_t filter[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(cuda_cudnn(), p->w, p->y, p->backward_data, p->x,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, data));
    const cudnnConvolutionBwdDataAlgoPerf_t *d = pick(data, n, p->reference, exact_data, "backward-data");
    p->data_algo = d->algo;
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->backward_data, d->mathType));
    if (d->memory > p->workspace) p->workspace = d->memory;
    CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(cuda_cudnn(), p->x, p->y, p->backward_filter,
                                                            p->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n,
                                                            filter));
    const cudnnConvolutionBwdFilterAlgoPerf_t *f =
        pick(filter, n, p->reference, exact_filter, "backward-filter");
    p->filter_algo = f->algo;
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->backward_filter, f->mathType));
    if (f->memory > p->workspace) p->workspace = f->memory;
    p->backward_found = true;
}

ConvPlan *plan_for(const ConvShape *s, bool bias) {
    bool reference = cuda_reference_math();
    for (int i = 0; i < n_plans; i++)
        if (memcmp(&plans[i].s, s, sizeof *s) == 0 && plans[i].bias == bias &&
            plans[i].reference == reference)
            return &plans[i];
    if (n_plans == MAX_PLANS) sgd_panic("conv2d on the GPU: more than %d convolution shapes", MAX_PLANS);
    ConvPlan *p = &plans[n_plans++];
    memset(p, 0, sizeof *p);
    p->s = *s, p->bias = bias, p->reference = reference;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
    CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->N, s->C, s->H, s->W));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
    CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->N, s->OC, s->OH, s->OW));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->b));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, s->OC, 1, 1));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
    CUDNN_CHECK(
        cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s->OC, s->C, s->KH, s->KW));
    p->forward = new_conv_descriptor(s, reference);
    p->backward_data = new_conv_descriptor(s, reference);
    p->backward_filter = new_conv_descriptor(s, reference);
    int n, c, h, w; // cuDNN's own output shape must be ours
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->forward, p->x, p->w, &n, &c, &h, &w));
    if (n != s->N || c != s->OC || h != s->OH || w != s->OW)
        sgd_panic("conv2d on the GPU: cuDNN's output %dx%dx%dx%d is not %dx%dx%dx%d", n, c, h, w, s->N, s->OC,
                  s->OH, s->OW);
    find_forward(p);
    return p;
}

} // namespace

static void conv2d_op_backward(Node *node) {
    Tensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
    ConvPlan *p = plan_for((const ConvShape *)node->saved, b != NULL);
    if (!p->backward_found) find_backward(p);
    void *ws = cuda_workspace(p->workspace);
    const float *dy = node->out->grad->data;
    const float one = 1.0f, zero = 0.0f;
    if (x->requires_grad) { // dX = conv^T(dY, w), written when dX is fresh, else added
        bool fresh;
        float *dx = grad_to_fill(x, &fresh);
        CUDNN_CHECK(cudnnConvolutionBackwardData(cuda_cudnn(), &one, p->w, w->data, p->y, dy,
                                                 p->backward_data, p->data_algo, ws, p->workspace,
                                                 fresh ? &zero : &one, p->x, dx));
    }
    if (w->requires_grad) // dW += the correlation of x with dY
        CUDNN_CHECK(cudnnConvolutionBackwardFilter(cuda_cudnn(), &one, p->x, x->data, p->y, dy,
                                                   p->backward_filter, p->filter_algo, ws, p->workspace, &one,
                                                   p->w, grad_of(w)));
    if (b && b->requires_grad) // db += dY summed over the batch and the pixels
        CUDNN_CHECK(cudnnConvolutionBackwardBias(cuda_cudnn(), &one, p->y, dy, &one, p->b, grad_of(b)));
}

extern "C" Tensor *cuda_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int padding) {
    if (w->device != DEVICE_CUDA || (b && b->device != DEVICE_CUDA))
        sgd_panic(
            "conv2d: the input is on the GPU but the weights are not; move the model there (state_dict_to)");
    ConvShape *s = (ConvShape *)step_alloc(sizeof *s);
    *s = conv_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], w->shape[2], w->shape[3],
                    stride, padding);
    ConvPlan *p = plan_for(s, b != NULL);
    int shape[4] = {s->N, s->OC, s->OH, s->OW};
    Tensor *y = step_tensor_on(DEVICE_CUDA, 4, shape);
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnConvolutionForward(cuda_cudnn(), &one, p->x, x->data, p->w, w->data, p->forward,
                                        p->forward_algo, cuda_workspace(p->workspace), p->workspace, &zero,
                                        p->y, y->data));
    if (b) CUDNN_CHECK(cudnnAddTensor(cuda_cudnn(), &one, p->b, b->data, &one, p->y, y->data));
    Tensor *in[3] = {x, w, b};
    Node *node = tape_record("conv2d", y, conv2d_op_backward, 3, in);
    if (node) node->saved = s;
    return y;
}
