// clean_journal.c — the cleaner's moves, journal, editable list and undo (see clean.h).
#define _GNU_SOURCE // renameat2: a rename that refuses to replace a file
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clean.h"
#include "csv.h"
#include "printable.h"
#include "trash.h"

enum { JOURNAL_MAX_BYTES = 64 << 20, APPLY_MAX_BYTES = 64 << 20 };

const char *clean_relative(const char *dir, const char *path) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--; // "data/bears/" and "data/bears" are the same folder
    if (strncmp(path, dir, n) != 0 || path[n] != '/') return path;
    for (path += n; *path == '/'; path++) {
    }
    return path;
}

size_t clean_split_length(const char *path) {
    bool split = strncmp(path, "train/", 6) == 0 || strncmp(path, "valid/", 6) == 0;
    return split && strchr(path + 6, '/') ? 6 : 0;
}

void clean_print(FILE *f, const char *fmt, ...) {
    char text[2048], shown[PRINTABLE_SIZE(2000)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    size_t length = n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
    fprintf(f, "%s\n", printable(text, length, 2000, shown));
}

bool clean_rename_new(const char *from, const char *to) {
    int moved = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (moved != 0 && (errno == EINVAL || errno == ENOSYS)) // a file system without it: check, then rename
        moved = access(to, F_OK) == 0 ? (errno = EEXIST, -1) : rename(from, to);
    return moved == 0;
}

static bool write_row(CleanJournal *j, const char *action, const char *from, const char *to, bool sync,
                      char *err, size_t err_size) {
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    const char *fields[4] = {when, action, from, to};
    // fsync before a move: the row must be on disk before the file it describes goes anywhere.
    if (!csv_write_row(j->f, fields, 4) || fflush(j->f) != 0 || (sync && fsync(fileno(j->f)) != 0)) {
        snprintf(err, err_size, "cannot write the journal %s/%s: %s; the file was not moved", j->dir,
                 CLEAN_JOURNAL, strerror(errno));
        return false;
    }
    return true;
}

bool clean_journal_open(CleanJournal *j, const char *dir, const char *kind, const char *detail, char *err,
                        size_t err_size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, CLEAN_JOURNAL);
    j->dir = dir;
    j->f = fopen(path, "a+");
    if (!j->f) {
        snprintf(err, err_size, "cannot open the journal %s: %s", path, strerror(errno));
        return false;
    }
    // A row cut short by a full disk last time must not swallow the first row of this run.
    bool ok = fseek(j->f, 0, SEEK_END) == 0;
    long size = ok ? ftell(j->f) : -1;
    if (size == 0) {
        ok = csv_write_row(j->f, (const char *[]){"time", "action", "from", "to"}, 4);
    } else if (size > 0 && fseek(j->f, size - 1, SEEK_SET) == 0) {
        int last = fgetc(j->f);
        ok = fseek(j->f, 0, SEEK_END) == 0 && (last == '\n' || fputc('\n', j->f) != EOF);
    }
    if (!ok || !write_row(j, "begin", kind, detail, true, err, err_size)) {
        snprintf(err, err_size, "cannot write the journal %s: %s", path, strerror(errno));
        fclose(j->f);
        j->f = NULL;
        return false;
    }
    return true;
}

bool clean_journal_close(CleanJournal *j, char *err, size_t err_size) {
    if (!j->f) return true;
    bool ok = fclose(j->f) == 0;
    j->f = NULL;
    if (!ok)
        snprintf(err, err_size, "cannot finish the journal %s/%s: %s", j->dir, CLEAN_JOURNAL,
                 strerror(errno));
    return ok;
}

bool clean_keep(CleanJournal *j, const char *rel, char *err, size_t err_size) {
    return clean_move(j, "keep", rel, rel, err, err_size);
}

// The journal says a move is coming; when the move then fails, a "failed" row right after it says it
// never happened, so undo skips it.
static void note_failure(CleanJournal *j, const char *from, const char *to) {
    char ignored[256];
    write_row(j, "failed", from, to, false, ignored, sizeof ignored);
}

