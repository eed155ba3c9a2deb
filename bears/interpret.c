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

static int by_loss_desc(const void *a, const void *b) {
    float la = ((const Scored *)a)->loss, lb = ((const Scored *)b)->loss;
    return (la < lb) - (la > lb);
}

// "a, b, c" into buf (cut short when it does not fit).
static void join_names(char *const *names, int n, char *buf, size_t size) {
    size_t used = 0;
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

bool interpret_score(const char *model_path, const char *dir, const char *split, float valid_pct, int seed,
                     bool tta, Interpretation *out, char *err, size_t err_size) {
    memset(out, 0, sizeof *out);
    if (!bear_model_load(model_path, &out->model, err, err_size)) return false;
    out->model.tta = tta;
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
    bear_model_predict_pictures(&out->model, &out->ds, all, n, x, probs, labels);
    for (int i = 0; i < n; i++) {
        Scored *s = &out->items[i];
        const float *p = probs + (size_t)i * C;
        s->index = all[i];
        s->label = labels[i];
        s->predicted = argmax(p, C);
        s->prob_predicted = p[s->predicted];
        s->prob_label = p[s->label];
        s->loss = -logf(fmaxf(p[s->label], 1e-30f));
    }
    qsort(out->items, (size_t)n, sizeof(Scored), by_loss_desc);
    tensor_free(x), free(all), free(labels), free(probs);
    return true;
}

void interpret_free(Interpretation *in) {
    bear_model_free(&in->model);
    dataset_free(&in->ds);
    free(in->items);
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

static bool write_top_losses(const Interpretation *in, int k, const char *out_dir, char *path,
                             size_t path_size) {
    if (k > in->n) k = in->n;
    if (k == 0 || !make_dirs(out_dir)) return false;
    Image *pics = calloc((size_t)k, sizeof(Image));
    char **captions = calloc((size_t)k, sizeof(char *));
    for (int i = 0; i < k; i++) {
        const Scored *s = &in->items[i];
        pics[i] = dataset_image(&in->ds, s->index);
        captions[i] = malloc(96);
        snprintf(captions[i], 96, "%s/%s %.2f %.2f", in->model.classes[s->predicted],
                 in->model.classes[s->label], s->loss, s->prob_label);
    }
    Image sheet = {0};
    char err[256];
    snprintf(path, path_size, "%s/bears-top-losses.png", out_dir);
    bool ok = draw_contact_sheet(pics, (const char *const *)captions, k, k < 3 ? k : 3, 280, &sheet) &&
              image_save_png(path, &sheet, err, sizeof err);
    image_free(&sheet);
    for (int i = 0; i < k; i++) free(captions[i]);
    free(captions), free(pics);
    return ok;
}

int cmd_interpret(int argc, char **argv) {
    const char *split = "valid", *plot = "auto", *out = "out";
    float valid_pct = 0.2f;
    int seed = 42, top = 9;
    bool list = false, tta = false;
    Flag flags[] = {
        {"--split", FLAG_CHOICE, &split, 0, 0, false, "valid|train|all", "which pictures to look at"},
        {"--list", FLAG_BOOL, &list, 0, 0, false, NULL,
         "print loss,path,label,predicted for every picture, worst first"},
        {"--top", FLAG_INT, &top, 1, 100, false, NULL, "pictures in the top-losses grid"},
        {"--valid-pct", FLAG_FLOAT, &valid_pct, 0.01, 0.95, false, NULL, "the split used in training"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "the seed used in training"},
        {"--plot", FLAG_CHOICE, &plot, 0, 0, false, "auto|window|png|none",
         "where the confusion matrix goes"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for the PNGs"},
        {"--tta", FLAG_BOOL, &tta, 0, 0, false, NULL,
         "test-time augmentation: average each picture and its mirror"},
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
    printf("%s split: %d pictures, %d wrong, error_rate %.4f\n\nconfusion matrix (rows: actual, columns: "
           "predicted)\n%12s",
           split, in.n, wrong, in.n ? (double)wrong / in.n : 0.0, "");
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
