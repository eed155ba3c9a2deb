// test_autograd — the tape's promises: gradients add up until zero_grad, no-grad records nothing,
// tape_reset gives step memory back for the next step, and backward refuses a non-scalar loss.
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autograd.h"
#include "check.h"
#include "grad_ops.h"

static Rng rng;

// backward() on a tensor of several elements must stop with a message, not guess a seed gradient.
// It aborts (a programming error), so run it in a child process and look at how the child ended.
static void test_backward_refuses_non_scalar(void) {
    int pipe_fd[2];
    if (pipe(pipe_fd) != 0) {
        CHECK(false, "pipe() failed");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipe_fd[1], STDERR_FILENO);
        Tensor *a = tensor_from(SHAPE(3), (float[]){1, 2, 3});
        a->requires_grad = true;
        backward(scale(a, 2.0f)); // shape [3]: not a loss
        _exit(0);                 // reached only if backward() accepted it
    }
    close(pipe_fd[1]);
    char message[512] = "";
    size_t length = 0; // stderr is unbuffered: the message arrives in pieces, so read to the end
    for (ssize_t got; (got = read(pipe_fd[0], message + length, sizeof message - 1 - length)) > 0;)
        length += (size_t)got;
    message[length] = '\0';
    close(pipe_fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    printf("backward on shape [3]: child %s, said: %s", WIFSIGNALED(status) ? "aborted" : "exited", message);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "backward on a non-scalar did not abort");
    CHECK(strstr(message, "one element") != NULL, "the message does not say a loss needs one element: %s",
          message);
}

// loss = sum(a * w) has d loss / d a = w. Two backward() calls without zero_grad leave 2w.
static void test_gradients_accumulate(void) {
    Tensor *a = tensor_uniform(SHAPE(4), -1.0f, 1.0f, &rng), *w = tensor_uniform(SHAPE(4), -1.0f, 1.0f, &rng);
    a->requires_grad = true;
    for (int pass = 1; pass <= 3; pass++) {
        backward(sum(mul(a, w)));
        tape_reset();
        float worst = 0;
        for (int i = 0; i < 4; i++) worst = fmaxf(worst, fabsf(a->grad->data[i] - (float)pass * w->data[i]));
        printf("after %d backward() calls without zero_grad: a.grad = %d * w, off by %g\n", pass, pass,
               worst);
        CHECK(worst <= 1e-6f, "pass %d: a.grad is not %d * w (off by %g)", pass, pass, worst);
    }
    zero_grad(&a, 1);
    backward(sum(mul(a, w)));
    tape_reset();
    float worst = 0;
    for (int i = 0; i < 4; i++) worst = fmaxf(worst, fabsf(a->grad->data[i] - w->data[i]));
    printf("after zero_grad and one more backward(): a.grad = w, off by %g\n", worst);
    CHECK(worst <= 1e-6f, "zero_grad then backward: a.grad is not w (off by %g)", worst);
    tensor_free(a), tensor_free(w);
}

// In no-grad mode ops compute but leave no trace: nothing on the tape, outputs need no gradient.
static void test_no_grad_records_nothing(void) {
    Tensor *a = tensor_uniform(SHAPE(3, 2), -1.0f, 1.0f, &rng),
           *b = tensor_uniform(SHAPE(2), -1.0f, 1.0f, &rng);
    a->requires_grad = true;
    tape_reset();
    bool previous = set_grad_enabled(false);
    Tensor *loss = mean(add(matmul(a, b), scale(matmul(a, b), 3.0f)));
    int recorded_off = tape_length();
    CHECK(previous, "grad mode was not on at the start");
    CHECK(!grad_enabled(), "set_grad_enabled(false) did not turn it off");
    CHECK(!loss->requires_grad, "an output made in no-grad mode requires grad");
    set_grad_enabled(previous);
    loss = mean(add(matmul(a, b), scale(matmul(a, b), 3.0f)));
    int recorded_on = tape_length();
    printf("nodes recorded for mean(matmul + scale(matmul)): %d with no-grad, %d with grad on\n",
           recorded_off, recorded_on);
    CHECK(recorded_off == 0, "no-grad recorded %d nodes", recorded_off);
    CHECK(recorded_on == 5 && loss->requires_grad, "grad mode recorded %d nodes, expected 5", recorded_on);
    // Inputs that need no gradient leave no trace either, grad mode or not.
    tape_reset();
    Tensor *c = tensor_uniform(SHAPE(3, 2), -1.0f, 1.0f, &rng);
    mean(matmul(c, b));
    CHECK(tape_length() == 0, "ops on tensors that need no gradient recorded %d nodes", tape_length());
    tape_reset();
    tensor_free(a), tensor_free(b), tensor_free(c);
}

// A training step's tensors come from the arena; tape_reset() rewinds it. Many steps later the
// arena has not grown and the same addresses are handed out again. The tensors are large enough
// (> 65536 elements) that the element-wise loops run on several threads.
static void test_tape_reset_reuses_memory(void) {
    enum { N = 300, K = 300 };
    Tensor *x = tensor_uniform(SHAPE(N, K), -1.0f, 1.0f, &rng),
           *w = tensor_uniform(SHAPE(K), -0.1f, 0.1f, &rng);
    Tensor *bias = tensor_zeros(SHAPE(1));
    w->requires_grad = bias->requires_grad = true;
    size_t reserved_first = 0, used_first = 0;
    Tensor *first_loss = NULL;
    bool stable = true;
    for (int step = 0; step < 50; step++) {
        Tensor *big = mul(add(x, bias), x);  // (N,K), parallel loops
        Tensor *loss = mean(matmul(big, w)); // (N)
        backward(loss);
        if (step == 0)
            reserved_first = step_memory_reserved(), used_first = step_memory_used(), first_loss = loss;
        stable &= step_memory_reserved() == reserved_first && step_memory_used() == used_first &&
                  loss == first_loss;
        zero_grad(&w, 1), zero_grad(&bias, 1);
        tape_reset();
        CHECK(step_memory_used() == 0, "step %d: %zu bytes still in use after tape_reset", step,
              step_memory_used());
    }
    printf(
        "step memory over 50 steps: %zu bytes used per step, %zu reserved, same addresses every step: %s\n",
        used_first, reserved_first, stable ? "yes" : "no");
    CHECK(used_first >= (size_t)N * K * sizeof(float) * 2, "a step used only %zu bytes", used_first);
    CHECK(stable, "the arena grew or moved between steps");
    // And the big parallel loops computed the right gradient: d mean(((x + b) * x) @ w) / d b = mean over
    // rows of x @ w.
    backward(mean(matmul(mul(add(x, bias), x), w)));
    double want = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) want += (double)x->data[i * K + k] * w->data[k] / N;
    printf("d loss / d bias = %.6f, by hand %.6f\n", bias->grad->data[0], want);
    CHECK_NEAR(bias->grad->data[0], want, 1e-4);
    tape_reset();
    tensor_free(x), tensor_free(w), tensor_free(bias);
}

int main(void) {
    rng_seed(&rng, 7, 0);
    test_backward_refuses_non_scalar(); // first: fork before any thread pool exists
    test_gradients_accumulate();
    test_no_grad_records_nothing();
    test_tape_reset_reuses_memory();
    return check_done("test_autograd");
}
