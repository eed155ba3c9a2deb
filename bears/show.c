// show.c — `bears show DIR`: the notebook's data.show_batch(). Look at the data before training on it:
// a grid of random pictures with their class (the folder name) under each, written as a PNG.
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "draw.h"
#include "trash.h"

int cmd_show(int argc, char **argv) {
    int n = 16, seed = 42, tile = 128;
    const char *out = "out";
    Flag flags[] = {
        {"--n", FLAG_INT, &n, 1, 400, false, NULL, "how many pictures"},
        {"--tile", FLAG_INT, &tile, 16, 512, false, NULL, "side of each picture in the grid, in pixels"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL,
         "which random pictures (same seed, same grid)"},
        {"--out", FLAG_STRING, &out, 0, 0, false, NULL, "folder for the PNG (OUT/show.png)"},
    };
    Cli cli = {"bears show",
               "a labelled grid of random pictures from DIR/<class>/, saved as a PNG",
               "data.show_batch(rows=3): look at your data before you train on it",
               "DIR",
               "bears show data/bears --n 25",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *dir = NULL;
    if (cli_parse(&cli, argc, argv, &dir, 1) != 1)
        cli_usage_error(&cli, "needs the data folder, e.g. data/bears");

    DataListing list;
    char err[512];
    if (!data_list(dir, &list, err, sizeof err)) {
        fprintf(stderr, "bears show: %s\n", err);
        return 1;
    }
    // Visit the files in a seeded random order and keep the first n that decode.
    int *order = malloc(sizeof(int) * (list.n_files + 1));
    for (int i = 0; i < list.n_files; i++) order[i] = i;
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    rng_shuffle(&rng, order, list.n_files);
    Image *pictures = calloc(n, sizeof(Image));
    const char **captions = calloc(n, sizeof(char *));
    int shown = 0, skipped = 0;
    for (int k = 0; k < list.n_files && shown < n; k++) {
        const DataFile *f = &list.files[order[k]];
        if (image_load(f->path, &pictures[shown], err, sizeof err))
            captions[shown++] = list.classes[f->label];
        else
            skipped++;
    }
    int status = 1;
    Image sheet = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/show.png", out);
    if (shown == 0) {
        fprintf(stderr, "bears show: no readable pictures in the class folders of '%s'\n", dir);
    } else if (!make_dirs(out)) {
        fprintf(stderr, "bears show: cannot create the folder '%s': %s\n", out, strerror(errno));
    } else {
        int cols = 1;
        while (cols * cols < shown) cols++;
        if (draw_contact_sheet(pictures, captions, shown, cols, tile, &sheet) &&
            image_save_png(path, &sheet, err, sizeof err)) {
            printf("show: %d pictures from %s%s\n", shown, dir, skipped ? " (unreadable files skipped)" : "");
            printf("show: %s\n", path);
            status = 0;
        } else {
            fprintf(stderr, "bears show: %s\n", sheet.rgb ? err : "out of memory");
        }
    }
    image_free(&sheet);
    for (int i = 0; i < shown; i++) image_free(&pictures[i]);
    free(pictures), free(captions), free(order);
    data_listing_free(&list);
    return status;
}
