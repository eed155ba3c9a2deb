// tensor.h — the one data type of sgdlab.
//
// "A tensor means array": a rectangular block of numbers with a shape. Here every tensor is
//   * float32,
//   * rank 0..4 (rank = number of axes: a vector is rank 1, a matrix rank 2, a batch of RGB
//     images rank 4 as (N, C, H, W)),
//   * row-major and contiguous: element (i, j) of an (R, C) matrix lives at data[i*C + j].
//
// Creating tensors: the SHAPE() macro turns a list of sizes into (rank, sizes), so
//     Tensor *x = tensor_ones(SHAPE(100, 2));      // like torch.ones(100, 2)
//     Tensor *a = tensor_from(SHAPE(2, 1), (float[]){3, 2});
//     tensor_print("a", a);                       // prints like PyTorch: tensor([[3.], [2.]])
//     tensor_free(x);
// Anything random takes an explicit Rng (rng.h), so the same seed gives the same bits.
//
// A row view (x[:5] in PyTorch) shares memory with its parent: tensor_rows(x, 0, 5). Writing
// through the view changes the parent; freeing the view frees only the header.
//
// Shape mistakes are programming errors, not user errors: tensor_check_same_shape() and friends
// print both shapes and abort, the way PyTorch raises "size mismatch".
#ifndef SGDLAB_TENSOR_H
#define SGDLAB_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rng.h"

#define TENSOR_MAX_RANK 4

typedef enum { DEVICE_CPU = 0, DEVICE_CUDA = 1 } Device;

typedef struct Tensor {
    float *data;
    int rank;
    int shape[TENSOR_MAX_RANK]; // unused trailing entries are 1
    size_t numel;               // product of the shape (1 for rank 0)
    Device device;
    bool owns_data;      // false for views: freeing them leaves the parent's data alone
    bool in_arena;       // made by an op during a training step: freed all at once by tape_reset()
    bool requires_grad;  // set on parameters; the autograd tape records ops on them
    struct Tensor *grad; // same shape as the tensor, filled by backward(), NULL until then
    // Bumped by tensor_changed() whenever the library rewrites the values in place (optimiser steps,
    // loading a model, batchnorm's running statistics), so a cache made from them (bearnet's folded
    // inference weights) knows it is stale. Code that writes ->data of a parameter itself calls it too.
    unsigned long version;
} Tensor;

static inline void tensor_changed(Tensor *t) {
    t->version++;
}

// SHAPE(100, 2) expands to: 2, (int[]){100, 2}
#define SHAPE(...) ((int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int))), ((const int[]){__VA_ARGS__})

// ---- creation (all return a new tensor that the caller frees with tensor_free) ----
Tensor *tensor_zeros(int rank, const int *shape);
Tensor *tensor_ones(int rank, const int *shape);
Tensor *tensor_full(int rank, const int *shape, float value);
Tensor *tensor_from(int rank, const int *shape, const float *values); // copies numel values
Tensor *tensor_uniform(int rank, const int *shape, float low, float high, Rng *rng);
Tensor *tensor_normal(int rank, const int *shape, float mean, float std, Rng *rng);
Tensor *tensor_copy(const Tensor *t);
void tensor_free(Tensor *t); // no-op for step tensors (in_arena), which tape_reset() frees

// A view of rows [start, end) along axis 0; shares data with t (PyTorch's t[start:end]).
Tensor *tensor_rows(const Tensor *t, int start, int end);
// Same data, new shape with the same numel (PyTorch's view/reshape on a contiguous tensor).
Tensor *tensor_reshape(const Tensor *t, int rank, const int *shape);

// ---- in-place fills (PyTorch's trailing-underscore ops) ----
void tensor_fill_(Tensor *t, float value);
void tensor_uniform_(Tensor *t, float low, float high, Rng *rng);
void tensor_normal_(Tensor *t, float mean, float std, Rng *rng);
// Fill column `col` of a rank-2 tensor with U(low, high): the lesson's x[:,0].uniform_(-1.,1).
void tensor_column_uniform_(Tensor *t, int col, float low, float high, Rng *rng);

// ---- element access and shape helpers ----
static inline float *tensor_at2(const Tensor *t, int i, int j) {
    return &t->data[(size_t)i * t->shape[1] + j];
}
bool tensor_same_shape(const Tensor *a, const Tensor *b);
// Writes "[100, 2]" into buf (for messages); returns buf.
const char *tensor_shape_str(const Tensor *t, char *buf, size_t size);
// Abort with "what: shape [..] vs [..]" when the shapes differ / the rank or a size is wrong.
void tensor_check_same_shape(const char *what, const Tensor *a, const Tensor *b);
void tensor_check_rank(const char *what, const Tensor *t, int rank);

// ---- printing: like PyTorch, 4 decimals, long tensors summarised with "..." ----
void tensor_fprint(FILE *f, const Tensor *t);
void tensor_print(const char *name, const Tensor *t); // "name = tensor(...)" on stdout

// ---- devices: where the data live (the GPU side is core/cuda/) ----
// "cpu" or "cuda" (opening the GPU) into *device; false with why (no GPU, a build without CUDA, another
// name) in err: the caller prints it and exits 1.
bool device_select(const char *name, Device *device, char *err, size_t err_size);
Tensor *tensor_zeros_on(Device device, int rank, const int *shape);
Tensor *tensor_to(const Tensor *t, Device device); // a copy on device (the GPU copy of a batch, a model)
void tensor_copy_(Tensor *dst, const Tensor *src); // dst's values = src's, whatever their devices
void tensor_read(const Tensor *t, float *out);     // all numel values into host memory, from any device
float tensor_item(const Tensor *t);                // element 0, fetched from the device if need be

// Abort with a message: used for programming errors (wrong shapes), never for user input.
// (The attribute rather than C11's _Noreturn: core/cuda/'s C++ includes this header too.)
void sgd_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
// malloc and calloc that panic instead of returning NULL (out of memory is not something a caller can
// mend).
void *sgd_malloc(size_t bytes);
void *sgd_calloc(size_t count, size_t size);

#endif