typedef struct {
    CleanJournal *j;
    bool written;
} TrashContext;

static bool journal_before_trash(void *ctx, const char *from, const char *to, char *err, size_t err_size) {
    TrashContext *t = ctx;
    t->written = write_row(t->j, "delete", clean_relative(t->j->dir, from), clean_relative(t->j->dir, to),
                           true, err, err_size);
    return t->written;
}

bool clean_delete(CleanJournal *j, const char *rel, char *new_rel, size_t new_size, char *err,
                  size_t err_size) {
    TrashContext t = {j, false};
    char moved[4096];
    if (trash_move_hooked(j->dir, rel, "bears clean: delete", journal_before_trash, &t, moved, sizeof moved,
                          err, err_size)) {
        snprintf(new_rel, new_size, "%s", clean_relative(j->dir, moved));
        return true;
    }
    if (t.written) note_failure(j, rel, "");
    return false;
}

bool clean_relabel(CleanJournal *j, const char *rel, const char *cls, char *new_rel, size_t new_size,
                   char *err, size_t err_size) {
    char folder[4096], dest[4096];
    snprintf(folder, sizeof folder, "%s/%.*s%s", j->dir, (int)clean_split_length(rel), rel, cls);
    if (!free_path(folder, path_base(rel), dest, sizeof dest)) {
        snprintf(err, err_size, "path too long: %s/%s", folder, path_base(rel));
        return false;
    }
    snprintf(new_rel, new_size, "%s", clean_relative(j->dir, dest));
    return clean_move(j, "relabel", rel, new_rel, err, err_size);
}

bool clean_move(CleanJournal *j, const char *action, const char *from, const char *to, char *err,
                size_t err_size) {
    if (strcmp(from, to) == 0) return write_row(j, action, from, to, false, err, err_size); // nothing moves
    char a[4096], b[4096], folder[4096];
    snprintf(a, sizeof a, "%s/%s", j->dir, from);
    snprintf(b, sizeof b, "%s/%s", j->dir, to);
    if (!path_folder(b, folder, sizeof folder) ||
        !make_dirs(folder)) { // a class folder emptied and removed by hand since, say
        snprintf(err, err_size, "cannot create the folder %s: %s", folder, strerror(errno));
        return false;
    }
    if (!write_row(j, action, from, to, true, err, err_size)) return false;
    if (!clean_rename_new(a, b)) {
        snprintf(err, err_size, "cannot move %s to %s: %s", a, b,
                 errno == EEXIST ? "a file of that name is there (nothing was replaced)" : strerror(errno));
        note_failure(j, from, to);
        return false;
    }
    return true;
}

// ---- the editable list ----

void apply_plan_free(ApplyPlan *plan) {
    for (int i = 0; i < plan->n; i++) free(plan->items[i].path);
    free(plan->items);
    *plan = (ApplyPlan){0};
}

static int find_class(const char *name, size_t length, const char *const *classes, int n_classes) {
    for (int c = 0; c < n_classes; c++)
        if (strlen(classes[c]) == length && strncmp(classes[c], name, length) == 0) return c;
    return -1;
}

static void list_classes(const char *const *classes, int n_classes, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < n_classes && used < size; c++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", c ? ", " : "", classes[c]);
}

// NULL when path is [train/|valid/]CLASS/NAME for a known class and a plain file name, else what is
// wrong with it.
static const char *check_path(const char *path, const char *const *classes, int n_classes) {
    if (!path[0]) return "the path is empty";
    if (path[0] == '/') return "the path must be relative to the data folder (CLASS/NAME)";
    path += clean_split_length(path);
    const char *slash = strchr(path, '/');
    if (!slash) return "the path must be CLASS/NAME, inside a class folder";
    if (find_class(path, (size_t)(slash - path), classes, n_classes) < 0)
        return "the path's first part is not one of the class folders";
    const char *name = slash + 1;
    if (!name[0] || strchr(name, '/')) return "the path must be CLASS/NAME, one folder deep";
    if (name[0] == '.')
        return "the file name starts with '.' (hidden files are not pictures of the data set)";
    return NULL;
}

