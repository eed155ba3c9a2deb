// clean.c — `bears clean MODEL DIR`: fastai's FileDeleter / ImageCleaner, in a window or as files.
//
// The lesson's point: after a first training run, the model is the best tool for finding bad data.
// The pictures it is most confidently wrong about (the top losses) are often mislabeled or not bears
// at all; a person looks at them and deletes or relabels. The validation pictures come first: the model
// never trained on them, so its doubt there is the more telling. Nothing is deleted: "delete" moves a
// file into DIR/.trash/, and every move is journaled so `--undo-all` can put everything back.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean.h"
#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "outfile.h"

bool clean_entry_shown(const CleanEntry *entries, int i, const char *split, int class_filter) {
    const Scored *s = &entries[i].s;
    bool pass = (strcmp(split, "all") == 0 || s->valid == (strcmp(split, "valid") == 0)) &&
                (class_filter < 0 || s->label == class_filter);
    if (pass || !entries[i].pair) return pass;
    int partner = i % 2 ? i - 1 : i + 1; // pairs sit at 2k, 2k+1
    const Scored *p = &entries[partner].s;
    return (strcmp(split, "all") == 0 || p->valid == (strcmp(split, "valid") == 0)) &&
           (class_filter < 0 || p->label == class_filter);
}

// ---- duplicates: a bounded min-heap of the most similar pairs seen so far ----

typedef struct {
    int a, b; // into in->items
    float similarity;
} Pair;

static void heap_down(Pair *h, int n, int i) {
    for (;;) {
        int small = i, l = 2 * i + 1, r = l + 1;
        if (l < n && h[l].similarity < h[small].similarity) small = l;
        if (r < n && h[r].similarity < h[small].similarity) small = r;
        if (small == i) return;
        Pair t = h[i];
        h[i] = h[small], h[small] = t, i = small;
    }
}

static void heap_push(Pair *h, int *n, int capacity, Pair p) {
    if (*n == capacity) { // full: p replaces the least similar pair when it beats it
        if (p.similarity > h[0].similarity) h[0] = p, heap_down(h, *n, 0);
        return;
    }
    int i = (*n)++;
    h[i] = p;
    while (i > 0 && h[(i - 1) / 2].similarity > h[i].similarity) {
        Pair t = h[i];
        h[i] = h[(i - 1) / 2], h[(i - 1) / 2] = t, i = (i - 1) / 2;
    }
}

static int by_similarity_desc(const void *a, const void *b) {
    float x = ((const Pair *)a)->similarity, y = ((const Pair *)b)->similarity;
    return (x < y) - (x > y);
}

CleanEntry *clean_duplicates(const Interpretation *in, float min_similarity, int *n_entries) {
    int m = in->n, n_pairs = 0;
    // Features after a ReLU are all >= 0, so any two pictures point roughly the same way (cosines of
    // 0.99 are common). Taking away the mean feature first leaves what sets each picture apart. Then unit
    // vectors, so a dot product is the cosine of the angle between two pictures.
    const int F = bear_model_n_features(&in->model);
    float *unit = calloc((size_t)(m ? m : 1) * F, sizeof(float));
    double mean[RESNET_FEATURES] = {0}; // room for the widest arch's features
    Pair *heap = malloc(sizeof(Pair) * (size_t)(m ? m : 1));
    CleanEntry *entries = NULL;
    if (!unit || !heap) goto done;
    for (int i = 0; i < m; i++)
        for (int k = 0; k < F; k++) mean[k] += in->features[(size_t)in->items[i].index * F + k] / (double)m;
    for (int i = 0; i < m; i++) {
        const float *f = in->features + (size_t)in->items[i].index * F;
        float *u = unit + (size_t)i * F;
        double norm = 0;
        for (int k = 0; k < F; k++) norm += (f[k] - mean[k]) * (f[k] - mean[k]);
        for (int k = 0; norm > 0 && k < F; k++) u[k] = (float)((f[k] - mean[k]) / sqrt(norm));
    }
    for (int a = 0; a < m; a++)
        for (int b = a + 1; b < m; b++) {
            const float *u = unit + (size_t)a * F, *v = unit + (size_t)b * F;
            float dot = 0;
            for (int k = 0; k < F; k++) dot += u[k] * v[k];
            if (dot >= min_similarity) heap_push(heap, &n_pairs, m, (Pair){a, b, dot});
        }
    qsort(heap, (size_t)n_pairs, sizeof(Pair), by_similarity_desc);
    entries = calloc((size_t)(2 * n_pairs + 1), sizeof(CleanEntry));
    for (int p = 0; entries && p < n_pairs; p++) {
        entries[2 * p] = (CleanEntry){in->items[heap[p].a], p + 1, heap[p].similarity};
        entries[2 * p + 1] = (CleanEntry){in->items[heap[p].b], p + 1, heap[p].similarity};
    }
done:
    free(unit), free(heap);
    *n_entries = entries ? 2 * n_pairs : 0;
    return entries;
}

