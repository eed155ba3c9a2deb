// interpret.c — `bears interpret MODEL DIR`: ClassificationInterpretation in C.
//
// Runs the model over a split and shows where it goes wrong: the confusion matrix (rows = actual
// class, columns = predicted), the most confused pairs, and the top losses: the pictures the model
// got most confidently wrong. In the lesson those are as often bad data (a mislabeled picture, a
// drawing, not a bear at all) as model mistakes, which is why cleaning starts from them.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ops.h"
#include "commands.h"
#include "draw.h"
#include "interpret.h"
#include "plot.h"
#include "trash.h"

// qsort has no context argument; the ranking's two choices travel in these (one ranking at a time).
static RankBy rank_by;
static bool rank_valid_first;

static int by_rank(const void *pa, const void *pb) {
    const Scored *a = pa, *b = pb;
    if (rank_valid_first && a->valid != b->valid) return a->valid ? -1 : 1;
    if (rank_by == RANK_BY_UNSURE) return (a->margin > b->margin) - (a->margin < b->margin);
    return (a->loss < b->loss) - (a->loss > b->loss);
}

void interpret_rank(Interpretation *in, RankBy by, bool valid_first) {
    rank_by = by, rank_valid_first = valid_first;
    qsort(in->items, (size_t)in->n, sizeof(Scored), by_rank);
}

