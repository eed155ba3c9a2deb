// lr_find.c — `bears lr-find DIR`: the LR range test (learn.lr_find(); learn.recorder.plot()).
//
// Start from a fresh model, take one minibatch step per learning rate while the lr grows
// exponentially from --start to --end, and record the loss. Tiny rates barely move the loss; good
// ones make it fall fast; too-large ones make it shoot up (we stop there). The best lr is where
// the loss falls fastest, well before the bottom of the curve: at the bottom the lr is already
// about to blow up.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "learner.h"
#include "outfile.h"
#include "plot.h"
#include "schedule.h"

int cmd_lr_find(int argc, char **argv) {
    LearnerOptions o = learner_defaults();
    float start = 1e-7f, end = 10.0f;
    int iters = 200, seed = 42, size = 0;
    bool unfrozen = false;
    const char *plot = "auto", *out = "out", *log_path = NULL, *device = "cpu";
    Flag flags[] = {
        {"--start", FLAG_FLOAT, &start, 0, 1, true, NULL, "first learning rate tried"},
        {"--end", FLAG_FLOAT, &end, 0, 1000, true, NULL, "last learning rate tried"},
        {"--iters", FLAG_INT, &iters, 10, 10000, false, NULL, "minibatches (one lr each)"},
        {"--bs", FLAG_INT, &o.bs, 2, 4096, false, NULL, "minibatch size"},
        {"--wd", FLAG_FLOAT, &o.wd, 0, 1, false, NULL, "weight decay"},
        {"--size", FLAG_INT, &size, 16, 512, false, NULL,
         "picture size (multiple of 8; when not given: 64, 224 for the resnets)"},
        {"--arch", FLAG_CHOICE, &o.arch, 0, 0, false, BEAR_ARCHS, "model architecture (as in train)"},
        {"--pretrained", FLAG_STRING, &o.pretrained, 0, 0, false, NULL,
         "start from this file's body, as train does; the new head alone is trained (fastai's lr_find() "
         "right after cnn_learner)"},
        {"--unfrozen", FLAG_BOOL, &unfrozen, 0, 0, false, NULL,
         "with --pretrained: train the whole network (lr_find() after unfreeze()), for --lr-body"},
        {"--valid-pct", FLAG_FLOAT, &o.data.valid_pct, 0.01, 0.95, false, NULL,
         "share held out (as in train)"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "split, weights, batch order"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none", "where the plot goes"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for the PNG"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL, "CSV: iteration,lr,loss,smoothed_loss"},
        {"--device", FLAG_CHOICE, &device, 0, 0, false, "cpu|cuda",
         "where to run: the CPU, or an NVIDIA GPU (a build with CUDA)"},
    };
    Cli cli = {"bears lr-find",
               "LR range test: loss against an exponentially growing lr, and a suggested lr",
               "learn.lr_find(); learn.recorder.plot(): pick the steepest downward slope",
               "DIR",
               "bears lr-find data/bears --iters 200",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *dir = NULL;
    if (cli_parse(&cli, argc, argv, &dir, 1) != 1)
        cli_usage_error(&cli, "needs the data folder, e.g. data/bears");
    if (!(end > start)) cli_usage_error(&cli, "--end (%g) must be larger than --start (%g)", end, start);
    if (unfrozen && !o.pretrained)
        cli_usage_error(&cli, "--unfrozen needs --pretrained (a body to unfreeze)");
    char why[160];
    if (!learner_set_size(&o, size, why, sizeof why)) cli_usage_error(&cli, "%s", why);
    o.seed = seed;
    o.data.seed = (uint64_t)seed;

    char err[1024];
    if (learner_select_device(&o, device, &cli)) return 1;
    Learner l;
    if (!learner_init(&l, dir, &o, err, sizeof err)) {
        fprintf(stderr, "bears lr-find: %s\n", err);
        return 1;
    }
    // fastai's learner starts frozen: the curve is the new head's, on the pretrained body's features.
    if (o.pretrained && !unfrozen) {
        learner_freeze(&l, true);
        printf(
            "lr-find: the pretrained body is frozen, so this is the new head's curve (--unfrozen: the whole "
            "network's)\n");
    }
    // Opened once the run can start; an old log is replaced only by a complete new one.
    OutFile log_file;
    FILE *log = NULL;
    if (log_path) {
        if (!outfile_open(&log_file, log_path, err, sizeof err)) {
            fprintf(stderr, "bears lr-find: %s\n", err);
            learner_free(&l);
            return 1;
        }
        log = log_file.f;
    }
    if (log) fprintf(log, "iteration,lr,loss,smoothed_loss\n");
    float *lrs = malloc(sizeof(float) * (size_t)iters), *smooth = malloc(sizeof(float) * (size_t)iters);
    // Smooth the noisy minibatch losses like fastai's recorder: an exponential moving average,
    // debiased so the first values are not dragged toward zero.
    const double beta = 0.98;
    double avg = 0, best = INFINITY, t0 = now_seconds();
    int n = 0, batches = learner_batches(&l), b = batches;
    const char *stopped = "reached --end";
    for (int i = 0; i < iters; i++, b++) {
        if (b == batches) learner_shuffle(&l), b = 0;
        float lr = lr_ramp(start, end, i, iters);
        float loss = learner_step(&l, b, lr, 0.9f);
        if (!isfinite(loss)) {
            stopped = "the loss stopped being a number";
            break;
        }
        avg = beta * avg + (1 - beta) * loss;
        double smoothed = avg / (1 - pow(beta, i + 1));
        lrs[n] = lr, smooth[n] = (float)smoothed, n++;
        if (log) fprintf(log, "%d,%.6g,%.6g,%.6g\n", i, lr, loss, smoothed);
        progress_bar("lr-find", i + 1, iters, now_seconds() - t0);
        if (smoothed < best) best = smoothed;
        if (i > 10 && smoothed > 4 * best) { // fastai's rule: 4x the best loss means it has exploded
            stopped = "the loss exploded (4x its best)";
            break;
        }
    }
    progress_bar("lr-find", iters, iters, now_seconds() - t0);
    int status = 0;
    if (log && !outfile_commit(&log_file, err, sizeof err)) {
        fprintf(stderr, "bears lr-find: the log: %s\n", err);
        status = 1;
    }

    int lowest, steepest = lr_find_suggest(lrs, smooth, n, &lowest);
    printf("lr-find: %d minibatches from lr %g to %g; stopped because %s\n", n, start, n ? lrs[n - 1] : start,
           stopped);
    if (steepest < 0) {
        printf(
            "lr-find: the loss never fell after the first %d minibatches, so there is no lr to suggest. Try "
            "a smaller --start or more --iters.\n",
            LR_FIND_SKIP);
        status = 1;
    } else {
        printf("lowest loss %.3f at lr %.2g (too close to blowing up to train at)\n", smooth[lowest],
               lrs[lowest]);
        // The advice is a command to paste: it trains the network this curve was measured on.
        LearnerOptions d = learner_defaults();
        printf("suggested lr: %.2g (steepest descent of the loss); train with: bears train %s", lrs[steepest],
               dir);
        if (strcmp(o.arch, d.arch) != 0) printf(" --arch %s", o.arch);
        if (o.pretrained) printf(" --pretrained %s", o.pretrained);
        if (size) printf(" --size %d", size);
        if (o.bs != d.bs) printf(" --bs %d", o.bs);
        if (o.wd != d.wd) printf(" --wd %g", o.wd);
        if (o.data.valid_pct != d.data.valid_pct) printf(" --valid-pct %g", o.data.valid_pct);
        if (seed != d.seed) printf(" --seed %d", seed);
        if (o.device != d.device) printf(" --device %s", device);
        // Frozen, the curve is the head's (train's --lr); unfrozen, the whole network's, whose
        // pretrained part wants the smaller lr of fastai's slice(body, head).
        printf(" --%s %.2g\n", o.pretrained && unfrozen ? "lr-body" : "lr", lrs[steepest]);
    }
    PlotConfig pc = plot_config(plot, out);
    PlotSeries series[] = {{"smoothed loss", lrs, smooth, n, "lines lw 2 lc rgb '#1f77b4'"},
                           {"suggested lr", steepest >= 0 ? &lrs[steepest] : lrs,
                            steepest >= 0 ? &smooth[steepest] : smooth, steepest >= 0 ? 1 : 0,
                            "points pt 7 ps 2 lc rgb '#d62728'"}};
    plot_series(&pc, "bears-lr-find", "bears lr-find: loss against learning rate",
                "learning rate (log scale)", "loss", true, false, series, 2);
    free(lrs), free(smooth);
    learner_free(&l);
    return status;
}
