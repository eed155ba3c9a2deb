// trash.c — moving files aside instead of deleting them, with a journal.
#include "trash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return false;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0777); // an existing folder is fine; the final check below catches real failures
        *p = '/';
    }
    mkdir(buf, 0777);
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode);
}

// One CSV field, quoted when it holds a comma, quote or newline (reasons often hold commas).
static void write_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc('"', f);
}

bool free_path(const char *folder, const char *name, char *out, size_t out_size) {
    // Split the file name at its extension to number repeats: 0007.jpg, 0007-1.jpg, 0007-2.jpg...
    const char *dot = strrchr(name, '.');
    int stem = dot && dot != name ? (int)(dot - name) : (int)strlen(name);
    int length = snprintf(out, out_size, "%s/%s", folder, name);
    for (int k = 1; length < (int)out_size && access(out, F_OK) == 0; k++)
        length = snprintf(out, out_size, "%s/%.*s-%d%s", folder, stem, name, k, name + stem);
    return length < (int)out_size;
}

bool trash_move(const char *root, const char *rel, const char *reason, char *moved_to, size_t moved_size,
                char *err, size_t err_size) {
    return trash_move_hooked(root, rel, reason, NULL, NULL, moved_to, moved_size, err, err_size);
}

bool trash_move_hooked(const char *root, const char *rel, const char *reason, TrashBeforeMove before,
                       void *ctx, char *moved_to, size_t moved_size, char *err, size_t err_size) {
    char from[4096], dest[4096], folder[4096];
    snprintf(from, sizeof from, "%s/%s", root, rel);
    snprintf(folder, sizeof folder, "%s/.trash/%s", root, rel);
    char *slash = strrchr(folder, '/');
    *slash = '\0';
    if (!make_dirs(folder)) {
        snprintf(err, err_size, "cannot create %s: %s", folder, strerror(errno));
        return false;
    }
    const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    if (!free_path(folder, name, dest, sizeof dest)) {
        snprintf(err, err_size, "path too long: %s", from);
        return false;
    }
    if (before && !before(ctx, from, dest, err, err_size)) return false;
    if (rename(from, dest) != 0) {
        snprintf(err, err_size, "cannot move %s to %s: %s", from, dest, strerror(errno));
        return false;
    }
    snprintf(moved_to, moved_size, "%s", dest);

    char journal[4096];
    snprintf(journal, sizeof journal, "%s/.trash/journal.csv", root);
    bool fresh = access(journal, F_OK) != 0;
    FILE *f = fopen(journal, "a");
    if (!f) return true; // the move worked; a missing journal line must not undo it
    if (fresh) fprintf(f, "original,trashed_as,reason\n");
    write_csv_field(f, from);
    fputc(',', f);
    write_csv_field(f, dest);
    fputc(',', f);
    write_csv_field(f, reason);
    fputc('\n', f);
    fclose(f);
    return true;
}