// "a, b, c" into buf (cut short when it does not fit).
static void join_names(char *const *names, int n, char *buf, size_t size) {
    size_t used = 0;
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

// The split to score with: the one asked for, else the model's, else training's defaults. Returns true
// when that cannot be the split the model was trained with (said once the data shows whether the folder
// has a split of its own, which no flag changes).
static bool choose_split(const char *model_path, const BearModel *m, float *valid_pct, int *seed) {
    DatasetOptions defaults = dataset_defaults();
    if (!m->has_split) {
        if (*valid_pct <= 0 || *seed < 0)
            fprintf(
                stderr,
                "warning: %s does not record its train/valid split (it was saved by an older sgdlab); "
                "assuming training's defaults. Pass --valid-pct and --seed if it was trained with others\n",
                model_path);
        if (*valid_pct <= 0) *valid_pct = defaults.valid_pct;
        if (*seed < 0) *seed = (int)defaults.seed;
        return false;
    }
    bool other = (*valid_pct > 0 && fabsf(*valid_pct - m->valid_pct) > 1e-6f) ||
                 (*seed >= 0 && *seed != m->split_seed);
    if (*valid_pct <= 0) *valid_pct = m->valid_pct;
    if (*seed < 0) *seed = m->split_seed;
    return other;
}

bool interpret_score(const char *model_path, const char *dir, const char *split, float valid_pct, int seed,
                     bool tta, Interpretation *out, char *err, size_t err_size) {
    memset(out, 0, sizeof *out);
    if (!bear_model_load(model_path, &out->model, err, err_size)) return false;
    out->model.tta = tta;
    bool other_split = choose_split(model_path, &out->model, &valid_pct, &seed);
    DatasetOptions opt = dataset_defaults();
    opt.size = out->model.size;
    opt.valid_pct = valid_pct;
    opt.seed = (uint64_t)seed;
    opt.quiet = true;
    if (!dataset_load(dir, &opt, &out->ds, err, err_size)) {
        bear_model_free(&out->model);
        return false;
    }
    // Pictures are normalised as in training (for a pretrained model, ImageNet's statistics), not
    // with this folder's own.
    memcpy(out->ds.mean, out->model.mean, sizeof out->ds.mean);
    memcpy(out->ds.std, out->model.std, sizeof out->ds.std);
    if (other_split && out->ds.fixed_split)
        fprintf(stderr,
                "note: %s has its own train/ and valid/ folders: --valid-pct and --seed are not used\n", dir);
    else if (other_split)
        fprintf(
            stderr,
            "warning: %s was trained with --valid-pct %g --seed %d; with another split some of the pictures "
            "scored here as valid were trained on\n",
            model_path, out->model.valid_pct, out->model.split_seed);
    if (out->model.has_split && (out->ds.n != out->model.data_pictures ||
                                 dataset_fingerprint(&out->ds) != out->model.data_fingerprint)) {
        char what[96];
        if (out->ds.n != out->model.data_pictures)
            snprintf(what, sizeof what, "%d readable pictures then, %d now", out->model.data_pictures,
                     out->ds.n);
        else
            snprintf(what, sizeof what, "as many pictures, but other names or labels");
        fprintf(stderr,
                "warning: %s does not hold what %s was trained on (%s: another folder, or this one "
                "changed since): %s\n",
                dir, model_path, what,
                out->ds.fixed_split ? "the scores are of what its train/ and valid/ folders hold now"
                                    : "the split is drawn again over what is there now, so some 'valid' "
                                      "pictures may have been trained on");
    }
    bool same = out->ds.n_classes == out->model.n_classes;
    for (int c = 0; same && c < out->ds.n_classes; c++)
        same = strcmp(out->ds.classes[c], out->model.classes[c]) == 0;
    if (!same) {
        char model_classes[512] = "", data_classes[512] = "";
        join_names(out->model.classes, out->model.n_classes, model_classes, sizeof model_classes);
        join_names(out->ds.classes, out->ds.n_classes, data_classes, sizeof data_classes);
        snprintf(err, err_size, "%s was trained on classes (%s) but %s has class folders (%s)", model_path,
                 model_classes, dir, data_classes);
        interpret_free(out);
        return false;
    }
    // Which pictures: one split or all of them.
    int *idx = NULL, n = 0;
    if (strcmp(split, "train") == 0)
        idx = out->ds.train, n = out->ds.n_train;
    else if (strcmp(split, "valid") == 0)
        idx = out->ds.valid, n = out->ds.n_valid;
    else
        n = out->ds.n;
    if (n == 0) { // nothing scored is no proof of anything: never "every picture is classified correctly"
        snprintf(err, err_size, "the %s split of %s holds no pictures (%d readable in all); try --split all",
                 split, dir, out->ds.n);
        interpret_free(out);
        return false;
    }
    int C = out->model.n_classes, S = out->ds.size, bs = 64;
    out->items = calloc((size_t)(n ? n : 1), sizeof(Scored));
    out->n = n;
    Tensor *x = tensor_zeros(SHAPE(bs, 3, S, S));
    int *all = malloc(sizeof(int) * (size_t)(n ? n : 1)), *labels = malloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) all[i] = idx ? idx[i] : i;
    float *probs = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)C);
    const int F = bear_model_n_features(&out->model);
    float *features = malloc(sizeof(float) * (size_t)(n ? n : 1) * F);
    out->features = calloc((size_t)(out->ds.n ? out->ds.n : 1) * F, sizeof(float));
    bool *is_valid = calloc((size_t)(out->ds.n ? out->ds.n : 1), sizeof(bool));
    for (int i = 0; i < out->ds.n_valid; i++) is_valid[out->ds.valid[i]] = true;
    bear_model_predict_pictures(&out->model, &out->ds, all, n, x, probs, labels, features);
    for (int i = 0; i < n; i++) {
        Scored *s = &out->items[i];
        const float *p = probs + (size_t)i * C;
        s->index = all[i];
        s->label = labels[i];
        s->predicted = argmax(p, C);
        s->prob_predicted = p[s->predicted];
        s->prob_label = p[s->label];
        s->loss = -logf(fmaxf(p[s->label], 1e-30f));
        float second = 0;
        for (int c = 0; c < C; c++)
            if (c != s->predicted && p[c] > second) second = p[c];
        s->margin = s->prob_predicted - second;
        s->valid = is_valid[all[i]];
        memcpy(out->features + (size_t)all[i] * F, features + (size_t)i * F, sizeof(float) * F);
    }
    interpret_rank(out, RANK_BY_LOSS, false);
    tensor_free(x), free(all), free(labels), free(probs), free(features), free(is_valid);
    return true;
}

void interpret_free(Interpretation *in) {
    bear_model_free(&in->model);
    dataset_free(&in->ds);
    free(in->items);
    free(in->features);
    memset(in, 0, sizeof *in);
}

