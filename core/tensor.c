// tensor.c — creation, views, fills, shape checks and PyTorch-style printing.
// Read first in core/: the Tensor every other file passes around (tensor.h).
#include "tensor.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda.h"

_Noreturn void sgd_panic(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sgdlab: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

void *sgd_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) sgd_panic("out of memory allocating %zu bytes", bytes);
    return p;
}

void *sgd_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) sgd_panic("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

// A header with a shape but no data yet.
static Tensor *tensor_header(int rank, const int *shape) {
    if (rank < 0 || rank > TENSOR_MAX_RANK)
        sgd_panic("tensor rank %d is outside 0..%d", rank, TENSOR_MAX_RANK);
    Tensor *t = sgd_malloc(sizeof(Tensor));
    memset(t, 0, sizeof(*t));
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < TENSOR_MAX_RANK; i++) {
        t->shape[i] = i < rank ? shape[i] : 1;
        if (t->shape[i] < 0) sgd_panic("tensor size %d on axis %d is negative", t->shape[i], i);
        if (i < rank) t->numel *= (size_t)shape[i];
    }
    t->device = DEVICE_CPU;
    return t;
}

static Tensor *tensor_alloc(int rank, const int *shape) {
    Tensor *t = tensor_header(rank, shape);
    t->data = sgd_malloc(t->numel * sizeof(float));
    t->owns_data = true;
    return t;
}

Tensor *tensor_zeros(int rank, const int *shape) {
    Tensor *t = tensor_header(rank, shape);
    t->data = sgd_calloc(t->numel, sizeof(float));
    t->owns_data = true;
    return t;
}

Tensor *tensor_full(int rank, const int *shape, float value) {
    Tensor *t = tensor_alloc(rank, shape);
    tensor_fill_(t, value);
    return t;
}

Tensor *tensor_ones(int rank, const int *shape) {
    return tensor_full(rank, shape, 1.0f);
}

Tensor *tensor_from(int rank, const int *shape, const float *values) {
    Tensor *t = tensor_alloc(rank, shape);
    memcpy(t->data, values, t->numel * sizeof(float));
    return t;
}

Tensor *tensor_uniform(int rank, const int *shape, float low, float high, Rng *rng) {
    Tensor *t = tensor_alloc(rank, shape);
    tensor_uniform_(t, low, high, rng);
    return t;
}

Tensor *tensor_normal(int rank, const int *shape, float mean, float std, Rng *rng) {
    Tensor *t = tensor_alloc(rank, shape);
    tensor_normal_(t, mean, std, rng);
    return t;
}

Tensor *tensor_copy(const Tensor *t) {
    return tensor_from(t->rank, t->shape, t->data);
}

void tensor_free(Tensor *t) {
    if (!t || t->in_arena) return;
    if (t->owns_data) t->device == DEVICE_CUDA ? cuda_free(t->data) : free(t->data);
    tensor_free(t->grad);
    free(t);
}

bool device_select(const char *name, Device *device, char *err, size_t err_size) {
    if (strcmp(name, "cpu") == 0) {
        *device = DEVICE_CPU;
        return true;
    }
    if (strcmp(name, "cuda") != 0) {
        snprintf(err, err_size, "unknown device '%s' (cpu or cuda)", name);
        return false;
    }
    *device = DEVICE_CUDA;
    return cuda_init(err, err_size);
}

Tensor *tensor_zeros_on(Device device, int rank, const int *shape) {
    if (device == DEVICE_CPU) return tensor_zeros(rank, shape);
    Tensor *t = tensor_header(rank, shape);
    t->data = cuda_alloc_zeros(t->numel);
    t->owns_data = true;
    t->device = DEVICE_CUDA;
    return t;
}

Tensor *tensor_to(const Tensor *t, Device device) {
    Tensor *out = tensor_zeros_on(device, t->rank, t->shape);
    tensor_copy_(out, t);
    return out;
}

