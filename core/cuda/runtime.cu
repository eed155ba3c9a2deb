// runtime.cu — the GPU itself: opening it, device tensors, the device step arena, copies, CUDA graphs.
//
// Memory follows the CPU design (core/autograd.c): parameters and their gradients are long-lived
// cudaMalloc'd tensors; everything a step makes comes from a device arena that tape_reset() rewinds, so
// after the first step nothing is allocated (cudaMalloc synchronises the whole device and cannot sit
// inside a captured graph). No managed memory: each byte lives on one side, and the copies say when it moves.
// One stream, one GPU, one thread: the training loop is single-threaded on the GPU path.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.cuh"

namespace {

struct Runtime {
    bool open;
    char name[256];
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    bool reference;         // TF32 off, exact conv algorithms
    void *cublas_workspace; // cuBLAS's own, set once so it never allocates inside a graph
};
Runtime rt;

// An arena of big blocks handed out front to back and rewound each step (the device or the pinned kind).
struct Block {
    Block *next;
    size_t size, used;
    unsigned char *data;
};
struct Arena {
    Block *first, *current;
    bool pinned; // host memory the copy engine reads directly (cudaHostAlloc), else device memory
};
Arena device_arena = {nullptr, nullptr, false}, pinned_arena = {nullptr, nullptr, true};
const size_t ARENA_MIN_BLOCK = (size_t)64 << 20, ARENA_ALIGN = 256;

void *arena_alloc(Arena *a, size_t bytes) {
    bytes = (bytes + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    while (a->current && a->current->used + bytes > a->current->size && a->current->next) {
        a->current = a->current->next;
        a->current->used = 0;
    }
    if (!a->current || a->current->used + bytes > a->current->size) {
        Block *b = (Block *)calloc(1, sizeof(Block));
        if (!b) sgd_panic("out of memory for a step block header");
        b->size = bytes > ARENA_MIN_BLOCK ? bytes : ARENA_MIN_BLOCK;
        if (a->pinned)
            CUDA_CHECK(cudaHostAlloc((void **)&b->data, b->size, cudaHostAllocDefault));
        else
            CUDA_CHECK(cudaMalloc((void **)&b->data, b->size));
        if (a->current) { // after the current block, keeping any later ones
            b->next = a->current->next;
            a->current->next = b;
        } else {
            b->next = a->first;
            a->first = b;
        }
        a->current = b;
    }
    void *p = a->current->data + a->current->used;
    a->current->used += bytes;
    return p;
}

void arena_rewind(Arena *a) {
    for (Block *b = a->first; b; b = b->next) b->used = 0;
    a->current = a->first;
}

// Pinned step memory is written by the host: before the first write of a step, the copies queued from
// it by the step before must have been read. tape_reset records where the stream is; the first write waits.
cudaEvent_t pinned_free;
bool pinned_wait_pending;

// cuDNN's workspace: grown on demand, the old one kept (a captured graph may still point at it).
enum { MAX_RETIRED = 64 };
void *workspace, *retired_workspaces[MAX_RETIRED];
size_t workspace_size;
int n_retired;

bool capturing(void) {
    cudaStreamCaptureStatus status;
    CUDA_CHECK(cudaStreamIsCapturing(rt.stream, &status));
    return status != cudaStreamCaptureStatusNone;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// the device

CublasCalls cublas;

#define STRINGIFY2(x) #x
#define STRINGIFY(x)  STRINGIFY2(x)

// By its soname (the search path, the executable's runpath), else where the build found the toolkit.
static bool open_cublas(char *err, size_t err_size) {
    const char *soname = "libcublas.so." STRINGIFY(CUBLAS_VER_MAJOR);
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        lib = dlopen(SGDLAB_CUDA_LIBRARY_DIR "/libcublas.so." STRINGIFY(CUBLAS_VER_MAJOR),
                     RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, err_size, "cannot load cuBLAS (%s): %s", soname, dlerror());
        return false;
    }
    void *f[6] = {dlsym(lib, "cublasCreate_v2"),       dlsym(lib, "cublasSetStream_v2"),
                  dlsym(lib, "cublasSetWorkspace_v2"), dlsym(lib, "cublasSetMathMode"),
                  dlsym(lib, "cublasSgemm_v2"),        dlsym(lib, "cublasGetStatusString")};
    for (int i = 0; i < 6; i++)
        if (!f[i]) {
            snprintf(err, err_size, "%s lacks a function sgdlab calls: %s", soname, dlerror());
            return false;
        }
    cublas.create = (decltype(cublas.create))f[0];
    cublas.set_stream = (decltype(cublas.set_stream))f[1];
    cublas.set_workspace = (decltype(cublas.set_workspace))f[2];
    cublas.set_math_mode = (decltype(cublas.set_math_mode))f[3];
    cublas.sgemm = (decltype(cublas.sgemm))f[4];
    cublas.status_string = (decltype(cublas.status_string))f[5];
    return true;
}

extern "C" bool cuda_init(char *err, size_t err_size) {
    if (rt.open) return true;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(
            err, err_size,
            "no usable CUDA GPU here: the CUDA runtime says \"%s\" (no NVIDIA GPU or driver, or a driver "
            "older than the CUDA %d.%d this was built with; nvidia-smi shows what the machine has)",
            e != cudaSuccess ? cudaGetErrorString(e) : "0 devices", CUDART_VERSION / 1000,
            CUDART_VERSION % 1000 / 10);
        return false;
    }
    cudaDeviceProp prop;
    if ((e = cudaSetDevice(0)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess) {
        snprintf(err, err_size, "cannot open CUDA device 0: %s", cudaGetErrorString(e));
        return false;
    }
    if (!open_cublas(err, err_size)) return false;
    snprintf(rt.name, sizeof rt.name, "%s", prop.name);
    CUDA_CHECK(cudaStreamCreateWithFlags(&rt.stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublas.create(&rt.cublas));
    CUBLAS_CHECK(cublas.set_stream(rt.cublas, rt.stream));
    const size_t cublas_ws = (size_t)32 << 20;
    CUDA_CHECK(cudaMalloc(&rt.cublas_workspace, cublas_ws));
    CUBLAS_CHECK(cublas.set_workspace(rt.cublas, rt.cublas_workspace, cublas_ws));
    CUDNN_CHECK(cudnnCreate(&rt.cudnn));
    CUDNN_CHECK(cudnnSetStream(rt.cudnn, rt.stream));
    CUDA_CHECK(cudaEventCreateWithFlags(&pinned_free, cudaEventDisableTiming));
    rt.open = true;
    cuda_set_reference_math(false);
    return true;
}

extern "C" const char *cuda_device_name(void) {
    return rt.name;
}

extern "C" void cuda_set_reference_math(bool reference) {
    rt.reference = reference;
    // TF32: fp32 inputs rounded to 10 mantissa bits inside the tensor cores, sums in fp32 (what PyTorch
    // allows for convolutions by default). Reference math: plain fp32 FMAs.
    CUBLAS_CHECK(
        cublas.set_math_mode(rt.cublas, reference ? CUBLAS_PEDANTIC_MATH : CUBLAS_TF32_TENSOR_OP_MATH));
}

bool cuda_reference_math(void) {
    return rt.reference;
}

cudaStream_t cuda_stream(void) {
    return rt.stream;
}
cublasHandle_t cuda_cublas(void) {
    return rt.cublas;
}
cudnnHandle_t cuda_cudnn(void) {
    return rt.cudnn;
}

extern "C" void cuda_synchronize(void) {
    if (rt.open) CUDA_CHECK(cudaStreamSynchronize(rt.stream));
}

void *cuda_workspace(size_t bytes) {
    if (bytes <= workspace_size) return workspace;
    if (workspace) {
        if (n_retired == MAX_RETIRED) sgd_panic("cuda_workspace: grown %d times", MAX_RETIRED);
        retired_workspaces[n_retired++] = workspace;
    }
    CUDA_CHECK(cudaMalloc(&workspace, bytes));
    workspace_size = bytes;
    return workspace;
}

// ---------------------------------------------------------------------------------------------
// memory

extern "C" float *cuda_alloc_zeros(size_t n) {
    float *p;
    CUDA_CHECK(cudaMalloc((void **)&p, (n ? n : 1) * sizeof(float)));
    cuda_zero(p, n);
    return p;
}

extern "C" void cuda_free(void *p) {
    CUDA_CHECK(cudaFree(p)); // waits for the kernels that might still read p
}

extern "C" void *cuda_step_alloc(size_t bytes) {
    return arena_alloc(&device_arena, bytes ? bytes : 1);
}

extern "C" void cuda_step_reset(void) {
    if (!rt.open) return;
    arena_rewind(&device_arena);
    arena_rewind(&pinned_arena);
    if (capturing()) return; // a graph being recorded: its copies read the pinned memory at each replay
    CUDA_CHECK(cudaEventRecord(pinned_free, rt.stream));
    pinned_wait_pending = true;
}

extern "C" size_t cuda_step_memory_reserved(void) {
    size_t total = 0;
    for (Block *b = device_arena.first; b; b = b->next) total += b->size;
    return total;
}

void cuda_upload(void *dst, const void *src, size_t bytes) {
    if (pinned_wait_pending && !capturing()) {
        CUDA_CHECK(cudaEventSynchronize(pinned_free));
        pinned_wait_pending = false;
    }
    void *staging = arena_alloc(&pinned_arena, bytes ? bytes : 1);
    memcpy(staging, src, bytes);
    CUDA_CHECK(cudaMemcpyAsync(dst, staging, bytes, cudaMemcpyHostToDevice, rt.stream));
}

extern "C" void cuda_copy(float *dst, Device dst_device, const float *src, Device src_device, size_t n) {
    size_t bytes = n * sizeof(float);
    if (dst_device == DEVICE_CUDA && src_device == DEVICE_CUDA)
        CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, rt.stream));
    else if (dst_device == DEVICE_CUDA)
        cuda_upload(dst, src, bytes);
    else if (src_device == DEVICE_CUDA) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, rt.stream));
        CUDA_CHECK(cudaStreamSynchronize(rt.stream)); // the host reads dst next
    } else
        memcpy(dst, src, bytes);
}