// A heat map of the confusion matrix with the counts written in the cells.
static void plot_confusion(const PlotConfig *pc, const Interpretation *in, const int *cm) {
    Plot *p = plot_open(pc, "bears-confusion", "confusion matrix (rows: actual, columns: predicted)");
    if (!p) return;
    int C = in->model.n_classes;
    plot_cmd(p, "set size ratio -1");
    plot_cmd(p, "unset key");
    plot_cmd(p, "set palette defined (0 'white', 1 '#08306b')");
    plot_cmd(p, "set xrange [-0.5:%g]", C - 0.5);
    plot_cmd(p, "set yrange [%g:-0.5]", C - 0.5);
    plot_cmd(p, "set xlabel 'predicted'");
    plot_cmd(p, "set ylabel 'actual'");
    fprintf(p->pipe, "set xtics (");
    for (int c = 0; c < C; c++) fprintf(p->pipe, "%s\"%s\" %d", c ? ", " : "", in->model.classes[c], c);
    fprintf(p->pipe, ")\nset ytics (");
    for (int c = 0; c < C; c++) fprintf(p->pipe, "%s\"%s\" %d", c ? ", " : "", in->model.classes[c], c);
    fprintf(p->pipe, ")\n");
    int top = 1;
    for (int i = 0; i < C * C; i++) top = cm[i] > top ? cm[i] : top;
    for (int a = 0; a < C; a++)
        for (int q = 0; q < C; q++)
            plot_cmd(p, "set label \"%d\" at %d,%d center front textcolor rgb '%s' font ',16'", cm[a * C + q],
                     q, a, cm[a * C + q] > top / 2 ? "white" : "black");
    plot_cmd(p, "set cbrange [0:%d]", top);
    plot_cmd(p, "plot '-' matrix with image");
    for (int a = 0; a < C; a++) {
        for (int q = 0; q < C; q++) fprintf(p->pipe, "%d ", cm[a * C + q]);
        fprintf(p->pipe, "\n");
    }
    fprintf(p->pipe, "e\n");
    plot_close(p);
}

bool interpret_save_sheet(const Interpretation *in, const Scored *items, int k, int cols, int tile,
                          bool numbered, const char *path, char *err, size_t err_size) {
    Image *pics = calloc((size_t)k, sizeof(Image)), *loaded = calloc((size_t)k, sizeof(Image));
    char **captions = calloc((size_t)k, sizeof(char *));
    bool ok = pics && loaded && captions;
    for (int i = 0; ok && i < k; i++) {
        const Scored *s = &items[i];
        char ignored[256];
        // The file at its own resolution when it still reads, else the copy training saw.
        pics[i] = image_load(in->ds.paths[s->index], &loaded[i], ignored, sizeof ignored)
                      ? loaded[i]
                      : dataset_image(&in->ds, s->index);
        if (!(captions[i] = malloc(96)))
            ok = false;
        else if (numbered)
            snprintf(captions[i], 96, "%d %s/%s %.2f", i + 1, in->model.classes[s->predicted],
                     in->model.classes[s->label], s->loss);
        else
            snprintf(captions[i], 96, "%s/%s %.2f %.2f", in->model.classes[s->predicted],
                     in->model.classes[s->label], s->loss, s->prob_label);
    }
    Image sheet = {0};
    if (!ok ||
        !draw_contact_sheet(pics, (const char *const *)captions, k, k < cols ? k : cols, tile, &sheet)) {
        snprintf(err, err_size,
                 "cannot make a sheet of %d pictures (out of memory, or over %d pixels a side)", k,
                 IMAGE_MAX_SIDE);
        ok = false;
    }
    ok = ok && image_save_png(path, &sheet, err, err_size);
    image_free(&sheet);
    for (int i = 0; i < k; i++) {
        image_free(&loaded[i]);
        if (captions) free(captions[i]);
    }
    free(captions), free(pics), free(loaded);
    return ok;
}

static bool write_top_losses(const Interpretation *in, int k, const char *out_dir, char *path,
                             size_t path_size) {
    if (k > in->n) k = in->n;
    if (k == 0 || !make_dirs(out_dir)) return false;
    char err[256];
    snprintf(path, path_size, "%s/bears-top-losses.png", out_dir);
    return interpret_save_sheet(in, in->items, k, 3, 280, false, path, err, sizeof err);
}

