// test_core.c — tensors, rng and ops against naive references.
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ops.h"
#include "tensor.h"

static void test_creation(void) {
    Tensor *z = tensor_zeros(SHAPE(3, 4));
    CHECK(z->rank == 2 && z->shape[0] == 3 && z->shape[1] == 4 && z->numel == 12, "zeros shape");
    CHECK(tensor_sum(z) == 0.0f, "zeros sum %g", tensor_sum(z));
    Tensor *o = tensor_ones(SHAPE(2, 3, 4, 5));
    CHECK(o->numel == 120 && tensor_sum(o) == 120.0f, "ones: numel %zu sum %g", o->numel, tensor_sum(o));
    float vals[] = {1, 2, 3, 4, 5, 6};
    Tensor *f = tensor_from(SHAPE(2, 3), vals);
    CHECK(*tensor_at2(f, 1, 2) == 6.0f && *tensor_at2(f, 0, 1) == 2.0f, "row-major indexing");
    Tensor *s = tensor_from(SHAPE(), (float[]){7});
    CHECK(s->rank == 0 && s->numel == 1, "scalar has rank 0 and one element");
    char buf[64];
    CHECK(strcmp(tensor_shape_str(o, buf, sizeof buf), "[2, 3, 4, 5]") == 0, "shape string %s", buf);
    tensor_free(z), tensor_free(o), tensor_free(f), tensor_free(s);
}

static void test_views(void) {
    Tensor *x = tensor_from(SHAPE(4, 2), (float[]){0, 1, 2, 3, 4, 5, 6, 7});
    Tensor *v = tensor_rows(x, 1, 3);
    CHECK(v->shape[0] == 2 && v->shape[1] == 2 && v->data[0] == 2.0f, "rows view starts at row 1");
    v->data[0] = 42;
    CHECK(x->data[2] == 42.0f, "writing through a view changes the parent");
    tensor_free(v); // frees only the header: x still valid
    Tensor *r = tensor_reshape(x, SHAPE(2, 4));
    CHECK(r->data == x->data && r->shape[1] == 4, "reshape shares data");
    tensor_free(r);
    CHECK(x->data[7] == 7.0f, "parent intact after freeing views");
    tensor_free(x);
}

static void test_fills(void) {
    Rng rng;
    rng_seed(&rng, 1, 0);
    Tensor *x = tensor_ones(SHAPE(1000, 2));
    tensor_column_uniform_(x, 0, -1, 1, &rng);
    float lo = 1, hi = -1;
    int ones = 0;
    for (int i = 0; i < 1000; i++) {
        float v = *tensor_at2(x, i, 0);
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        ones += *tensor_at2(x, i, 1) == 1.0f;
    }
    CHECK(lo >= -1 && hi < 1 && lo < -0.95f && hi > 0.95f, "column 0 spans U(-1,1): [%g, %g]", lo, hi);
    CHECK(ones == 1000, "column 1 untouched (%d ones)", ones);
    Tensor *n = tensor_normal(SHAPE(20000), 2.0f, 0.5f, &rng);
    float mean = tensor_mean(n);
    double var = 0;
    for (size_t i = 0; i < n->numel; i++) var += (n->data[i] - mean) * (n->data[i] - mean);
    var /= (double)n->numel;
    CHECK_NEAR(mean, 2.0, 0.02);
    CHECK_NEAR(sqrt(var), 0.5, 0.02);
    tensor_free(x), tensor_free(n);
}

static void test_rng(void) {
    Rng a, b, c;
    rng_seed(&a, 42, 0), rng_seed(&b, 42, 0), rng_seed(&c, 43, 0);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = rng_u32(&a), y = rng_u32(&b), z = rng_u32(&c);
        same &= x == y;
        differ += x != z;
    }
    CHECK(same, "same seed gives the same bits");
    CHECK(differ > 990, "another seed gives other bits (%d of 1000 differ)", differ);
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) counts[rng_below(&a, 10)]++;
    for (int k = 0; k < 10; k++)
        CHECK(counts[k] > 9500 && counts[k] < 10500, "rng_below bucket %d: %d", k, counts[k]);
    int items[50], seen[50] = {0};
    for (int i = 0; i < 50; i++) items[i] = i;
    rng_shuffle(&a, items, 50);
    int moved = 0;
    for (int i = 0; i < 50; i++) seen[items[i]]++, moved += items[i] != i;
    int perm = 1;
    for (int i = 0; i < 50; i++) perm &= seen[i] == 1;
    CHECK(perm && moved > 40, "shuffle is a permutation that moves items (%d moved)", moved);
}

