// train.c — `bears train DIR`: learn.fit_one_cycle(4, 3e-3) from a folder of pictures.
//
// Prints fastai's per-epoch table (epoch, train_loss, valid_loss, error_rate, time), saves the
// model, and reads the table the way the lesson teaches:
//   * valid loss explodes (or stops being a number)  -> the lr is too high: lower it, start again;
//   * train loss above valid loss, error barely moved -> the lr is too low (or too few epochs);
//   * error rate falls, then rises again              -> that is overfitting.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "cuda/cuda.h"
#include "learner.h"
#include "outfile.h"
#include "plot.h"
#include "schedule.h"
#include "trash.h"

// fastai's fine_tune: --freeze-epochs of the new head alone on the pretrained body, then --epochs of
// the whole network, the body at a learning rate 100 times smaller (its ImageNet features are already
// good; the random head is not), each phase its own one-cycle.

// Fail before minutes of training, not after: the model's folder must be writable (it is
// created when missing, like the --out folder of plots).
static bool can_write_next_to(const char *path, char *err, size_t err_size) {
    char probe[4096];
    path_folder(path, probe, sizeof probe);
    make_dirs(probe);
    snprintf(probe, sizeof probe, "%s.probe-XXXXXX", path);
    int fd = mkstemp(probe);
    if (fd < 0) {
        snprintf(err, err_size, "cannot write the model to %s: %s", path, strerror(errno));
        return false;
    }
    close(fd);
    remove(probe);
    return true;
}

// Is path inside folder (both existing; path's own folder is compared, as the file may not exist yet)?
static bool inside_folder(const char *path, const char *folder) {
    char parent[4096], real_parent[PATH_MAX], real_folder[PATH_MAX];
    path_folder(path, parent, sizeof parent);
    // Folders still to be made (can_write_next_to makes them) count where their first existing one is.
    while (!realpath(parent, real_parent)) {
        char *slash = strrchr(parent, '/');
        if (!slash) {
            if (!realpath(".", real_parent)) return false;
            break;
        }
        *slash = '\0';
        if (!parent[0]) snprintf(parent, sizeof parent, "/");
    }
    if (!realpath(folder, real_folder)) return false;
    size_t n = strlen(real_folder);
    return strncmp(real_parent, real_folder, n) == 0 && (real_parent[n] == '\0' || real_parent[n] == '/');
}

// What --model may name, checked before training: a new file, or an old bears model, which is moved to
// the trash when the new one is saved. Never a folder, a picture of the data set, the pretrained body,
// or any other file that is not a model: saving would destroy it.
static bool model_path_ok(const char *path, const char *dir, const char *pretrained, bool *replaces,
                          char *err, size_t err_size) {
    *replaces = false;
    if (pretrained && same_file(path, pretrained)) {
        snprintf(err, err_size,
                 "--model and --pretrained both name %s; saving would replace the pretrained "
                 "weights: name another file",
                 path);
        return false;
    }
    if (inside_folder(path, dir)) {
        snprintf(err, err_size,
                 "--model %s is inside the data folder %s; keep models out of it (every file "
                 "there is read as data or cleaned)",
                 path, dir);
        return false;
    }
    struct stat st;
    if (stat(path, &st) != 0) return true; // a new file (can_write_next_to checks its folder)
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "--model %s is a folder; name the file to save, e.g. %s/bears.safetensors",
                 path, path);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "--model %s is not a regular file", path);
        return false;
    }
    BearModel old;
    char why[512];
    if (!bear_model_load(path, &old, why, sizeof why)) {
        snprintf(err, err_size,
                 "--model %s exists and is not a bears model (%.300s); name another file, or "
                 "move that one away first",
                 path, why);
        return false;
    }
    bear_model_free(&old);
    *replaces = true;
    return true;
}

