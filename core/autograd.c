// autograd.c — the tape, the step arena and backward().
// Read first: tensor.c and ops.c; then grad_ops.c, the ops that record onto this tape.
#include "autograd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <threads.h>

#include "cuda/cuda.h"

// ---- one tape and one arena per thread ----
// Training runs a step on one thread; OpenMP's workers only fill buffers the step thread already
// took from the arena, so for training "per thread" changes nothing. A server answers requests on
// several threads at once, and each request is a forward pass of its own: with one global tape
// and arena two requests would hand out the same memory. Giving every thread its own (C11
// _Thread_local) keeps the op functions as they are, with no context argument threaded through
// every call a learner reads; the price is one arena per serving thread, which is what a
// per-request scratch would cost anyway. A thread's arena is freed when the thread ends.

// ---- the step arena: a list of big blocks handed out front to back, rewound each step ----
typedef struct Block {
    struct Block *next;
    size_t size, used;
    unsigned char *data;
} Block;

static _Thread_local Block *arena_first, *arena_current;
enum { ARENA_ALIGN = 64 };
// Blocks in 2 MiB pages where the kernel grants them (Linux's transparent huge pages, asked for by
// madvise): a batch-64 step streams gigabytes of activations through them, and 4 KiB pages cost a TLB
// miss every page.
static const size_t HUGE_PAGE = (size_t)2 << 20;
static const size_t ARENA_MIN_BLOCK = (size_t)64 << 20; // 64 MiB: a few blocks hold a whole step

static void release_at_thread_exit(void);

void *step_alloc(size_t bytes) {
    bytes = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    // Reuse blocks from earlier steps before asking the system for new memory.
    while (arena_current && arena_current->used + bytes > arena_current->size) {
        if (!arena_current->next) break;
        arena_current = arena_current->next;
        arena_current->used = 0;
    }
    if (!arena_current || arena_current->used + bytes > arena_current->size) {
        size_t size = bytes > ARENA_MIN_BLOCK ? bytes : ARENA_MIN_BLOCK;
        size = (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        Block *b = calloc(1, sizeof(Block));
        if (!b || !(b->data = aligned_alloc(HUGE_PAGE, size)))
            sgd_panic("out of memory for a %zu-byte step block", size);
#ifdef MADV_HUGEPAGE
        madvise(b->data, size, MADV_HUGEPAGE); // only advice: without it, 4 KiB pages
#endif
        b->size = size;
        if (!arena_first) release_at_thread_exit();
        if (arena_current) { // splice after the current block, keeping any later ones
            b->next = arena_current->next;
            arena_current->next = b;
        } else {
            b->next = arena_first;
            arena_first = b;
        }
        arena_current = b;
    }
    void *p = arena_current->data + arena_current->used;
    arena_current->used += bytes;
    return p;
}

size_t step_memory_used(void) {
    size_t used = 0;
    for (Block *b = arena_first; b; b = b->next) {
        used += b->used;
        if (b == arena_current) break;
    }
    return used;
}

size_t step_memory_reserved(void) {
    size_t total = 0;
    for (Block *b = arena_first; b; b = b->next) total += b->size;
    return total;
}

Tensor *step_tensor_on(Device device, int rank, const int *shape) {
    if (rank < 0 || rank > TENSOR_MAX_RANK)
        sgd_panic("tensor rank %d is outside 0..%d", rank, TENSOR_MAX_RANK);
    Tensor *t = step_alloc(sizeof(Tensor));
    memset(t, 0, sizeof(*t));
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < TENSOR_MAX_RANK; i++) {
        t->shape[i] = i < rank ? shape[i] : 1;
        if (i < rank) t->numel *= (size_t)shape[i];
    }
    size_t bytes = t->numel * sizeof(float);
    t->data = device == DEVICE_CUDA ? cuda_step_alloc(bytes) : step_alloc(bytes);
    t->device = device;
    t->in_arena = true;
    return t;
}

// Zeroes on the threads in slices: a ResNet's gradients are 45-85 MB (its activations' at batch 64 more),
// and one thread zeroing them alone left the other waiting for 2-3% of a batch-1 training step.
static void zero_floats(float *p, size_t n) {
    enum { SLICE = 1 << 16 };
#pragma omp parallel for schedule(static) if (n > SLICE)
    for (size_t i = 0; i < n; i += SLICE) memset(p + i, 0, sizeof(float) * (n - i < SLICE ? n - i : SLICE));
}

Tensor *step_zeros_on(Device device, int rank, const int *shape) {
    Tensor *t = step_tensor_on(device, rank, shape);
    if (device == DEVICE_CUDA)
        cuda_zero(t->data, t->numel);
    else
        zero_floats(t->data, t->numel);
    return t;
}

Tensor *step_tensor(int rank, const int *shape) {
    return step_tensor_on(DEVICE_CPU, rank, shape);
}

Tensor *step_zeros(int rank, const int *shape) {
    return step_zeros_on(DEVICE_CPU, rank, shape);
}

