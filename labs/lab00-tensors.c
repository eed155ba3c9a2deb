// lab00-tensors — "a tensor means array": the tensor tour at the start of the lesson's notebook.
//
// Everything a model reads and writes is a tensor: a rectangular array with a shape. This lab
// builds the tensors of lab01 step by step and prints each one, then shows the two numbers that
// turn a model's outputs into a score: argmax (which class won) and the error rate.
#include <stdio.h>

#include "cli.h"
#include "ops.h"
#include "tensor.h"

static void heading(const char *text) {
    printf("\n== %s\n", text);
}

int main(int argc, char **argv) {
    int seed = 42;
    Flag flags[] = {
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed (same seed, same numbers)"}};
    Cli cli = {"lab00-tensors",
               "a guided tour of tensors: shape, rank, fills, slices, x@a, argmax, error rate",
               "\"a tensor means array\": the first cells of the SGD notebook",
               NULL,
               "lab00-tensors --seed 7",
               flags,
               1};
    cli_parse(&cli, argc, argv, NULL, 0);
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);

    heading("1. Rank and axes");
    printf(
        "A tensor is a rectangular array: every row has the same length, every column the same height.\n"
        "Its rank is how many axes it has. A colour photo 480 high and 640 wide is rank 3: (480, 640, 3);\n"
        "a batch of 64 of them is rank 4: (64, 480, 640, 3). Rows come first, like in maths.\n");
    Tensor *image = tensor_zeros(SHAPE(480, 640, 3));
    char s[64];
    printf("image: rank %d, shape %s, %zu numbers\n", image->rank, tensor_shape_str(image, s, sizeof s),
           image->numel);
    tensor_free(image);

    heading("2. A tensor of ones: x = torch.ones(n, 2) with n = 100");
    int n = 100;
    Tensor *x = tensor_ones(SHAPE(n, 2));
    printf("x: rank %d, shape %s. Column 1 stays all ones: it lets the model learn an intercept.\n", x->rank,
           tensor_shape_str(x, s, sizeof s));

    heading("3. Fill column 0 in place with U(-1, 1): x[:,0].uniform_(-1., 1)");
    printf("The trailing underscore in PyTorch means 'in place': x itself changes, nothing new is made.\n");
    tensor_column_uniform_(x, 0, -1.0f, 1.0f, &rng);

    heading("4. The first 5 rows: x[:5]");
    printf("A slice is a view: it shares memory with x, so it costs nothing to make.\n");
    Tensor *first5 = tensor_rows(x, 0, 5);
    tensor_print("x[:5]", first5);
    tensor_free(first5);

    heading("5. The coefficients a = tensor(3., 2) and the matrix product x@a");
    Tensor *a = tensor_from(SHAPE(2), (float[]){3.0f, 2.0f});
    tensor_print("a", a);
    printf("x@a multiplies each row of x by a and adds up: 3*x1 + 2*1. An (100, 2) matrix times a\n"
           "vector of 2 gives a vector of 100, one prediction per row.\n");
    Tensor *y = tensor_matmul(x, a);
    Tensor *y5 = tensor_rows(y, 0, 5);
    tensor_print("(x@a)[:5]", y5);
    tensor_free(y5);
    printf("shape of x@a: %s; mean %.4f (column 0 averages near 0, so the mean is near 2)\n",
           tensor_shape_str(y, s, sizeof s), tensor_mean(y));

    heading("6. argmax: which class did the model pick?");
    printf("A classifier outputs one probability per class. For black / grizzly / teddy:\n");
    Tensor *probs = tensor_from(SHAPE(3), (float[]){0.08f, 0.17f, 0.75f});
    tensor_print("probs", probs);
    const char *classes[] = {"black", "grizzly", "teddy"};
    size_t best = tensor_argmax(probs);
    printf("argmax = %zu -> '%s' (the index of the largest probability)\n", best, classes[best]);

    heading("7. Accuracy and error rate for a batch of 6 images");
    Tensor *scores =
        tensor_from(SHAPE(6, 3), (float[]){0.9f, 0.05f, 0.05f, 0.2f, 0.7f, 0.1f, 0.1f, 0.1f, 0.8f, 0.6f, 0.3f,
                                           0.1f, 0.3f, 0.3f, 0.4f, 0.1f, 0.8f, 0.1f});
    int labels[6] = {0, 1, 2, 1, 2, 0};
    tensor_print("scores", scores);
    int predicted[6];
    tensor_argmax_rows(scores, predicted);
    printf("predicted = [");
    for (int i = 0; i < 6; i++) printf("%s%d", i ? ", " : "", predicted[i]);
    printf("]\nlabels    = [0, 1, 2, 1, 2, 0]\n");
    float acc = accuracy(scores, labels);
    printf("accuracy   = correct / total = %.4f\n", acc);
    printf("error_rate = 1 - accuracy     = %.4f\n", error_rate(scores, labels));
    printf("\nNext: lab01-linear fits a to noisy data with gradient descent.\n");

    tensor_free(x), tensor_free(a), tensor_free(y), tensor_free(probs), tensor_free(scores);
    return 0;
}
