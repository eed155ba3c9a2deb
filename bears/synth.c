// synth.c — `bears synth DIR`: the default data set, painted instead of downloaded (the painter is
// synth_paint.c), and `--hard`, the same classes the way a web search returns them (synth.h).
//
// Like a real download it also contains the mess the lesson cleans up, and writes down where, in
// DIR/PLANTED.csv (path,problem,true_class), so tests can check that verify / interpret find it:
//   unreadable      a truncated JPEG, an HTML error page saved as .jpg, an empty file;
//   not_bear        a landscape with no bear, a child's drawing of a house or a flower;
//   mislabeled      a picture of one class saved in another class's folder (about 1%, plus
//                   --label-noise P of all the pictures);
//   near_duplicate  (--hard) a picture of the same folder again, trimmed, resized and re-encoded, as the
//                   same photo turns up on several sites; its true class is its folder's.
//
// Every picture has its own random stream (seed, picture number), so the output is the same for a seed
// whatever the number of threads.
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "rng.h"
#include "synth.h"
#include "trash.h"

static const char *const class_names[3] = {"black", "grizzly", "teddy"}; // sorted, as the dataset sees them
typedef enum { GOOD, UNREADABLE, NOT_BEAR, MISLABELED, NEAR_DUPLICATE } Problem;
static const char *const problem_names[5] = {"", "unreadable", "not_bear", "mislabeled", "near_duplicate"};

static bool chance(Rng *rng, float p) {
    return rng_uniform(rng) < p;
}

// ---- the data set ----

typedef struct {
    int folder; // the class folder it is saved in
    int number; // file number inside the folder
    SynthSubject subject;
    Problem problem;
    int original;        // a near-duplicate: the slot whose picture it repeats (else -1)
    int unreadable_kind; // 0 truncated JPEG, 1 HTML saved as .jpg, 2 empty file
    bool png;
    char rel[64];
} Slot;

static const char *html_page =
    "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    "<body><h1>Not Found</h1><p>The requested image was not found on this server.</p>"
    "</body></html>\n";

static bool write_slot(const char *dir, const Slot *s, bool hard, int side, uint64_t seed, int index,
                       char *err, size_t err_size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, s->rel);
    if (s->problem == UNREADABLE && s->unreadable_kind > 0) {
        FILE *f = fopen(path, "wb");
        bool ok = f && (s->unreadable_kind == 2 || fputs(html_page, f) >= 0);
        if (f && fclose(f) != 0) ok = false;
        if (!ok) snprintf(err, err_size, "cannot write %s/%s", dir, s->rel);
        return ok;
    }
    // The picture's own stream; a near-duplicate paints its original's picture again, then edits it with
    // its own stream.
    Rng r;
    rng_seed(&r, seed, 1000 + (uint64_t)(s->original >= 0 ? s->original : index));
    Image img;
    SynthBox box;
    bool painted = synth_paint(s->subject, hard, side, &r, &img, &box);
    if (painted && s->original >= 0) {
        rng_seed(&r, seed, 1000 + (uint64_t)index);
        painted = synth_near_duplicate(&img, &r);
        if (!painted) image_free(&img);
    }
    if (!painted) {
        snprintf(err, err_size, "out of memory painting %s", s->rel);
        return false;
    }
    bool ok = s->png ? image_save_png(path, &img, err, err_size)
                     : image_save_jpeg(path, &img, 70 + (int)rng_below(&r, 26), err, err_size);
    image_free(&img);
    if (ok && s->problem == UNREADABLE) { // a download cut off half way
        struct stat st;
        ok = stat(path, &st) == 0 && truncate(path, st.st_size / 2) == 0;
        if (!ok) snprintf(err, err_size, "cannot truncate %s/%s", dir, s->rel);
    }
    return ok;
}