static int by_path(const void *a, const void *b) {
    int c = strcmp(((const ApplyItem *)a)->path, ((const ApplyItem *)b)->path);
    return c ? c : ((const ApplyItem *)a)->line - ((const ApplyItem *)b)->line;
}

// The action field, read leniently (spaces around it, any case: people edit this file by hand).
static bool parse_action(const char *text, const char *const *classes, int n_classes, ApplyItem *item) {
    while (isspace((unsigned char)*text)) text++;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1])) n--;
    if (n == 4 && strncasecmp(text, "keep", 4) == 0) return item->action = CLEAN_KEEP, true;
    if (n == 6 && strncasecmp(text, "delete", 6) == 0) return item->action = CLEAN_DELETE, true;
    if (n > 8 && strncasecmp(text, "relabel:", 8) == 0) {
        const char *cls = text + 8;
        size_t len = n - 8;
        while (len && isspace((unsigned char)*cls)) cls++, len--;
        item->action = CLEAN_RELABEL;
        return (item->cls = find_class(cls, len, classes, n_classes)) >= 0;
    }
    return false;
}

bool clean_parse_apply(const char *text, size_t length, const char *const *classes, int n_classes,
                       ApplyPlan *plan, char *err, size_t err_size) {
    *plan = (ApplyPlan){0};
    CsvReader r = csv_reader(text, length);
    CsvRow row = {0};
    int status = csv_next_row(&r, &row, err, err_size), path_col = -1, action_col = -1, n_cols = row.n;
    if (status == 0)
        snprintf(err, err_size, "the list is empty; it needs a header line naming path and action");
    for (int i = 0; status > 0 && i < row.n; i++) {
        if (strcmp(row.fields[i], "path") == 0) path_col = i;
        if (strcmp(row.fields[i], "action") == 0) action_col = i;
    }
    bool ok = status > 0 && path_col >= 0 && action_col >= 0;
    if (status > 0 && !ok)
        snprintf(err, err_size, "line %d: the first line must be a header naming the columns path and action",
                 row.line);
    int capacity = 0;
    while (ok && (status = csv_next_row(&r, &row, err, err_size)) > 0) {
        char classes_text[512];
        const char *bad = row.n != n_cols ? "fields" : check_path(row.fields[path_col], classes, n_classes);
        ApplyItem item = {.line = row.line};
        if (row.n != n_cols) {
            snprintf(err, err_size,
                     "line %d: %d fields where the header has %d (a name with a comma needs quotes)",
                     row.line, row.n, n_cols);
        } else if (bad) {
            snprintf(err, err_size, "line %d: '%s': %s", row.line, row.fields[path_col], bad);
        } else if (!parse_action(row.fields[action_col], classes, n_classes, &item)) {
            list_classes(classes, n_classes, classes_text, sizeof classes_text);
            snprintf(err, err_size, "line %d: action '%s' is not keep, delete or relabel:CLASS (classes: %s)",
                     row.line, row.fields[action_col], classes_text);
            bad = "action";
        }
        if (bad) {
            ok = false;
            break;
        }
        if (plan->n == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            ApplyItem *bigger = realloc(plan->items, sizeof(ApplyItem) * (size_t)capacity);
            if (!bigger) {
                snprintf(err, err_size, "line %d: out of memory", row.line);
                ok = false;
                break;
            }
            plan->items = bigger;
        }
        item.path = strdup(row.fields[path_col]);
        plan->items[plan->n++] = item;
    }
    ok = ok && status >= 0;
    csv_row_free(&row);
    // One decision per picture: the same path twice is a copy-paste slip, and which one wins is a guess.
    ApplyItem *sorted = ok && plan->n ? malloc(sizeof(ApplyItem) * (size_t)plan->n) : NULL;
    if (sorted) {
        memcpy(sorted, plan->items, sizeof(ApplyItem) * (size_t)plan->n);
        qsort(sorted, (size_t)plan->n, sizeof(ApplyItem), by_path);
        for (int i = 1; ok && i < plan->n; i++)
            if (strcmp(sorted[i].path, sorted[i - 1].path) == 0) {
                snprintf(err, err_size, "line %d: '%s' is listed twice (also on line %d)", sorted[i].line,
                         sorted[i].path, sorted[i - 1].line);
                ok = false;
            }
        free(sorted);
    }
    if (!ok) apply_plan_free(plan);
    return ok;
}

