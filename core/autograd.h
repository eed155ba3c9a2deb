// autograd.h — the tape: how loss.backward() finds every gradient for us.
//
// While a step runs, every op whose inputs require a gradient appends a Node to the tape:
// the op's inputs, its output, the values backward will need, and a backward function. The tape
// is in creation order, so walking it in reverse visits each node after every node that used
// its output: reverse order is already a valid topological order (micrograd sorts; we needn't).
//
//     Tensor *a = tensor_from(SHAPE(2), (float[]){-1, 1});
//     a->requires_grad = true;              // a parameter: we want d loss / d a
//     Tensor *loss = mse(matmul(x, a), y);   // ops record themselves (grad_ops.h)
//     backward(loss);                       // a->grad now holds d loss / d a
//     ... update a under no-grad ...
//     zero_grad(&a, 1);                     // or the next backward() adds on top
//     tape_reset();                         // forget this step's tape and its tensors
//
// Memory: tensors made by ops during a step come from one arena that tape_reset() rewinds, so
// after the first step no big buffer is allocated again (fresh pages are slow to touch).
// Parameters are ordinary tensors that live as long as the model; their .grad too.
// The tape, the arena and grad mode are per thread: threads may each run forward passes of their
// own at the same time (bears serve), on a shared model they only read.
#ifndef SGDLAB_AUTOGRAD_H
#define SGDLAB_AUTOGRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tensor.h"

typedef struct Node Node;
typedef void (*BackwardFn)(Node *node);

enum { NODE_MAX_INPUTS = 4 };

struct Node {
    const char *op;              // name for tape_print, e.g. "matmul"
    Tensor *out;                 // the op's result; out->grad holds d loss / d out in backward
    Tensor *in[NODE_MAX_INPUTS]; // the op's inputs; backward adds d loss / d in to in[i]->grad
    int n_in;
    BackwardFn backward;
    void *saved; // op-specific values from forward (step memory, see tape_alloc)
    float f[4];  // small op parameters (eps, momentum, dropout p, ...)
    int i[8];    // (stride, padding, kernel size, ...)
};

// ---- for code that defines ops ----
// A tensor for this step only (uninitialised data); freed by tape_reset().
Tensor *step_tensor(int rank, const int *shape);
Tensor *step_zeros(int rank, const int *shape);
// The same on a device: for DEVICE_CUDA the data come from the device arena (core/cuda/runtime.cu), which
// tape_reset() rewinds with the host one.
Tensor *step_tensor_on(Device device, int rank, const int *shape);
Tensor *step_zeros_on(Device device, int rank, const int *shape);
// Step memory for saved values (64-byte aligned, uninitialised).
void *step_alloc(size_t bytes);
// Append a node if grad mode is on and some input requires grad; sets out->requires_grad.
// Returns the node (to fill saved / f / i) or NULL when nothing is recorded.
Node *tape_record(const char *op, Tensor *out, BackwardFn backward, int n_in, Tensor *const *in);
// d loss / d t as a float array on t's device, created zeroed on first use: backward functions add (+=)
// into it.
float *grad_of(Tensor *t);

// ---- for code that trains ----
// Seed d loss / d loss = 1 and run every node's backward, newest first. loss must have one element.
void backward(Tensor *loss);
// The same from any op's output, seeded with d loss / d out = grad (out's shape and device): PyTorch's
// out.backward(grad), for testing one op's backward on its own.
void backward_with(Tensor *out, const Tensor *grad);
// Set the gradients of the given parameters to zero (PyTorch's optimizer.zero_grad()).
void zero_grad(Tensor *const *params, int n);
// Forget the tape and free every step tensor (their memory is kept for the next step).
void tape_reset(void);
// Grad mode: off inside the update step and for evaluation. Returns the previous setting.
bool set_grad_enabled(bool enabled);
bool grad_enabled(void);
// The nodes recorded so far, oldest first: "0 matmul [100, 2] x [2] -> [100]".
void tape_print(FILE *f);
int tape_length(void);
// Bytes of step memory in use now / reserved (for benchmarks and the curious).
size_t step_memory_used(void);
size_t step_memory_reserved(void);

#endif