// ---- the tape ----
static _Thread_local Node *tape;
static _Thread_local int tape_len, tape_cap;
static _Thread_local bool grad_on = true;

// Runs when a thread that used step memory ends (tss destructor): its blocks and tape go back.
static void release_step_memory(void *unused) {
    for (Block *b = arena_first, *next; b; b = next) {
        next = b->next;
        free(b->data);
        free(b);
    }
    arena_first = arena_current = NULL;
    free(tape);
    tape = NULL;
    tape_len = tape_cap = 0;
}
static tss_t release_key;
static once_flag release_once = ONCE_FLAG_INIT;
static void make_release_key(void) {
    if (tss_create(&release_key, release_step_memory) != thrd_success)
        sgd_panic("cannot create the per-thread step memory key");
}
// Called when a thread first takes memory: the non-NULL value makes its destructor run.
static void release_at_thread_exit(void) {
    call_once(&release_once, make_release_key);
    if (!tss_get(release_key)) tss_set(release_key, &release_key);
}

bool set_grad_enabled(bool enabled) {
    bool previous = grad_on;
    grad_on = enabled;
    return previous;
}

bool grad_enabled(void) {
    return grad_on;
}

Node *tape_record(const char *op, Tensor *out, BackwardFn backward_fn, int n_in, Tensor *const *in) {
    if (!grad_on) return NULL;
    bool needed = false;
    for (int k = 0; k < n_in; k++) needed |= in[k] && in[k]->requires_grad;
    if (!needed) return NULL;
    if (n_in > NODE_MAX_INPUTS)
        sgd_panic("op %s has %d inputs, the tape holds at most %d", op, n_in, NODE_MAX_INPUTS);
    if (tape_len == tape_cap) {
        tape_cap = tape_cap ? 2 * tape_cap : 256;
        if (!tape) release_at_thread_exit();
        tape = realloc(tape, sizeof(Node) * (size_t)tape_cap);
        if (!tape) sgd_panic("out of memory growing the tape");
    }
    Node *node = &tape[tape_len++];
    memset(node, 0, sizeof(*node));
    node->op = op;
    node->out = out;
    node->backward = backward_fn;
    node->n_in = n_in;
    for (int k = 0; k < n_in; k++) node->in[k] = in[k];
    out->requires_grad = true;
    return node;
}

float *grad_of(Tensor *t) {
    if (!t->grad) {
        // Step tensors get step gradients; parameters get a gradient that lives with them.
        t->grad = t->in_arena ? step_zeros_on(t->device, t->rank, t->shape)
                              : tensor_zeros_on(t->device, t->rank, t->shape);
    }
    return t->grad->data;
}

// Every node's backward, newest first, once d loss / d (the last output) is in place.
static void run_tape_backward(void) {
    for (int k = tape_len - 1; k >= 0; k--) {
        Node *node = &tape[k];
        if (node->out->grad) node->backward(node); // no gradient reached this node: nothing to pass on
    }
}

void backward(Tensor *loss) {
    if (loss->numel != 1) {
        char s[64];
        sgd_panic("backward() needs a loss with one element, got shape %s",
                  tensor_shape_str(loss, s, sizeof s));
    }
    if (!loss->requires_grad)
        sgd_panic("backward(): the loss does not depend on anything that requires grad");
    if (loss->device == DEVICE_CUDA)
        cuda_add_one(grad_of(loss)); // d loss / d loss, without a round trip to the host
    else
        grad_of(loss)[0] += 1.0f;
    run_tape_backward();
}

void backward_with(Tensor *out, const Tensor *grad) {
    tensor_check_same_shape("backward_with", out, grad);
    if (!out->requires_grad)
        sgd_panic("backward_with(): the output does not depend on anything that requires grad");
    grad_of(out);
    tensor_copy_(out->grad, grad);
    run_tape_backward();
}

void zero_grad(Tensor *const *params, int n) {
    for (int k = 0; k < n; k++)
        if (params[k]->grad) {
            Tensor *g = params[k]->grad;
            if (g->device == DEVICE_CUDA)
                cuda_zero(g->data, g->numel);
            else
                zero_floats(g->data, g->numel);
        }
}

void tape_reset(void) {
    tape_len = 0;
    for (Block *b = arena_first; b; b = b->next) b->used = 0;
    arena_current = arena_first;
    cuda_step_reset(); // the device arena too (a no-op before the GPU is opened)
}

int tape_length(void) {
    return tape_len;
}

void tape_print(FILE *f) {
    for (int k = 0; k < tape_len; k++) {
        const Node *node = &tape[k];
        char s[64];
        fprintf(f, "%3d %-14s", k, node->op);
        for (int j = 0; j < node->n_in; j++)
            fprintf(f, "%s%s", j ? " x " : "", tensor_shape_str(node->in[j], s, sizeof s));
        fprintf(f, " -> %s\n", tensor_shape_str(node->out, s, sizeof s));
    }
}