// A free name beside path (NAME-1.EXT, ...): where the new model goes when the old cannot be moved.
static bool model_beside(const char *path, char *out, size_t out_size) {
    char folder[4096];
    return path_folder(path, folder, sizeof folder) && free_path(folder, path_base(path), out, out_size);
}

// Move the old model at path to the trash beside it (trash.h), so that re-training never loses it.
static bool trash_old_model(const char *path, char *moved_to, size_t moved_size, char *err, size_t err_size) {
    char root[4096];
    if (!path_folder(path, root, sizeof root)) {
        snprintf(err, err_size, "path too long: %s", path);
        return false;
    }
    return trash_move(root, path_base(path), "replaced by bears train", moved_to, moved_size, err, err_size);
}

// Fewer pictures than this per class, and no verdict about the lr or the epochs can be trusted: the
// error rate on a handful of validation pictures moves in big steps whatever the model does.
enum { FEW_PER_CLASS = 10 };

// The epoch table's length, both phases together: --epochs and --freeze-epochs each, and their sum.
enum { MAX_EPOCHS = 1000 };

// What the numbers say, after the last epoch (the lesson's diagnosis, in words).
static void diagnose(const float *train, const float *valid, const float *error, int epochs, float lr,
                     float guess, const Dataset *ds, bool soft_targets) {
    if (ds->n_train < FEW_PER_CLASS * ds->n_classes) {
        printf("too few pictures: %d to train on and %d to validate on, for %d classes (fewer than %d per "
               "class). With this little data the numbers above say little about the learning rate or the "
               "epochs",
               ds->n_train, ds->n_valid, ds->n_classes, FEW_PER_CLASS);
        if (ds->n_valid > 0)
            printf(": one picture more or less right moves the error rate by %.0f%%", 100.0 / ds->n_valid);
        printf(". Get more pictures (a few dozen per class is a start; the lesson's were a few hundred).\n");
        return;
    }
    int best = 0;
    for (int e = 1; e < epochs; e++)
        if (error[e] < error[best]) best = e;
    float last_train = train[epochs - 1], last_valid = valid[epochs - 1], last_error = error[epochs - 1];
    float chance = 1.0f - 1.0f / (float)ds->n_classes; // the error rate of guessing
    bool near_chance = error[best] > 0.8f * chance;
    // Label smoothing and mixup aim the training loss at soft targets, which no model can reach (their
    // entropy is its floor), while valid_loss stays against the plain labels: the two losses no longer
    // compare, so only the error rate speaks.
    if (soft_targets)
        printf("train_loss is against the smoothed / mixed targets and sits above valid_loss by design; "
               "read the error rate instead.\n");
    if (!soft_targets && last_train > last_valid && last_train > 0.8f * guess) {
        printf("lr too low: train loss (%.3f) is above valid loss (%.3f) and still close to the %.3f of a "
               "random guess; ",
               last_train, last_valid, guess);
        if (epochs == 1) // nothing to compare it with
            printf("the error rate after its one epoch is %.1f%%. ", 100 * last_error);
        else
            printf("the error rate went from %.1f%% to %.1f%%. ", 100 * error[0], 100 * last_error);
        printf("Raise the learning rate (try --lr %g) or train for more epochs.\n", lr * 10);
    } else if (near_chance)
        printf(
            "not learning yet: the best error rate, %.1f%% after epoch %d, is close to the %.1f%% of "
            "guessing among %d classes, so its ups and downs are noise, not over- or underfitting. Run "
            "bears lr-find for a learning rate, train for more epochs, and check the labels (bears show).\n",
            100 * error[best], best, 100 * chance, ds->n_classes);
    else if (!soft_targets && last_train > last_valid && last_error > 0.05f)
        printf("underfitting: train loss (%.3f) is still above valid loss (%.3f). Train for more epochs "
               "or with a higher learning rate.\n",
               last_train, last_valid);
    else if (last_error > 0.15f && best == epochs - 1)
        printf("underfitting: the error rate (%.1f%%) is still high, and the last epoch was the best so "
               "far. Train for more epochs.\n",
               100 * last_error);
    if (!near_chance && best < epochs - 1 && last_error > error[best] + 0.02f)
        printf("overfitting: the error rate was lowest after epoch %d (%.1f%%) and rose to %.1f%% since. "
               "Training longer made the model worse on pictures it has not seen.\n",
               best, 100 * error[best], 100 * last_error);
}

