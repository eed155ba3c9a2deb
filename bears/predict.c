// predict.c — `bears predict MODEL IMAGE...`: the production step (learn.predict(img)).
//
// Loads the model once, then for each picture prints the winning class and every class's
// probability. A picture that cannot be read is reported and skipped; the exit code says whether
// every picture got an answer.
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ops.h"
#include "commands.h"
#include "model.h"

int cmd_predict(int argc, char **argv) {
    bool tta = false;
    Flag flags[] = {
        {"--tta", FLAG_BOOL, &tta, 0, 0, false, NULL,
         "test-time augmentation: mix the picture's prediction with 8 fixed views (corner crops, mirrored)"},
    };
    Cli cli = {"bears predict",
               "classify pictures with a trained model: the class and each class's probability",
               "pred_class, pred_idx, outputs = learn.predict(img)",
               "MODEL IMAGE...",
               "bears predict bears.safetensors data/bears/teddy/0001.jpg",
               flags,
               sizeof flags / sizeof flags[0]};
    const char **args = calloc((size_t)argc + 1, sizeof(char *));
    int n = cli_parse(&cli, argc, argv, args, argc);
    if (n < 2) {
        free(args);
        cli_usage_error(&cli, "needs a model file and at least one picture");
    }
    BearModel m;
    char err[1024];
    if (!bear_model_load(args[0], &m, err, sizeof err)) {
        fprintf(stderr, "bears predict: %s\n", err);
        free(args);
        return 1;
    }
    m.tta = tta;
    int failed = 0;
    float *probs = malloc(sizeof(float) * (size_t)m.n_classes);
    for (int i = 1; i < n; i++) {
        Image img = {0};
        if (!image_load(args[i], &img, err, sizeof err) ||
            !bear_model_predict_image(&m, &img, probs, err, sizeof err)) {
            fprintf(stderr, "bears predict: %s: %s\n", args[i], err);
            failed++;
            image_free(&img);
            continue;
        }
        int best = argmax(probs, m.n_classes);
        printf("%s: %s (%.1f%%)", args[i], m.classes[best], 100 * probs[best]);
        for (int c = 0; c < m.n_classes; c++) printf("  %s %.4f", m.classes[c], probs[c]);
        printf("\n");
        image_free(&img);
    }
    if (failed) fprintf(stderr, "bears predict: %d of %d pictures could not be classified\n", failed, n - 1);
    free(probs), free(args);
    bear_model_free(&m);
    return failed ? 1 : 0;
}