void tensor_copy_(Tensor *dst, const Tensor *src) {
    if (dst->numel != src->numel) sgd_panic("tensor_copy_: %zu values into %zu", src->numel, dst->numel);
    if (dst->device == DEVICE_CPU && src->device == DEVICE_CPU)
        memcpy(dst->data, src->data, src->numel * sizeof(float));
    else
        cuda_copy(dst->data, dst->device, src->data, src->device, src->numel);
}

void tensor_read(const Tensor *t, float *out) {
    if (t->device == DEVICE_CPU)
        memcpy(out, t->data, t->numel * sizeof(float));
    else
        cuda_copy(out, DEVICE_CPU, t->data, t->device, t->numel);
}

float tensor_item(const Tensor *t) {
    if (t->device == DEVICE_CPU) return t->data[0];
    float v;
    cuda_copy(&v, DEVICE_CPU, t->data, DEVICE_CUDA, 1);
    return v;
}

Tensor *tensor_rows(const Tensor *t, int start, int end) {
    if (t->rank < 1) sgd_panic("tensor_rows needs rank >= 1, got a scalar");
    if (start < 0 || end > t->shape[0] || start > end)
        sgd_panic("tensor_rows [%d, %d) is outside the %d rows", start, end, t->shape[0]);
    int shape[TENSOR_MAX_RANK];
    memcpy(shape, t->shape, sizeof(shape));
    shape[0] = end - start;
    Tensor *v = tensor_header(t->rank, shape);
    size_t row = t->shape[0] ? t->numel / (size_t)t->shape[0] : 0;
    v->data = t->data + (size_t)start * row;
    v->owns_data = false;
    v->device = t->device;
    return v;
}

Tensor *tensor_reshape(const Tensor *t, int rank, const int *shape) {
    Tensor *v = tensor_header(rank, shape);
    if (v->numel != t->numel) {
        char a[64], b[64];
        tensor_shape_str(t, a, sizeof a);
        tensor_shape_str(v, b, sizeof b);
        sgd_panic("cannot reshape %s (%zu elements) to %s (%zu elements)", a, t->numel, b, v->numel);
    }
    v->data = t->data;
    v->owns_data = false;
    v->device = t->device;
    return v;
}

void tensor_fill_(Tensor *t, float value) {
    for (size_t i = 0; i < t->numel; i++) t->data[i] = value;
}

void tensor_uniform_(Tensor *t, float low, float high, Rng *rng) {
    for (size_t i = 0; i < t->numel; i++) t->data[i] = low + (high - low) * rng_uniform(rng);
}

void tensor_normal_(Tensor *t, float mean, float std, Rng *rng) {
    for (size_t i = 0; i < t->numel; i++) t->data[i] = mean + std * rng_normal(rng);
}

void tensor_column_uniform_(Tensor *t, int col, float low, float high, Rng *rng) {
    tensor_check_rank("tensor_column_uniform_", t, 2);
    if (col < 0 || col >= t->shape[1]) sgd_panic("column %d is outside the %d columns", col, t->shape[1]);
    for (int i = 0; i < t->shape[0]; i++) *tensor_at2(t, i, col) = low + (high - low) * rng_uniform(rng);
}