// ---- undo ----

typedef struct {
    char *path;
    bool exists;
} Presence;

// Whether DIR/path exists once the moves already planned have been made: the plan is checked whole
// against this picture of the folder before the first file moves.
typedef struct {
    const char *dir;
    Presence *known;
    int n, capacity;
} FolderModel;

static bool model_exists(const FolderModel *m, const char *path) {
    for (int i = m->n - 1; i >= 0; i--)
        if (strcmp(m->known[i].path, path) == 0) return m->known[i].exists;
    char full[4096];
    struct stat st;
    snprintf(full, sizeof full, "%s/%s", m->dir, path);
    return lstat(full, &st) == 0;
}

static bool model_set(FolderModel *m, const char *path, bool exists) {
    if (m->n == m->capacity) {
        int capacity = m->capacity ? 2 * m->capacity : 64;
        Presence *bigger = realloc(m->known, sizeof(Presence) * (size_t)capacity);
        if (!bigger) return false;
        m->known = bigger, m->capacity = capacity;
    }
    m->known[m->n++] = (Presence){strdup(path), exists};
    return true;
}

static void model_free(FolderModel *m) {
    for (int i = 0; i < m->n; i++) free(m->known[i].path);
    free(m->known);
}

typedef struct {
    char *action, *from, *to;
    int line;
} JournalRow;

static void rows_free(JournalRow *rows, int n) {
    for (int i = 0; i < n; i++) free(rows[i].action), free(rows[i].from), free(rows[i].to);
    free(rows);
}

// Every row of the journal after its header; NULL with err when it cannot be read or is not one.
static JournalRow *read_journal(const char *dir, int *n_rows, char *err, size_t err_size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, CLEAN_JOURNAL);
    if (access(path, F_OK) != 0) {
        snprintf(err, err_size, "%s has no cleaning journal (%s): nothing to undo", dir, path);
        return NULL;
    }
    size_t length = 0;
    char *text = read_small_file(path, JOURNAL_MAX_BYTES, &length, err, err_size);
    if (!text) return NULL;
    CsvReader r = csv_reader(text, length);
    CsvRow row = {0};
    JournalRow *rows = NULL;
    int n = 0, capacity = 0, status = csv_next_row(&r, &row, err, err_size);
    bool ok = status > 0 && row.n == 4 && strcmp(row.fields[0], "time") == 0 &&
              strcmp(row.fields[1], "action") == 0 && strcmp(row.fields[2], "from") == 0 &&
              strcmp(row.fields[3], "to") == 0;
    if (status >= 0 && !ok) snprintf(err, err_size, "line 1: the header is not time,action,from,to");
    while (ok && (status = csv_next_row(&r, &row, err, err_size)) > 0) {
        if (row.n != 4) {
            snprintf(err, err_size, "line %d: %d fields, not 4", row.line, row.n);
            ok = false;
            break;
        }
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            JournalRow *bigger = realloc(rows, sizeof(JournalRow) * (size_t)capacity);
            if (!bigger) {
                snprintf(err, err_size, "out of memory");
                ok = false;
                break;
            }
            rows = bigger;
        }
        rows[n++] =
            (JournalRow){strdup(row.fields[1]), strdup(row.fields[2]), strdup(row.fields[3]), row.line};
    }
    ok = ok && status >= 0;
    csv_row_free(&row);
    free(text);
    if (!ok) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, err_size, "the journal %s is damaged (%s); nothing was changed", path, why);
        rows_free(rows, n);
        return NULL;
    }
    *n_rows = n;
    return rows;
}