// matmul through OpenBLAS agrees with three plain loops on awkward shapes.
static void test_matmul(void) {
    Rng rng;
    rng_seed(&rng, 7, 0);
    int shapes[][3] = {{1, 1, 1}, {1, 7, 1},   {5, 1, 3},     {1, 9, 4},
                       {6, 3, 1}, {17, 33, 9}, {64, 128, 31}, {100, 2, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        Tensor *a = tensor_uniform(SHAPE(M, K), -1, 1, &rng), *b = tensor_uniform(SHAPE(K, N), -1, 1, &rng);
        Tensor *c = tensor_matmul(a, b), *ref = tensor_zeros(SHAPE(M, N));
        matmul_forward_naive(ref->data, a->data, b->data, M, K, N);
        float worst = 0;
        for (size_t i = 0; i < c->numel; i++) worst = fmaxf(worst, fabsf(c->data[i] - ref->data[i]));
        CHECK(worst < 1e-4f * K, "matmul (%d,%d)@(%d,%d): max diff %g", M, K, K, N, worst);
        tensor_free(a), tensor_free(b), tensor_free(c), tensor_free(ref);
    }
    // matrix @ vector gives a vector
    Tensor *x = tensor_from(SHAPE(2, 2), (float[]){1, 2, 3, 4}), *v = tensor_from(SHAPE(2), (float[]){1, -1});
    Tensor *y = tensor_matmul(x, v);
    CHECK(y->rank == 1 && y->shape[0] == 2 && y->data[0] == -1.0f && y->data[1] == -1.0f, "matrix @ vector");
    Tensor *t = tensor_transpose(x);
    CHECK(t->data[1] == 3.0f && t->data[2] == 2.0f, "transpose swaps rows and columns");
    tensor_free(x), tensor_free(v), tensor_free(y), tensor_free(t);
}

static void test_elementwise_and_reductions(void) {
    Rng rng;
    rng_seed(&rng, 3, 0);
    Tensor *a = tensor_uniform(SHAPE(3, 5), -2, 2, &rng), *b = tensor_uniform(SHAPE(3, 5), -2, 2, &rng);
    Tensor *s = tensor_add(a, b), *d = tensor_sub(a, b), *m = tensor_mul(a, b), *k = tensor_scale(a, -3);
    int ok = 1;
    double sum = 0;
    for (size_t i = 0; i < a->numel; i++) {
        ok &= s->data[i] == a->data[i] + b->data[i] && d->data[i] == a->data[i] - b->data[i];
        ok &= m->data[i] == a->data[i] * b->data[i] && k->data[i] == -3 * a->data[i];
        sum += a->data[i];
    }
    CHECK(ok, "add/sub/mul/scale element by element");
    CHECK_NEAR(tensor_sum(a), sum, 1e-5);
    CHECK_NEAR(tensor_mean(a), sum / 15, 1e-6);
    tensor_axpy_(a, 0.5f, b);
    CHECK_NEAR(a->data[4], s->data[4] - 0.5 * b->data[4], 1e-6);
    // MSE by hand
    Tensor *p = tensor_from(SHAPE(3), (float[]){1, 2, 3}), *t = tensor_from(SHAPE(3), (float[]){1, 0, 6});
    CHECK_NEAR(mse_loss(p, t), (0 + 4 + 9) / 3.0, 1e-6);
    // argmax: the first of equal maxima, like PyTorch on CPU
    Tensor *v = tensor_from(SHAPE(5), (float[]){0.1f, 0.7f, 0.2f, 0.7f, -1});
    CHECK(tensor_argmax(v) == 1, "argmax picks index %zu", tensor_argmax(v));
    Tensor *scores = tensor_from(SHAPE(4, 3), (float[]){1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0});
    int labels[4] = {0, 1, 1, 0};
    CHECK_NEAR(accuracy(scores, labels), 0.75, 1e-6);
    CHECK_NEAR(error_rate(scores, labels), 0.25, 1e-6);
    tensor_free(a), tensor_free(b), tensor_free(s), tensor_free(d), tensor_free(m), tensor_free(k);
    tensor_free(p), tensor_free(t), tensor_free(v), tensor_free(scores);
}

// Printing like PyTorch: whole numbers as "3.", otherwise 4 decimals, long tensors summarised.
static void test_print(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    Tensor *a = tensor_from(SHAPE(2), (float[]){3, 2});
    tensor_fprint(f, a);
    fflush(f);
    CHECK(strcmp(buf, "tensor([3., 2.])") == 0, "got '%s'", buf);
    rewind(f);
    Tensor *b = tensor_from(SHAPE(2, 2), (float[]){0.5f, -1, 0.25f, 1});
    tensor_fprint(f, b);
    fputc('\0', f);
    fflush(f);
    CHECK(strcmp(buf, "tensor([[ 0.5000, -1.0000],\n        [ 0.2500,  1.0000]])") == 0, "got '%s'", buf);
    rewind(f);
    Tensor *big = tensor_zeros(SHAPE(2000));
    tensor_fprint(f, big);
    fputc('\0', f);
    fflush(f);
    CHECK(strstr(buf, "...") != NULL && strlen(buf) < 100, "2000 elements are summarised: '%s'", buf);
    fclose(f);
    free(buf);
    tensor_free(a), tensor_free(b), tensor_free(big);
}

// A shape mistake stops the program with a message naming both shapes.
static void test_shape_mismatch_message(void) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        Tensor *a = tensor_zeros(SHAPE(3, 2)), *b = tensor_zeros(SHAPE(2, 3));
        tensor_add(a, b);
        _exit(0);
    }
    close(fds[1]);
    char msg[512] = {0};
    ssize_t got = 0, r;
    while ((r = read(fds[0], msg + got, sizeof msg - 1 - (size_t)got)) > 0) got += r;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "mismatched add must not succeed");
    CHECK(strstr(msg, "[3, 2]") && strstr(msg, "[2, 3]") && strstr(msg, "tensor_add"), "message: %s", msg);
}

int main(void) {
    test_creation();
    test_views();
    test_fills();
    test_rng();
    test_matmul();
    test_elementwise_and_reductions();
    test_print();
    test_shape_mismatch_message();
    return check_done("test_core");
}