// fastai's learn.recorder.plot_losses() and plot_lr() in one picture: the loss of every minibatch
// and the valid loss after each epoch, above the learning rate of every step (one-cycle's warm-up
// and cool-down). Steps taken so far: `done`, of which `epochs_done` whole epochs.
static void plot_training(const PlotConfig *pc, const float *batch_loss, const float *batch_lr, int done,
                          const float *valid, int epochs_done, int batches) {
    Plot *p = plot_open(pc, "bears-train", "");
    if (!p) return;
    float *step = malloc(sizeof(float) * (size_t)(done ? done : 1)), epoch_end[MAX_EPOCHS];
    for (int i = 0; i < done; i++) step[i] = (float)(i + 1);
    for (int e = 0; e < epochs_done; e++) epoch_end[e] = (float)((e + 1) * batches);
    plot_cmd(
        p,
        "set multiplot layout 2,1 title \"bears train: the loss of each minibatch, and the learning rate\"");
    plot_cmd(p, "set xrange [0:%d]", done > 0 ? done : 1);
    plot_cmd(p, "set ylabel \"loss\"");
    plot_cmd(p, "set key top right box opaque");
    plot_cmd(p, "plot '-' with lines lw 1 lc rgb '#1f77b4' title \"train loss (each minibatch)\", "
                "'-' with linespoints pt 7 ps 1 lw 2 lc rgb '#ff7f0e' title \"valid loss (each epoch)\"");
    plot_data(p, step, batch_loss, done);
    plot_data(p, epoch_end, valid, epochs_done);
    plot_cmd(p, "set xlabel \"minibatches processed\"");
    plot_cmd(p, "set ylabel \"learning rate\"");
    plot_cmd(p, "set format y \"%%g\"");
    plot_cmd(p, "plot '-' with lines lw 2 lc rgb '#2ca02c' title \"lr (one-cycle)\"");
    plot_data(p, step, batch_lr, done);
    plot_cmd(p, "unset multiplot");
    plot_close(p);
    free(step);
}