static bool is_move(const JournalRow *rows, int n, int i) {
    const JournalRow *r = &rows[i];
    bool moving =
        strcmp(r->action, "begin") != 0 && strcmp(r->action, "failed") != 0 && strcmp(r->from, r->to) != 0;
    bool failed =
        i + 1 < n && strcmp(rows[i + 1].action, "failed") == 0 && strcmp(rows[i + 1].from, r->from) == 0;
    return moving && !failed;
}

bool clean_undo_all(const char *dir, FILE *out, char *err, size_t err_size) {
    int n = 0;
    JournalRow *rows = read_journal(dir, &n, err, err_size);
    if (!rows) return false;
    // Runs start at their begin rows; an undo-all run names the line of the run it undid.
    int last = -1;
    bool *undone = calloc((size_t)n + 1, sizeof(bool));
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].action, "begin") == 0 && strcmp(rows[i].from, "undo-all") == 0)
            for (int k = 0; k < i; k++)
                if (rows[k].line == atoi(rows[i].to)) undone[k] = true;
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].action, "begin") == 0 && strcmp(rows[i].from, "undo-all") != 0 && !undone[i])
            last = i;
    free(undone);
    if (last < 0) {
        snprintf(err, err_size, "nothing to undo: every cleaning run in %s/%s is undone already", dir,
                 CLEAN_JOURNAL);
        rows_free(rows, n);
        return false;
    }
    int end = last + 1;
    while (end < n && strcmp(rows[end].action, "begin") != 0) end++;

    // Check the whole way back first: each file must be where its move put it, and its old place free.
    FolderModel model = {dir, NULL, 0, 0};
    bool ok = true;
    int moves = 0;
    for (int i = end - 1; ok && i > last; i--) {
        if (!is_move(rows, n, i)) continue;
        const JournalRow *r = &rows[i];
        if (!model_exists(&model, r->to)) {
            snprintf(
                err, err_size,
                "cannot undo: journal line %d moved %s to %s, but nothing is there now (moved by hand?). "
                "Nothing was changed",
                r->line, r->from, r->to);
            ok = false;
        } else if (model_exists(&model, r->from)) {
            snprintf(err, err_size,
                     "cannot undo: journal line %d moved %s away, and a file of that name is there again: "
                     "moving %s back would replace it. Nothing was changed",
                     r->line, r->from, r->to);
            ok = false;
        } else {
            ok = model_set(&model, r->to, false) && model_set(&model, r->from, true);
            if (!ok) snprintf(err, err_size, "out of memory");
        }
        moves++;
    }
    model_free(&model);
    char detail[32];
    snprintf(detail, sizeof detail, "%d", rows[last].line);
    CleanJournal j = {0};
    ok = ok && clean_journal_open(&j, dir, "undo-all", detail, err, err_size);
    if (ok)
        clean_print(out, "undo-all: the %s run of journal line %d (%d move%s)", rows[last].from,
                    rows[last].line, moves, moves == 1 ? "" : "s");
    for (int i = end - 1; ok && i > last; i--) {
        if (!is_move(rows, n, i)) continue;
        ok = clean_move(&j, "undo", rows[i].to, rows[i].from, err, err_size);
        if (ok) clean_print(out, "  moved back: %s -> %s", rows[i].to, rows[i].from);
    }
    char close_err[512];
    if (!clean_journal_close(&j, close_err, sizeof close_err) && ok) {
        snprintf(err, err_size, "%s", close_err);
        ok = false;
    }
    rows_free(rows, n);
    return ok;
}