int cmd_synth(int argc, char **argv) {
    int per_class = 800, seed = 42, side = 128;
    bool hard = false;
    float label_noise = 0;
    Flag flags[] = {
        {"--per-class", FLAG_INT, &per_class, 4, 100000, false, NULL, "files in each class folder"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed (same seed, same pictures)"},
        {"--size", FLAG_INT, &side, 32, 1024, false, NULL,
         "side of the pictures in pixels (a few are 1.5x larger; --hard: 0.6x to 2x on the long edge)"},
        {"--hard", FLAG_BOOL, &hard, 0, 0, false, NULL,
         "pictures as a web search returns them: small, off-centre, hidden, cluttered, lookalikes, "
         "any shape, near-duplicates"},
        {"--label-noise", FLAG_FLOAT, &label_noise, 0, 0.5, false, NULL,
         "share of all pictures also saved in a wrong class folder (listed as mislabeled)"},
    };
    Cli cli = {"bears synth",
               "paint the bear data set into DIR/black, DIR/grizzly, DIR/teddy (--hard: a harder one)",
               "download_images(): a few hundred pictures per class, some of them broken or wrong",
               "DIR",
               "bears synth data/bears --per-class 800",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *dir = NULL;
    if (cli_parse(&cli, argc, argv, &dir, 1) != 1)
        cli_usage_error(&cli, "needs the folder to create, e.g. data/bears");

    // Never paint over somebody's files: DIR must be new, or hold nothing but empty class folders (a file
    // beside them, PLANTED.csv included, would be replaced; the manifest is also opened exclusively below).
    DataListing existing;
    char err[512];
    if (data_list(dir, &existing, err, sizeof err)) {
        bool used = existing.n_files > 0;
        data_listing_free(&existing);
        if (used) {
            fprintf(stderr, "bears synth: '%s' already holds pictures; give a new folder\n", dir);
            return 1;
        }
    }
    DIR *top = opendir(dir);
    for (struct dirent *e; top && (e = readdir(top));) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) continue;
        fprintf(stderr, "bears synth: '%s' already holds %s; give a new folder\n", dir, e->d_name);
        closedir(top);
        return 1;
    }
    if (top) closedir(top);
    for (int c = 0; c < 3; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, class_names[c]);
        if (!make_dirs(path)) {
            fprintf(stderr, "bears synth: cannot create the folder '%s': %s\n", path, strerror(errno));
            return 1;
        }
    }

    // Plan every file first with one generator, so the plan does not depend on threads.
    int total = 3 * per_class;
    int n_unreadable = total / 150 > 3 ? total / 150 : 3, n_not_bear = total / 300 > 2 ? total / 300 : 2;
    int n_mislabeled = (total / 100 > 1 ? total / 100 : 1) + (int)lroundf(label_noise * total);
    if (n_mislabeled > total - n_unreadable - n_not_bear) n_mislabeled = total - n_unreadable - n_not_bear;
    int n_problems = n_unreadable + n_not_bear + n_mislabeled;
    int n_duplicates = !hard ? 0 : total / 50 > 1 ? total / 50 : 1;
    if (n_duplicates > total - n_problems) n_duplicates = total - n_problems;
    Rng plan;
    rng_seed(&plan, (uint64_t)seed, 0);
    Slot *slots = calloc(total, sizeof(Slot));
    int *order = malloc(sizeof(int) * total);
    for (int i = 0; i < total; i++) {
        slots[i] = (Slot){.folder = i / per_class,
                          .number = i % per_class + 1,
                          .subject = (SynthSubject)(i / per_class),
                          .original = -1};
        slots[i].png = chance(&plan, 0.3f);
        order[i] = i;
    }
    rng_shuffle(&plan, order, total);
    for (int k = 0; k < n_problems; k++) {
        Slot *s = &slots[order[k]];
        if (k < n_unreadable) {
            s->problem = UNREADABLE, s->unreadable_kind = k % 3;
            s->png = false; // the truncated file is a JPEG, the others are named .jpg
        } else if (k < n_unreadable + n_not_bear) {
            s->problem = NOT_BEAR, s->subject = chance(&plan, 0.5f) ? SYNTH_LANDSCAPE : SYNTH_DRAWING;
        } else {
            s->problem = MISLABELED,
            s->subject = (SynthSubject)((s->folder + 1 + (int)rng_below(&plan, 2)) % 3);
        }
    }
    // Near-duplicates: which slots they take first, then which good picture of the same folder each one
    // repeats (the first good one from a random place, so an original is never itself a copy).
    for (int k = n_problems; k < n_problems + n_duplicates; k++) slots[order[k]].problem = NEAR_DUPLICATE;
    for (int k = n_problems; k < n_problems + n_duplicates; k++) {
        Slot *s = &slots[order[k]];
        int first = s->folder * per_class, start = (int)rng_below(&plan, (uint32_t)per_class);
        for (int j = 0; j < per_class && s->original < 0; j++) {
            int candidate = first + (start + j) % per_class;
            if (slots[candidate].problem == GOOD) s->original = candidate;
        }
        if (s->original < 0) s->problem = GOOD, n_duplicates--; // every other picture of the folder is broken
    }
    for (int i = 0; i < total; i++)
        snprintf(slots[i].rel, sizeof slots[i].rel, "%s/%04d.%s", class_names[slots[i].folder],
                 slots[i].number, slots[i].png ? "png" : "jpg");

    double t0 = omp_get_wtime();
    int failures = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : failures)
    for (int i = 0; i < total; i++) {
        char message[512];
        if (!write_slot(dir, &slots[i], hard, side, (uint64_t)seed, i, message, sizeof message)) {
#pragma omp critical
            fprintf(stderr, "bears synth: %s\n", message);
            failures++;
        }
    }

    char manifest[4096];
    snprintf(manifest, sizeof manifest, "%s/PLANTED.csv", dir);
    FILE *f = fopen(manifest, "wx"); // "x": fails rather than replace a file that appeared meanwhile
    bool manifest_ok = f && fprintf(f, "path,problem,true_class\n") > 0;
    for (int i = 0; manifest_ok && i < total; i++)
        if (slots[i].problem != GOOD)
            manifest_ok = fprintf(f, "%s,%s,%s\n", slots[i].rel, problem_names[slots[i].problem],
                                  slots[i].problem == MISLABELED || slots[i].problem == NEAR_DUPLICATE
                                      ? class_names[slots[i].subject]
                                      : "none") > 0;
    if (f && fclose(f) != 0) manifest_ok = false;
    if (!manifest_ok) {
        fprintf(stderr, "bears synth: cannot write %s: %s\n", manifest, strerror(errno));
        failures++;
    }
    int n_png = 0;
    for (int i = 0; i < total; i++) n_png += slots[i].png;
    printf("synth: %d files in %s/{black,grizzly,teddy} (%d per class; %d PNG, %d JPEG) in %.1f s\n", total,
           dir, per_class, n_png, total - n_png, omp_get_wtime() - t0);
    printf("synth: planted %d unreadable files, %d pictures that are not bears and %d mislabeled ones",
           n_unreadable, n_not_bear, n_mislabeled);
    if (hard) printf(", and %d near-duplicates", n_duplicates);
    printf("; they are listed in %s\n", manifest);
    free(slots), free(order);
    if (failures) fprintf(stderr, "bears synth: %d files could not be written\n", failures);
    return failures ? 1 : 0;
}