extern "C" void cuda_zero(float *p, size_t n) {
    CUDA_CHECK(cudaMemsetAsync(p, 0, n * sizeof(float), rt.stream));
}

static __global__ void add_one_kernel(float *p) {
    p[0] += 1.0f;
}

extern "C" void cuda_add_one(float *p) {
    add_one_kernel<<<1, 1, 0, rt.stream>>>(p);
    LAUNCH_CHECK();
}

// ---------------------------------------------------------------------------------------------
// graphs

struct CudaGraph {
    void (*step)(void *ctx);
    void *ctx;
    int runs;
    cudaGraphExec_t exec; // NULL until captured, and when capture failed
};

extern "C" CudaGraph *cuda_graph_new(void (*step)(void *ctx), void *ctx) {
    CudaGraph *g = (CudaGraph *)calloc(1, sizeof(CudaGraph));
    if (!g) sgd_panic("out of memory");
    g->step = step, g->ctx = ctx;
    return g;
}

// The second run is recorded instead of run: everything the step queues on the stream becomes a node.
// Relaxed mode lets the host side of the step do what it does eagerly (tape bookkeeping, the pinned
// arena's wait on work queued before the capture began).
static void capture(CudaGraph *g) {
    cudaGraph_t graph;
    CUDA_CHECK(cudaStreamBeginCapture(rt.stream, cudaStreamCaptureModeRelaxed));
    g->step(g->ctx);
    CUDA_CHECK(cudaStreamEndCapture(rt.stream, &graph));
    CUDA_CHECK(cudaGraphInstantiate(&g->exec, graph, 0));
    CUDA_CHECK(cudaGraphDestroy(graph));
}

extern "C" void cuda_graph_run(CudaGraph *g) {
    if (g->runs++ == 0) {
        g->step(g->ctx); // eager: cuDNN chooses algorithms, the arenas grow to the step's size
        return;
    }
    if (!g->exec) capture(g);
    CUDA_CHECK(cudaGraphLaunch(g->exec, rt.stream));
}

extern "C" bool cuda_graph_captured(const CudaGraph *g) {
    return g->exec != NULL;
}

extern "C" void cuda_graph_free(CudaGraph *g) {
    if (!g) return;
    if (g->exec) CUDA_CHECK(cudaGraphExecDestroy(g->exec));
    free(g);
}
