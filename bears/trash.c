// trash.c — moving files aside instead of deleting them, with a journal that can undo every move.
#include "trash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"

const char *path_base(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool path_folder(const char *path, char *folder, size_t folder_size) {
    const char *slash = strrchr(path, '/');
    int length = !slash
                     ? snprintf(folder, folder_size, ".")
                     : snprintf(folder, folder_size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return length >= 0 && (size_t)length < folder_size;
}

// Append one journal line; the header first when the journal is new. Every write is checked.
static bool journal_append(const char *root, const char *from, const char *to, const char *reason, char *err,
                           size_t err_size) {
    char journal[4096];
    snprintf(journal, sizeof journal, "%s/.trash/journal.csv", root);
    bool fresh = access(journal, F_OK) != 0;
    FILE *f = fopen(journal, "a");
    bool ok = f && (!fresh || csv_write_row(f, (const char *[]){"original", "trashed_as", "reason"}, 3)) &&
              csv_write_row(f, (const char *[]){from, to, reason}, 3);
    if (f && fclose(f) != 0) ok = false;
    if (!ok) snprintf(err, err_size, "cannot write the trash journal %s: %s", journal, strerror(errno));
    return ok;
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
    if ((size_t)snprintf(from, sizeof from, "%s/%s", root, rel) >= sizeof from ||
        (size_t)snprintf(dest, sizeof dest, "%s/.trash/%s", root, rel) >= sizeof dest ||
        !path_folder(dest, folder, sizeof folder)) {
        snprintf(err, err_size, "path too long: %.200s/%.200s", root, rel);
        return false;
    }
    if (!make_dirs(folder)) {
        snprintf(err, err_size, "cannot create %s: %s", folder, strerror(errno));
        return false;
    }
    if (!free_path(folder, path_base(rel), dest, sizeof dest)) {
        snprintf(err, err_size, "path too long: %s", from);
        return false;
    }
    // The journal line comes first: a move is never made that the journal could not undo.
    if (!journal_append(root, from, dest, reason, err, err_size)) return false;
    if (before && !before(ctx, from, dest, err, err_size)) return false;
    if (rename(from, dest) != 0) {
        snprintf(err, err_size, "cannot move %s to %s: %s", from, dest, strerror(errno));
        return false;
    }
    snprintf(moved_to, moved_size, "%s", dest);
    return true;
}

bool trash_journal_parse(const char *text, size_t length, TrashEntry **entries, int *count, char *err,
                         size_t err_size) {
    *entries = NULL, *count = 0;
    CsvReader r = csv_reader(text, length);
    CsvRow row = {0};
    int status, capacity = 0;
    bool ok = true;
    while (ok && (status = csv_next_row(&r, &row, err, err_size)) != 0) {
        if (status < 0) {
            ok = false;
        } else if (row.n != 3) {
            snprintf(err, err_size, "line %d: %d fields, expected original,trashed_as,reason", row.line,
                     row.n);
            ok = false;
        } else if (!(row.line == 1 && strcmp(row.fields[0], "original") == 0)) { // the header
            if (*count == capacity) {
                capacity = capacity ? 2 * capacity : 16;
                TrashEntry *bigger = realloc(*entries, sizeof(TrashEntry) * (size_t)capacity);
                if (!bigger) {
                    snprintf(err, err_size, "out of memory");
                    ok = false;
                    break;
                }
                *entries = bigger;
            }
            TrashEntry *e = &(*entries)[(*count)++];
            e->original = strdup(row.fields[0]), e->trashed_as = strdup(row.fields[1]),
            e->reason = strdup(row.fields[2]);
        }
    }
    csv_row_free(&row);
    if (!ok) trash_entries_free(*entries, *count), *entries = NULL, *count = 0;
    return ok;
}

void trash_entries_free(TrashEntry *entries, int count) {
    for (int i = 0; i < count; i++)
        free(entries[i].original), free(entries[i].trashed_as), free(entries[i].reason);
    free(entries);
}

int trash_restore(const char *root, char *err, size_t err_size) {
    char journal[4096];
    snprintf(journal, sizeof journal, "%s/.trash/journal.csv", root);
    size_t length;
    char *text = read_small_file(journal, (size_t)64 << 20, &length, err, err_size);
    if (!text) return -1;
    TrashEntry *entries;
    int count, restored = 0;
    bool ok = trash_journal_parse(text, length, &entries, &count, err, err_size);
    free(text);
    if (!ok) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, err_size, "%s: %s (nothing was moved)", journal, why);
        return -1;
    }
    // Newest first, so a name trashed twice comes back as its latest version. A line whose file is no
    // longer in the trash (already restored, or moved by hand) is skipped; an occupied name is kept.
    for (int i = count - 1; i >= 0; i--) {
        const TrashEntry *e = &entries[i];
        if (strcmp(e->reason, TRASH_RESTORED) == 0 || access(e->trashed_as, F_OK) != 0) continue;
        if (access(e->original, F_OK) == 0) {
            printf("restore: kept %s in the trash: %s exists again\n", e->trashed_as, e->original);
            continue;
        }
        char folder[4096], why[4096 + 256] = "";
        if (!path_folder(e->original, folder, sizeof folder) || !make_dirs(folder))
            snprintf(why, sizeof why, "cannot create %s: %s", folder, strerror(errno));
        else if (!journal_append(root, e->original, e->trashed_as, TRASH_RESTORED, why, sizeof why)) {
        } else if (rename(e->trashed_as, e->original) != 0)
            snprintf(why, sizeof why, "%s", strerror(errno));
        if (why[0]) {
            printf("restore: could not move %s back: %s\n", e->trashed_as, why);
            continue;
        }
        printf("restore: %s -> %s\n", e->trashed_as, e->original);
        restored++;
    }
    trash_entries_free(entries, count);
    return restored;
}