bool tensor_same_shape(const Tensor *a, const Tensor *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *tensor_shape_str(const Tensor *t, char *buf, size_t size) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int i = 0; i < t->rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ", %d" : "%d", t->shape[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

void tensor_check_same_shape(const char *what, const Tensor *a, const Tensor *b) {
    if (tensor_same_shape(a, b)) return;
    char sa[64], sb[64];
    sgd_panic("%s: shape mismatch, %s vs %s", what, tensor_shape_str(a, sa, sizeof sa),
              tensor_shape_str(b, sb, sizeof sb));
}

void tensor_check_rank(const char *what, const Tensor *t, int rank) {
    if (t->rank == rank) return;
    char s[64];
    sgd_panic("%s: expected a rank-%d tensor, got shape %s", what, rank, tensor_shape_str(t, s, sizeof s));
}

// ---- printing ----
// PyTorch prints every element with one shared format: integers as "3.", otherwise 4 decimals,
// switching to scientific notation when magnitudes are very large or very small. More than 1000
// elements are summarised: 3 items at each end of every axis with "..." between.

enum { PRINT_EDGE = 3, PRINT_THRESHOLD = 1000 };

typedef struct {
    bool integers; // every value is a whole number: print "3." like PyTorch
    bool sci;      // print as 1.2345e+05
    int width;
    bool summarise;
} PrintFormat;

static void format_value(char *buf, size_t size, float v, const PrintFormat *pf) {
    if (!isfinite(v))
        snprintf(buf, size, "%s", isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    else if (pf->sci)
        snprintf(buf, size, "%.4e", v);
    else if (pf->integers)
        snprintf(buf, size, "%.0f.", v);
    else
        snprintf(buf, size, "%.4f", v);
}

static bool index_shown(int i, int n, bool summarise) {
    return !summarise || n <= 2 * PRINT_EDGE || i < PRINT_EDGE || i >= n - PRINT_EDGE;
}

static void print_axis(FILE *f, const Tensor *t, int axis, size_t offset, int indent, const PrintFormat *pf) {
    int n = t->shape[axis];
    size_t stride = 1;
    for (int i = axis + 1; i < t->rank; i++) stride *= (size_t)t->shape[i];
    fputc('[', f);
    bool skipped = false;
    for (int i = 0; i < n; i++) {
        if (!index_shown(i, n, pf->summarise)) {
            if (!skipped) {
                fprintf(f, axis == t->rank - 1 ? " ...," : "\n%*s...,", indent + 1, "");
                skipped = true;
            }
            continue;
        }
        if (axis == t->rank - 1) {
            char buf[32];
            format_value(buf, sizeof buf, t->data[offset + (size_t)i], pf);
            fprintf(f, "%s%*s", i ? " " : "", pf->width, buf);
        } else {
            if (i) {
                for (int k = axis; k < t->rank - 1; k++) fputc('\n', f);
                fprintf(f, "%*s", indent + 1, "");
            }
            print_axis(f, t, axis + 1, offset + (size_t)i * stride, indent + 1, pf);
        }
        if (i < n - 1) fputc(',', f);
    }
    fputc(']', f);
}

void tensor_fprint(FILE *f, const Tensor *t) {
    PrintFormat pf = {.integers = true, .summarise = t->numel > PRINT_THRESHOLD};
    float maxabs = 0, minabs = INFINITY;
    for (size_t i = 0; i < t->numel; i++) {
        float v = t->data[i];
        if (!isfinite(v)) continue;
        if (v != floorf(v)) pf.integers = false;
        float a = fabsf(v);
        if (a > maxabs) maxabs = a;
        if (a > 0 && a < minabs) minabs = a;
    }
    pf.sci = maxabs >= 1e8f || (!pf.integers && (maxabs > 0 && (maxabs / minabs > 1e3f && minabs < 1e-4f)));
    for (size_t i = 0; i < t->numel; i++) {
        char buf[32];
        format_value(buf, sizeof buf, t->data[i], &pf);
        int w = (int)strlen(buf);
        if (w > pf.width) pf.width = w;
    }
    fprintf(f, "tensor(");
    if (t->rank == 0) {
        char buf[32];
        format_value(buf, sizeof buf, t->data[0], &pf);
        fprintf(f, "%s", buf);
    } else {
        print_axis(f, t, 0, 0, 7, &pf);
    }
    fprintf(f, ")");
}

void tensor_print(const char *name, const Tensor *t) {
    if (name) printf("%s = ", name);
    tensor_fprint(stdout, t);
    printf("\n");
}