int cmd_train(int argc, char **argv) {
    LearnerOptions o = learner_defaults();
    int epochs = 4, freeze_epochs = 0, size = 0;
    float lr = 3e-3f, lr_body = 0;
    bool no_augment = false, no_flip = false, tta = false;
    const char *model_path = "bears.safetensors", *log_path = NULL, *plot = "auto", *out = "out",
               *device = "cpu";
    int seed = 42;
    Flag flags[] = {
        {"--epochs", FLAG_INT, &epochs, 1, MAX_EPOCHS, false, NULL, "passes over the training pictures"},
        {"--lr", FLAG_FLOAT, &lr, 0, 10, true, NULL, "peak learning rate of the one-cycle schedule"},
        {"--bs", FLAG_INT, &o.bs, 2, 4096, false, NULL, "minibatch size"},
        {"--wd", FLAG_FLOAT, &o.wd, 0, 1, false, NULL, "weight decay (AdamW, decoupled)"},
        {"--size", FLAG_INT, &size, 16, 512, false, NULL,
         "pictures are resized to size x size (multiple of 8; when not given: 64, 224 for the resnets)"},
        {"--valid-pct", FLAG_FLOAT, &o.data.valid_pct, 0.01, 0.95, false, NULL,
         "share of each class held out"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "split, weights, batch order, augmentation"},
        {"--no-augment", FLAG_BOOL, &no_augment, 0, 0, false, NULL, "train on the pictures as they are"},
        {"--no-flip", FLAG_BOOL, &no_flip, 0, 0, false, NULL,
         "augmentation: never mirror a training picture"},
        {"--crop-scale", FLAG_FLOAT, &o.aug.crop_scale, 0.08, 1, false, NULL,
         "augmentation: random-resized crops keep at least this share of a picture's area (fastbook: 0.5; 1: "
         "none)"},
        {"--rotate", FLAG_FLOAT, &o.aug.max_rotate, 0, 45, false, NULL,
         "augmentation: turn training pictures by up to +-this many degrees (fastai: 10; 0: none)"},
        {"--zoom", FLAG_FLOAT, &o.aug.max_zoom, 1, 2, false, NULL,
         "augmentation: zoom in by up to this factor towards a random point (fastai: 1.1; 1: none)"},
        {"--warp", FLAG_FLOAT, &o.aug.max_warp, 0, 0.4, false, NULL,
         "augmentation: perspective tilt of up to this share of the half-side (fastai: 0.2; 0: none)"},
        {"--lighting", FLAG_FLOAT, &o.aug.max_lighting, 0, 0.9, false, NULL,
         "augmentation: brightness and contrast change by up to this much (fastai: 0.2; 0: none)"},
        {"--label-smoothing", FLAG_FLOAT, &o.smoothing, 0, 0.5, false, NULL,
         "loss: this share of each target spread over all classes (fastai: 0.1; 0: none)"},
        {"--mixup", FLAG_FLOAT, &o.mixup, 0, 4, false, NULL,
         "loss and batch: blend pictures and targets, weights from Beta(a, a) (fastai: 0.4; 0: none)"},
        {"--tta", FLAG_BOOL, &tta, 0, 0, false, NULL,
         "validate with test-time augmentation: each picture mixed with 8 fixed views (corner crops, "
         "mirrored); 9x the scoring time"},
        {"--arch", FLAG_CHOICE, &o.arch, 0, 0, false, BEAR_ARCHS, "model architecture"},
        {"--pretrained", FLAG_STRING, &o.pretrained, 0, 0, false, NULL,
         "safetensors of the arch's ImageNet weights (torchvision names): keep the body, new head"},
        {"--freeze-epochs", FLAG_INT, &freeze_epochs, 0, MAX_EPOCHS, false, NULL,
         "with --pretrained: epochs training only the head before --epochs of everything (fastai: 1)"},
        {"--lr-body", FLAG_FLOAT, &lr_body, 0, 10, false, NULL,
         "with --pretrained: the body's peak lr once unfrozen (0: --lr / 100, fastai's fine_tune)"},
        {"--model", FLAG_STRING, &model_path, 0, 0, false, NULL, "where to save the trained model"},
        {"--log", FLAG_STRING, &log_path, 0, 0, false, NULL,
         "CSV: epoch,train_loss,valid_loss,error_rate,seconds"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none",
         "where the training curves go (losses and lr, as fastai's recorder plots them)"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for the PNG (OUT/bears-train.png)"},
        {"--device", FLAG_CHOICE, &device, 0, 0, false, "cpu|cuda",
         "where to train: the CPU, or an NVIDIA GPU (a build with CUDA); the model file is the same"},
    };
    Cli cli = {
        "bears train",
        "train a classifier on DIR/<class>/ (or DIR/train + DIR/valid) pictures with one-cycle; save it",
        "learn.fit_one_cycle(4, 3e-3) and the four experiments; with --pretrained, cnn_learner's fine-tuning",
        "DIR",
        "bears train data/bears --epochs 4 --lr 3e-3 --model bears.safetensors",
        flags,
        sizeof flags / sizeof flags[0]};
    const char *dir = NULL;
    if (cli_parse(&cli, argc, argv, &dir, 1) != 1)
        cli_usage_error(&cli, "needs the data folder, e.g. data/bears");
    char why[160];
    if (!learner_set_size(&o, size, why, sizeof why)) cli_usage_error(&cli, "%s", why);
    if (!o.pretrained && (freeze_epochs || lr_body > 0))
        cli_usage_error(&cli,
                        "--freeze-epochs and --lr-body fine-tune a pretrained body: they need --pretrained");
    if (epochs + freeze_epochs > MAX_EPOCHS)
        cli_usage_error(&cli, "--freeze-epochs %d and --epochs %d make %d epochs; at most %d in all",
                        freeze_epochs, epochs, epochs + freeze_epochs, MAX_EPOCHS);
    o.augment = !no_augment;
    Augment defaults = augment_default();
    if (no_augment && (no_flip || o.aug.crop_scale != defaults.crop_scale ||
                       o.aug.max_rotate != defaults.max_rotate || o.aug.max_zoom != defaults.max_zoom ||
                       o.aug.max_warp != defaults.max_warp || o.aug.max_lighting != defaults.max_lighting))
        cli_usage_error(&cli, "--no-flip, --crop-scale, --rotate, --zoom, --warp and --lighting set the "
                              "augmentation: they cannot go with --no-augment");
    o.aug.flip = !no_flip;
    o.seed = seed;
    o.data.seed = (uint64_t)seed;
    if (strcmp(device, "cuda") == 0 && (o.smoothing > 0 || o.mixup > 0))
        cli_usage_error(&cli, "--label-smoothing and --mixup train on the CPU only (the GPU backend's "
                              "cross-entropy takes labels, not soft targets)");
    char err[1024];
    if (learner_select_device(&o, device, &cli)) return 1;

    if (log_path && same_file(log_path, model_path))
        cli_usage_error(&cli, "--log and --model both name %s; the log would overwrite the model", log_path);
    bool replaces_model;
    if (!model_path_ok(model_path, dir, o.pretrained, &replaces_model, err, sizeof err) ||
        !can_write_next_to(model_path, err, sizeof err)) {
        fprintf(stderr, "bears train: %s\n", err);
        return 1;
    }
    Learner l;
    if (!learner_init(&l, dir, &o, err, sizeof err)) {
        fprintf(stderr, "bears train: %s\n", err);
        return 1;
    }
    if (l.ds.n_valid == 0) { // valid_loss and error_rate would be NaN in every row of the table
        if (l.ds.fixed_split)
            fprintf(stderr,
                    "bears train: %s/valid/ holds no readable pictures: put some in valid/<class>/, or "
                    "move train/'s class folders up into %s to have bears split at random\n",
                    dir, dir);
        else
            fprintf(stderr, "bears train: --valid-pct %g leaves no validation pictures out of %d: raise it\n",
                    o.data.valid_pct, l.ds.n);
        learner_free(&l);
        return 1;
    }
    // The log is opened only now that training can start, and replaces an old one only when complete.
    OutFile log_file;
    FILE *log = NULL;
    if (log_path) {
        if (!outfile_open(&log_file, log_path, err, sizeof err)) {
            fprintf(stderr, "bears train: %s\n", err);
            learner_free(&l);
            return 1;
        }
        log = log_file.f;
    }
    l.model.tta = tta;
    printf("classes:");
    for (int c = 0; c < l.ds.n_classes; c++) printf(" %s", l.ds.classes[c]);
    printf("\ntrain %d pictures, valid %d, size %d, batch %d, %s, %zu parameters, lr %g, wd %g%s\n",
           l.ds.n_train, l.ds.n_valid, l.ds.size, l.bs, o.arch, state_dict_num_params(l.model.sd), lr, o.wd,
           o.augment ? "" : ", no augmentation");
    if (o.augment)
        printf("augmentation: %scrop-scale %g, rotate %g, zoom %g, warp %g, lighting %g\n",
               o.aug.flip ? "flip, " : "", o.aug.crop_scale, o.aug.max_rotate, o.aug.max_zoom, o.aug.max_warp,
               o.aug.max_lighting);
    if (o.smoothing > 0 || o.mixup > 0)
        printf("soft targets: label smoothing %g, mixup %g\n", o.smoothing, o.mixup);
    if (o.device == DEVICE_CUDA) printf("training on the GPU: %s\n", cuda_device_name());
    if (o.pretrained) {
        l.body_lr_scale = (lr_body > 0 ? lr_body : lr / 100) / lr;
        printf("pretrained body from %s, a new head for %d classes, ImageNet's normalisation (not the "
               "folder's); %d epoch(s) "
               "head only, then %d of everything with the body at lr %g\n",
               o.pretrained, l.ds.n_classes, freeze_epochs, epochs, lr * l.body_lr_scale);
    }
    if (l.ds.n_valid == 0)
        printf("warning: the validation split is empty: valid_loss and error_rate are nan\n");
    if (l.bs < o.bs)
        printf("note: only %d training pictures, fewer than --bs %d, so each minibatch is all of them: one "
               "step per epoch, plain gradient descent rather than SGD\n",
               l.ds.n_train, o.bs);

    if (log) fprintf(log, "epoch,train_loss,valid_loss,error_rate,seconds\n");
    printf("\n%5s %12s %12s %12s %8s\n", "epoch", "train_loss", "valid_loss", "error_rate", "time");
    Schedule schedule = schedule_one_cycle(lr);
    int batches = learner_batches(&l);
    epochs += freeze_epochs;                 // the table counts both phases
    int total = epochs * batches, steps = 0; // steps taken in both phases, for the curve
    float *train = calloc((size_t)epochs, sizeof(float)), *valid = calloc((size_t)epochs, sizeof(float)),
          *error = calloc((size_t)epochs, sizeof(float));
    float *batch_loss = calloc((size_t)total, sizeof(float)),
          *batch_lr = calloc((size_t)total, sizeof(float));
    int epochs_done = 0;
    // A network that guesses uniformly has valid loss ln(classes). Ten times that, or five times
    // the best so far, means the weights were thrown far off: the lesson's exploding valid loss.
    float guess = logf((float)l.ds.n_classes), best_valid = INFINITY;
    int status = 0;
    for (int epoch = 0; epoch < epochs && status == 0; epoch++) {
        if (epoch == 0 && freeze_epochs) learner_freeze(&l, true);
        if (epoch == freeze_epochs && freeze_epochs) {
            learner_freeze(&l, false);
            printf("unfreezing: the whole network from here, body lr %g, head lr %g\n", lr * l.body_lr_scale,
                   lr);
        }
        // Each phase is its own one-cycle: epochs [0, freeze_epochs) and [freeze_epochs, epochs).
        int phase_start = epoch < freeze_epochs ? 0 : freeze_epochs;
        int phase_steps = (epoch < freeze_epochs ? freeze_epochs : epochs - freeze_epochs) * batches;
        int done = (epoch - phase_start) * batches;
        double t0 = now_seconds(), sum = 0;
        learner_shuffle(&l);
        int nonfinite = 0;
        float biggest_step = 0; // the largest ||update|| / ||weights|| of the epoch
        for (int b = 0; b < batches; b++, done++) {
            ScheduleValue v = schedule_at(&schedule, done, phase_steps);
            float loss = learner_step(&l, b, v.lr, v.momentum);
            batch_loss[steps] = loss, batch_lr[steps++] = v.lr;
            biggest_step = fmaxf(biggest_step, l.update_ratio);
            if (!isfinite(loss))
                nonfinite++;
            else
                sum += loss;
            progress_bar("train", b + 1, batches, now_seconds() - t0);
        }
        train[epoch] = nonfinite ? NAN : (float)(sum / batches);
        learner_validate(&l, &valid[epoch], &error[epoch]);
        epochs_done = epoch + 1;
        double seconds = now_seconds() - t0;
        printf("%5d %12.6f %12.6f %12.6f %7.1fs\n", epoch, train[epoch], valid[epoch], error[epoch], seconds);
        fflush(stdout);
        if (log)
            fprintf(log, "%d,%.6g,%.6g,%.6g,%.3f\n", epoch, train[epoch], valid[epoch], error[epoch],
                    seconds);
        bool bad_valid = l.ds.n_valid > 0 && !(valid[epoch] < 10 * guess &&
                                               (valid[epoch] < 5 * best_valid || valid[epoch] < 3 * guess));
        if (valid[epoch] < best_valid) best_valid = valid[epoch];
        if (nonfinite || bad_valid) {
            printf(
                "diverged: after epoch %d the %s loss is %g, far above the %.2f of a random guess. The "
                "learning "
                "rate %g is too high: the steps jump past the good weights and the loss explodes. Lower it "
                "(try --lr %g, or run bears lr-find) and train again from scratch; more epochs will not undo "
                "this. The model was not saved.\n",
                epoch, bad_valid ? "valid" : "train", bad_valid ? valid[epoch] : train[epoch], guess, lr,
                lr / 10);
            status = 1;
        } else if (biggest_step > 0.1f) {
            // AdamW with batch norm rarely lets the loss itself explode; the size of the steps
            // shows the same mistake directly (measured: 0.23 at lr 0.5, under 0.01 at 3e-3).
            printf("lr too high: in epoch %d a single step changed the weights by %.0f%% of their size "
                   "(healthy training moves them by well under 1%% per step), so each step throws away "
                   "what the last ones learned. Lower the learning rate (try --lr %g, or run bears lr-find) "
                   "and train again from scratch. The model was not saved.\n",
                   epoch, 100 * biggest_step, lr / 10);
            status = 1;
        }
    }
    // Drawn for a stopped run too: the curve is where a too-high lr shows first.
    PlotConfig pc = plot_config(plot, out);
    plot_training(&pc, batch_loss, batch_lr, steps, valid, epochs_done, batches);
    if (status == 0) {
        diagnose(train, valid, error, epochs, lr, guess, &l.ds, o.smoothing > 0 || o.mixup > 0);
        // The split goes into the model, so interpret scores the same valid pictures by default.
        l.model.has_split = true, l.model.valid_pct = o.data.valid_pct, l.model.split_seed = seed;
        l.model.data_pictures = l.ds.n, l.model.data_fingerprint = dataset_fingerprint(&l.ds);
        char trashed[4096] = "", beside[4096];
        bool save = true;
        if (replaces_model && !trash_old_model(model_path, trashed, sizeof trashed, err, sizeof err)) {
            // The old model stays; the new one goes beside it under a free name, not lost either.
            fprintf(stderr, "bears train: the old %s could not go to the trash (%s); keeping it\n",
                    model_path, err);
            save = model_beside(model_path, beside, sizeof beside);
            if (save) {
                model_path = beside;
            } else {
                fprintf(stderr, "bears train: no free name beside %s; the model was not saved\n", model_path);
                status = 1;
            }
        }
        if (save) { // otherwise nothing was written, and the old model is where it was
            if (!bear_model_save(&l.model, model_path, err, sizeof err)) {
                fprintf(stderr, "bears train: %s%s%s\n", err, trashed[0] ? "; the old model is in " : "",
                        trashed);
                status = 1;
            } else {
                if (trashed[0])
                    printf("the previous %s is now %s (mv it back to undo)\n", model_path, trashed);
                printf("saved %s (%s, classes in order:", model_path, o.arch);
                for (int c = 0; c < l.model.n_classes; c++) printf(" %s", l.model.classes[c]);
                printf(")\n");
            }
        }
    }
    if (log && !outfile_commit(&log_file, err, sizeof err)) {
        fprintf(stderr, "bears train: the log: %s\n", err);
        status = 1;
    }
    free(train), free(valid), free(error), free(batch_loss), free(batch_lr);
    learner_free(&l);
    return status;
}