// ---- file mode ----

typedef struct {
    const Interpretation *in;
    const CleanEntry *entries;
    const int *shown;
    int k;
    const char *dir;
    Scored *items; // the sheet's pictures, in list order
} Export;

// The ranked list through core/outfile (a temp file renamed into place once complete, every write checked).
static bool write_list(const Export *x, const char *path, char *err, size_t err_size) {
    OutFile o;
    if (!outfile_open(&o, path, err, err_size)) return false;
    bool ok = csv_write_row(o.f,
                            (const char *[]){"rank", "path", "label", "predicted", "probability", "loss",
                                             "split", "similarity", "action"},
                            9);
    for (int r = 0; ok && r < x->k; r++) {
        const CleanEntry *e = &x->entries[x->shown[r]];
        char rank[16], prob[32], loss[32], similarity[32] = "";
        snprintf(rank, sizeof rank, "%d", r + 1);
        snprintf(prob, sizeof prob, "%.4f", e->s.prob_predicted);
        snprintf(loss, sizeof loss, "%.4f", e->s.loss);
        if (e->pair) snprintf(similarity, sizeof similarity, "%.4f", e->similarity);
        const char *fields[9] = {rank,
                                 clean_relative(x->dir, x->in->ds.paths[e->s.index]),
                                 x->in->model.classes[e->s.label],
                                 x->in->model.classes[e->s.predicted],
                                 prob,
                                 loss,
                                 e->s.valid ? "valid" : "train",
                                 similarity,
                                 "keep"};
        ok = csv_write_row(o.f, fields, 9);
    }
    if (ok) return outfile_commit(&o, err, err_size);
    snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
    outfile_abort(&o);
    return false;
}

// A sheet of 400 pictures is 2294 x 15306 pixels already: past that the list goes on alone.
enum { SHEET_MAX = 400 };

// The sheet: a PNG written under a temporary name of our own beside it, then given its name, which
// never replaces a file.
static bool write_sheet(const Export *x, const char *path, char *err, size_t err_size) {
    char tmp[4096];
    int fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX.png", path) < (int)sizeof tmp) fd = mkstemps(tmp, 4);
    if (fd < 0) {
        snprintf(err, err_size, "cannot create a file beside %s: %s", path, strerror(errno));
        return false;
    }
    mode_t mask = umask(0); // mkstemps makes the file 0600; a sheet is as readable as the umask allows
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    close(fd);
    int k = x->k < SHEET_MAX ? x->k : SHEET_MAX;
    bool ok = interpret_save_sheet(x->in, x->items, k, 8, 280, true, tmp, err, err_size);
    if (ok && !clean_rename_new(tmp, path)) {
        snprintf(err, err_size, "cannot create %s: %s", path,
                 errno == EEXIST ? "it exists (it was not replaced)" : strerror(errno));
        ok = false;
    }
    if (!ok) remove(tmp); // our own temporary file, never the user's
    return ok;
}

