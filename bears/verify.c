// verify.c — `bears verify DIR`: the lesson's verify_images(). Downloads always bring a few files that
// are not pictures at all (an HTML error page saved as .jpg), were cut off half way, or are empty.
// Decode every file, say what is wrong with each bad one, and with --delete move them to DIR/.trash
// (never unlink). --max-size shrinks oversized pictures in place, keeping their format.
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "image.h"
#include "trash.h"

typedef struct {
    bool ok;
    char message[240]; // why it is bad, or what --max-size did ("" when nothing)
} Verdict;

// Shrink so the longest side is max_size, written to a hidden temp file of our own (mkstemp: two runs on
// one folder never share one) and renamed over the original, so nobody ever sees a half-written picture.
// `before` is the file as we read it: when another run has replaced it since, its result is kept.
static bool shrink_in_place(const char *path, const struct stat *before, const Image *img, ImageFormat format,
                            int max_size, char *msg, size_t msg_size) {
    int longest = img->width > img->height ? img->width : img->height;
    int w = (int)((long long)img->width * max_size / longest),
        h = (int)((long long)img->height * max_size / longest);
    w = w < 1 ? 1 : w, h = h < 1 ? 1 : h;
    char tmp[4096], err[200];
    int dir_len = (int)(path_base(path) - path); // the folder, with its slash
    snprintf(tmp, sizeof tmp, "%.*s.shrinking-%s-XXXXXX", dir_len, path, path + dir_len);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(msg, msg_size, "could not shrink: cannot create a temporary file: %s", strerror(errno));
        return false;
    }
    close(fd);
    Image small;
    bool ok = image_resize(img, w, h, &small);
    if (!ok) snprintf(err, sizeof err, "out of memory");
    ok = ok && image_save(tmp, &small, format, 90, err, sizeof err);
    image_free(&small);
    struct stat now;
    bool replaced = stat(path, &now) != 0 || now.st_ino != before->st_ino || now.st_size != before->st_size ||
                    now.st_mtime != before->st_mtime;
    if (ok && replaced) {
        remove(tmp); // our own temp file, never the user's picture
        snprintf(msg, msg_size, "left as it is: another run changed it while this one was shrinking it");
        return false;
    }
    if (ok && rename(tmp, path) != 0)
        ok = false, snprintf(err, sizeof err, "cannot replace the file: %s", strerror(errno));
    if (!ok) remove(tmp);
    if (ok)
        snprintf(msg, msg_size, "shrunk %dx%d -> %dx%d", img->width, img->height, w, h);
    else
        snprintf(msg, msg_size, "could not shrink: %s", err);
    return ok;
}

int cmd_verify(int argc, char **argv) {
    bool delete = false, restore = false;
    int max_size = 0;
    Flag flags[] = {
        {"--delete", FLAG_BOOL, &delete, 0, 0, false, NULL,
         "move bad files into DIR/.trash (nothing is erased)"},
        {"--restore", FLAG_BOOL, &restore, 0, 0, false, NULL,
         "undo: move every file the trash journal lists back where it was"},
        {"--max-size", FLAG_INT, &max_size, 0, IMAGE_MAX_SIDE, false, NULL,
         "shrink pictures whose longest side is over this many pixels, in place (0 = leave sizes alone)"},
    };
    Cli cli = {"bears verify",
               "decode every picture in DIR/<class>/ and report the ones that are broken",
               "verify_images(path, delete=True, max_size=500): throw out what the download got wrong",
               "DIR",
               "bears verify data/bears --delete",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *dir = NULL;
    if (cli_parse(&cli, argc, argv, &dir, 1) != 1)
        cli_usage_error(&cli, "needs the folder to check, e.g. data/bears");
    if (restore && (delete || max_size))
        cli_usage_error(&cli, "--restore undoes earlier moves; run it without --delete and --max-size");
    char err[512];
    if (restore) {
        int restored = trash_restore(dir, err, sizeof err);
        if (restored < 0) {
            fprintf(stderr, "bears verify: %s\n", err);
            return 1;
        }
        printf("verify: restored %d files from %s/.trash\n", restored, dir);
        return 0;
    }

    DataListing list;
    if (!data_list(dir, &list, err, sizeof err)) {
        fprintf(stderr, "bears verify: %s\n", err);
        return 1;
    }
    if (list.n_files == 0) {
        fprintf(stderr, "bears verify: the class folders of '%s' hold no files\n", dir);
        data_listing_free(&list);
        return 1;
    }
    Verdict *verdicts = calloc(list.n_files, sizeof(Verdict));
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < list.n_files; i++) {
        Image img;
        ImageFormat format;
        Verdict *v = &verdicts[i];
        struct stat before;
        bool known = stat(list.files[i].path, &before) == 0;
        v->ok = image_load_format(list.files[i].path, &img, &format, v->message, sizeof v->message);
        if (v->ok && known && max_size > 0 && (img.width > max_size || img.height > max_size))
            shrink_in_place(list.files[i].path, &before, &img, format, max_size, v->message,
                            sizeof v->message);
        image_free(&img);
    }

    int n_bad = 0, n_moved = 0, n_shrunk = 0;
    for (int i = 0; i < list.n_files; i++) {
        const Verdict *v = &verdicts[i];
        if (v->ok) {
            if (v->message[0]) printf("%-24s %s\n", list.files[i].rel, v->message);
            n_shrunk += strncmp(v->message, "shrunk", 6) == 0;
            continue;
        }
        n_bad++;
        printf("%-24s BAD: %s\n", list.files[i].rel, v->message);
        if (!delete) continue;
        char moved_to[4096];
        if (trash_move(dir, list.files[i].rel, v->message, moved_to, sizeof moved_to, err, sizeof err)) {
            printf("%-24s moved to %s\n", "", moved_to);
            n_moved++;
        } else {
            printf("%-24s NOT moved: %s\n", "", err);
        }
    }
    printf("\nverify: %d files in %d class folders: %d good, %d bad", list.n_files, list.n_classes,
           list.n_files - n_bad, n_bad);
    if (n_shrunk) printf(", %d shrunk to at most %d px", n_shrunk, max_size);
    printf("\n");
    int remaining = n_bad - n_moved;
    if (n_moved)
        printf("verify: moved %d bad files into %s/.trash (journal: %s/.trash/journal.csv)\n", n_moved, dir,
               dir);
    if (remaining)
        printf("verify: %d bad files remain in the class folders%s\n", remaining,
               delete ? "" : "; run again with --delete to move them into the trash");
    free(verdicts);
    data_listing_free(&list);
    return remaining ? 1 : 0;
}