int cmd_interpret(int argc, char **argv) {
    const char *split = "valid", *plot = "auto", *out = "out";
    float valid_pct = -1; // outside the flags' ranges: "the split stored in the model"
    int seed = -1, top = 9;
    bool list = false, tta = false;
    Flag flags[] = {
        {"--split", FLAG_CHOICE, &split, 0, 0, false, "valid|train|all", "which pictures to look at"},
        {"--list", FLAG_BOOL, &list, 0, 0, false, NULL,
         "print loss,path,label,predicted for every picture, worst first"},
        {"--top", FLAG_INT, &top, 1, 100, false, NULL, "pictures in the top-losses grid"},
        {"--valid-pct", FLAG_FLOAT, &valid_pct, 0.01, 0.95, false, NULL,
         "the split used in training (default: the one stored in the model)"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL,
         "the seed used in training (default: the one stored in the model)"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none",
         "where the confusion matrix goes"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for the PNGs"},
        {"--tta", FLAG_BOOL, &tta, 0, 0, false, NULL,
         "test-time augmentation: mix each picture's prediction with 8 fixed views (corner crops, mirrored)"},
    };
    Cli cli = {"bears interpret",
               "confusion matrix, most confused pairs and the top losses of a trained model on DIR",
               "interp = ClassificationInterpretation.from_learner(learn); interp.plot_confusion_matrix()",
               "MODEL DIR",
               "bears interpret bears.safetensors data/bears --split valid",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *args[2];
    if (cli_parse(&cli, argc, argv, args, 2) != 2)
        cli_usage_error(&cli, "needs a model file and the data folder");
    Interpretation in;
    char err[1024];
    if (!interpret_score(args[0], args[1], split, valid_pct, seed, tta, &in, err, sizeof err)) {
        fprintf(stderr, "bears interpret: %s\n", err);
        return 1;
    }
    if (list) {
        printf("loss,path,label,predicted\n");
        for (int i = 0; i < in.n; i++) {
            const Scored *s = &in.items[i];
            printf("%.6f,%s,%s,%s\n", s->loss, in.ds.paths[s->index], in.model.classes[s->label],
                   in.model.classes[s->predicted]);
        }
        interpret_free(&in);
        return 0;
    }
    int C = in.model.n_classes, wrong = 0;
    int *cm = calloc((size_t)(C * C), sizeof(int));
    for (int i = 0; i < in.n; i++)
        cm[in.items[i].label * C + in.items[i].predicted]++,
            wrong += in.items[i].label != in.items[i].predicted;
    printf("%s split: %d pictures, %d wrong, error_rate %.4f%s\n\nconfusion matrix (rows: actual, columns: "
           "predicted)\n%12s",
           split, in.n, wrong, in.n ? (double)wrong / in.n : 0.0,
           in.model.tta ? " (with TTA: each picture and its 8 fixed views)" : "", "");
    for (int q = 0; q < C; q++) printf(" %10.10s", in.model.classes[q]);
    printf("\n");
    for (int a = 0; a < C; a++) {
        printf("%12.12s", in.model.classes[a]);
        for (int q = 0; q < C; q++) printf(" %10d", cm[a * C + q]);
        printf("\n");
    }
    printf("\nmost confused (actual -> predicted: count)\n");
    for (int shown = 0;; shown++) { // pick the largest off-diagonal cell each time
        int best = -1;
        for (int i = 0; i < C * C; i++)
            if (i / C != i % C && cm[i] > 0 && (best < 0 || cm[i] > cm[best])) best = i;
        if (best < 0) {
            if (!shown) printf("  none: every picture is classified correctly\n");
            break;
        }
        printf("  %s -> %s: %d\n", in.model.classes[best / C], in.model.classes[best % C], cm[best]);
        cm[best] = -cm[best]; // mark as shown; restored below
    }
    for (int i = 0; i < C * C; i++) cm[i] = abs(cm[i]);
    printf("\ntop losses (predicted/actual, loss, probability of the actual class)\n");
    for (int i = 0; i < top && i < in.n; i++) {
        const Scored *s = &in.items[i];
        printf("  %8.4f  %-40s %s/%s p=%.3f\n", s->loss, in.ds.paths[s->index],
               in.model.classes[s->predicted], in.model.classes[s->label], s->prob_label);
    }
    PlotConfig pc = plot_config(plot, out);
    plot_confusion(&pc, &in, cm);
    char path[1024];
    if (pc.target != PLOT_NONE && write_top_losses(&in, top, out, path, sizeof path))
        printf("top losses grid: %s\n", path);
    free(cm);
    interpret_free(&in);
    return 0;
}