static int export_files(const Interpretation *in, const CleanEntry *entries, int n, const char *split,
                        int class_filter, int top, const char *dir, const char *list_path) {
    char sheet_path[4096];
    size_t len = strlen(list_path);
    const char *ext =
        len > 4 && strcmp(list_path + len - 4, ".csv") == 0 ? list_path + len - 4 : list_path + len;
    snprintf(sheet_path, sizeof sheet_path, "%.*s.png", (int)(ext - list_path), list_path);
    // The list may hold someone's edits from last time: refuse before any work rather than replace it.
    for (int i = 0; i < 2; i++) {
        const char *path = i ? sheet_path : list_path;
        if (access(path, F_OK) == 0) {
            clean_print(
                stderr,
                "bears clean: %s exists (an edited list?); move it away or pick another --export name", path);
            return 1;
        }
    }
    int *shown = malloc(sizeof(int) * (size_t)(n ? n : 1)), k = 0;
    Scored *items = malloc(sizeof(Scored) * (size_t)(n ? n : 1));
    for (int i = 0; i < n && k < top; i++)
        if (clean_entry_shown(entries, i, split, class_filter)) items[k] = entries[i].s, shown[k++] = i;
    if (k % 2 && entries[shown[k - 1]].pair) k--; // a pair is listed whole or not at all
    int status = 1;
    char err[8192];
    Export x = {in, entries, shown, k, dir, items};
    if (k == 0) {
        clean_print(stderr, "bears clean: no pictures to list (split %s%s)", split,
                    class_filter >= 0 ? " and the class filter" : "");
    } else if (!write_list(&x, list_path, err, sizeof err) || !write_sheet(&x, sheet_path, err, sizeof err)) {
        clean_print(stderr, "bears clean: %s", err);
    } else {
        clean_print(stdout, "export: %d pictures, %s: %s", k,
                    entries[0].pair ? "duplicate pairs, most similar first" : "worst first", list_path);
        if (k > SHEET_MAX)
            clean_print(stdout, "export: contact sheet of the first %d, numbered as the list: %s", SHEET_MAX,
                        sheet_path);
        else
            clean_print(stdout, "export: contact sheet, numbered as the list: %s", sheet_path);
        clean_print(stdout,
                    "Edit the action column (keep, delete, relabel:CLASS), then: bears clean %s --apply %s",
                    dir, list_path);
        status = 0;
    }
    free(shown), free(items);
    return status;
}

static int apply_file(const char *dir, const char *file) {
    char err[8192];
    DataListing list;
    if (!data_list(dir, &list, err, sizeof err)) {
        clean_print(stderr, "bears clean: %s", err);
        return 1;
    }
    size_t length = 0;
    char *text = read_small_file(file, 64 << 20, &length, err, sizeof err);
    ApplyPlan plan = {0};
    int status = 1;
    if (!text) {
        clean_print(stderr, "bears clean: %s", err);
        goto done;
    }
    if (!clean_parse_apply(text, length, (const char *const *)list.classes, list.n_classes, &plan, err,
                           sizeof err)) {
        clean_print(stderr, "bears clean: %s: %s; nothing was applied", file, err);
        goto done;
    }
    if (plan.n == 0) {
        clean_print(stdout, "apply: %s lists no pictures; nothing to do", file);
        status = 0;
        goto done;
    }
    // Every file must be where the list says before the first one moves: all or nothing.
    for (int i = 0; i < plan.n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, plan.items[i].path);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            clean_print(stderr,
                        "bears clean: %s: line %d: %s is not a file in %s (moved since the export?); nothing "
                        "was applied",
                        file, plan.items[i].line, plan.items[i].path, dir);
            goto done;
        }
    }
    CleanJournal j = {0};
    if (!clean_journal_open(&j, dir, "apply", file, err, sizeof err)) {
        clean_print(stderr, "bears clean: %s; nothing was applied", err);
        goto done;
    }
    int kept = 0, deleted = 0, relabeled = 0;
    bool ok = true;
    for (int i = 0; ok && i < plan.n; i++) {
        const ApplyItem *a = &plan.items[i];
        const char *cls = a->action == CLEAN_RELABEL ? list.classes[a->cls] : NULL;
        const char *in_split = a->path + clean_split_length(a->path);
        size_t in_class = strcspn(in_split, "/");
        char moved[4096];
        if (a->action == CLEAN_KEEP ||
            (cls && strlen(cls) == in_class && strncmp(in_split, cls, in_class) == 0)) {
            ok = clean_keep(&j, a->path, err, sizeof err) && ++kept;
        } else if (a->action == CLEAN_DELETE) {
            ok = clean_delete(&j, a->path, moved, sizeof moved, err, sizeof err) && ++deleted;
            if (ok) clean_print(stdout, "deleted   %s -> %s", a->path, moved);
        } else {
            ok = clean_relabel(&j, a->path, cls, moved, sizeof moved, err, sizeof err) && ++relabeled;
            if (ok) clean_print(stdout, "relabeled %s -> %s", a->path, moved);
        }
    }
    char close_err[512];
    if (!clean_journal_close(&j, close_err, sizeof close_err) && ok) {
        snprintf(err, sizeof err, "%s", close_err);
        ok = false;
    }
    clean_print(stdout, "apply: %d kept, %d deleted (moved to %s/.trash), %d relabeled; journal %s/%s", kept,
                deleted, dir, relabeled, dir, CLEAN_JOURNAL);
    if (!ok)
        clean_print(stderr,
                    "bears clean: %s; stopped there (bears clean --undo-all %s reverts what was done)", err,
                    dir);
    else if (deleted + relabeled)
        clean_print(stdout, "undo with: bears clean --undo-all %s", dir);
    status = ok ? 0 : 1;
done:
    apply_plan_free(&plan);
    free(text);
    data_listing_free(&list);
    return status;
}

int cmd_clean(int argc, char **argv) {
    const char *split = "all", *by = "loss", *class_name = NULL, *export_path = NULL, *apply_path = NULL,
               *keys = NULL, *frames = NULL, *out = "out";
    float valid_pct = -1, min_similarity = 0.99f; // -1: the split stored in the model, as interpret
    int seed = -1, per_page = 8, top = 48;
    bool duplicates = false, undo_all = false;
    Flag flags[] = {
        {"--split", FLAG_CHOICE, &split, 0, 0, false, "valid|train|all",
         "which pictures (all: the validation ones first, then training)"},
        {"--by", FLAG_CHOICE, &by, 0, 0, false, "loss|unsure",
         "order: largest loss first, or the smallest gap between the top two probabilities"},
        {"--duplicates", FLAG_BOOL, &duplicates, 0, 0, false, NULL,
         "pairs of near-identical pictures instead (cosine of the model's features), most similar first"},
        {"--min-similarity", FLAG_FLOAT, &min_similarity, 0, 1, false, NULL,
         "the cosine a --duplicates pair needs"},
        {"--class", FLAG_STRING, &class_name, 0, 0, false, NULL,
         "only pictures labelled this class (default all)"},
        {"--per-page", FLAG_INT, &per_page, 1, 24, false, NULL, "pictures on a page of the window"},
        {"--keys", FLAG_STRING, &keys, 0, 0, false, NULL,
         "play these keys instead of waiting for you, e.g. \"d,k,r:grizzly,enter,u\" (for tests)"},
        {"--frames", FLAG_STRING, &frames, 0, 0, false, NULL,
         "headless: write every frame of the window here"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for screenshots (key f)"},
        {"--export", FLAG_STRING, &export_path, 0, 0, false, NULL,
         "no window: write the ranked list (CSV, action keep) and a numbered contact sheet (.png)"},
        {"--top", FLAG_INT, &top, 1, 100000, false, NULL, "pictures in the --export list and sheet"},
        {"--apply", FLAG_STRING, &apply_path, 0, 0, false, NULL,
         "carry out an edited list: bears clean DIR --apply FILE"},
        {"--undo-all", FLAG_BOOL, &undo_all, 0, 0, false, NULL,
         "put back every move of the last run: bears clean --undo-all DIR"},
        {"--valid-pct", FLAG_FLOAT, &valid_pct, 0.01, 0.95, false, NULL,
         "the split used in training (default: the one stored in the model)"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL,
         "the seed used in training (default: the one stored in the model)"},
    };
    Cli cli = {
        "bears clean",
        "the FileDeleter: page through the pictures the model finds most wrong; keep, delete (to "
        "DIR/.trash) or relabel them; undo; or do it through an edited file",
        "fd = FileDeleter(file_paths=top_loss_paths): clean the data with the model you just trained",
        "MODEL DIR  |  DIR --apply FILE  |  --undo-all DIR",
        "bears clean bears.safetensors data/bears --export clean.csv && bears clean data/bears --apply "
        "clean.csv",
        flags,
        sizeof flags / sizeof flags[0]};
    const char *args[2];
    int n_args = cli_parse(&cli, argc, argv, args, 2);
    char err[8192];
    if (undo_all || apply_path) {
        if (undo_all && apply_path) cli_usage_error(&cli, "--undo-all and --apply are separate runs");
        if (n_args != 1)
            cli_usage_error(&cli, "%s needs only the data folder: bears clean %s",
                            undo_all ? "--undo-all" : "--apply",
                            undo_all ? "--undo-all DIR" : "DIR --apply FILE");
        if (export_path || keys || frames)
            cli_usage_error(&cli, "%s does not open a window nor export",
                            undo_all ? "--undo-all" : "--apply");
        if (apply_path) return apply_file(args[0], apply_path);
        if (!clean_undo_all(args[0], stdout, err, sizeof err)) {
            clean_print(stderr, "bears clean: %s", err);
            return 1;
        }
        return 0;
    }
    if (n_args != 2) cli_usage_error(&cli, "needs a model file and the data folder (or DIR --apply FILE)");
    if (export_path && (keys || frames))
        cli_usage_error(&cli, "--export writes files; --keys and --frames are for the window");
    Interpretation in;
    if (!interpret_score(args[0], args[1], "all", valid_pct, seed, false, &in, err, sizeof err)) {
        clean_print(stderr, "bears clean: %s", err);
        return 1;
    }
    int class_filter = -1;
    for (int c = 0; class_name && c < in.model.n_classes; c++)
        if (strcmp(class_name, in.model.classes[c]) == 0) class_filter = c;
    if (class_name && class_filter < 0) {
        clean_print(stderr, "bears clean: --class '%s' is not one of the model's classes", class_name);
        interpret_free(&in);
        return CLI_EXIT_USAGE;
    }
    interpret_rank(&in, strcmp(by, "unsure") == 0 ? RANK_BY_UNSURE : RANK_BY_LOSS, true);
    int n = 0;
    CleanEntry *entries = NULL;
    if (duplicates) {
        entries = clean_duplicates(&in, min_similarity, &n);
        clean_print(stdout, "duplicates: %d pairs with cosine similarity >= %g", n / 2, min_similarity);
    } else if ((entries = malloc(sizeof(CleanEntry) * (size_t)(in.n ? in.n : 1)))) {
        for (int i = 0; i < in.n; i++) entries[i] = (CleanEntry){in.items[i], 0, NAN};
        n = in.n;
    }
    int status;
    if (!entries) {
        clean_print(stderr, "bears clean: out of memory");
        status = 1;
    } else if (export_path) {
        status = export_files(&in, entries, n, split, class_filter, top, args[1], export_path);
    } else {
        CleanWindowOptions opt = {per_page, split, class_filter, keys, frames, out};
        status = clean_window(&in, entries, n, args[1], &opt);
    }
    free(entries);
    interpret_free(&in);
    return status;
}
