// clean.h — the cleaner's moves, its journal, the editable list it reads back, and undo.
//
// The lesson's FileDeleter shows the top losses and lets you delete or relabel them. Here every such
// decision is a move of a file inside DIR (delete: into DIR/.trash/, relabel: into another class folder,
// never over an existing name), and every move is first written to DIR/.sgdlab-clean.csv:
//     time,action,from,to          paths relative to DIR
//     2026-12-01T17:30:02Z,begin,window,              one per run: window, apply FILE, undo-all LINE
//     2026-12-01T17:30:09Z,delete,black/0007.jpg,.trash/black/0007.jpg
//     2026-12-01T17:30:11Z,relabel,black/0123.png,grizzly/0123.png
//     2026-12-01T17:30:12Z,keep,teddy/0042.jpg,teddy/0042.jpg
// A row is flushed to disk before its file moves, so even a crash leaves a journal that says where
// everything went; `bears clean --undo-all DIR` walks the last run backwards.
#ifndef SGDLAB_BEARS_CLEAN_H
#define SGDLAB_BEARS_CLEAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "interpret.h"

#define CLEAN_JOURNAL ".sgdlab-clean.csv"

typedef struct {
    const char *dir; // the data folder (not owned)
    FILE *f;
} CleanJournal;

// Open DIR's journal for appending (header written when new) and write the run's begin row:
// kind "window", "apply" or "undo-all", detail the applied file / the undone run's line.
bool clean_journal_open(CleanJournal *j, const char *dir, const char *kind, const char *detail, char *err,
                        size_t err_size);
// False when the journal could not be written to the end (the error says so).
bool clean_journal_close(CleanJournal *j, char *err, size_t err_size);

// The moves. rel, from, to are relative to DIR; the new place goes into new_rel.
// keep: a row, nothing moves. delete: into .trash/ through trash.h. relabel: into DIR/CLASS/ under the
// file's name, or NAME-1.EXT, ... when taken. clean_move: the row, then a rename that never replaces a
// file (the undo moves use it with action "undo"); only the row when from and to are the same.
bool clean_keep(CleanJournal *j, const char *rel, char *err, size_t err_size);
bool clean_delete(CleanJournal *j, const char *rel, char *new_rel, size_t new_size, char *err,
                  size_t err_size);
bool clean_relabel(CleanJournal *j, const char *rel, const char *cls, char *new_rel, size_t new_size,
                   char *err, size_t err_size);
bool clean_move(CleanJournal *j, const char *action, const char *from, const char *to, char *err,
                size_t err_size);

// A path under DIR as the journal stores it: relative, so the folder can move and undo still works.
const char *clean_relative(const char *dir, const char *path);
// A picture's path under DIR is CLASS/NAME, or train/CLASS/NAME and valid/CLASS/NAME in a folder with a
// split of its own (dataset.h): the length of that split part (0, or 6 with its slash). A relabel moves
// a picture to another class within its split, and a kept one goes back to its class there.
size_t clean_split_length(const char *path);
// One line of output (a newline added) with every byte outside printable ASCII escaped as \xNN
// (printable.h): file names come from strangers and must not drive the terminal.
void clean_print(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// rename() that never replaces: false with errno EEXIST when `to` exists.
bool clean_rename_new(const char *from, const char *to);

// ---- the editable list (`--export` writes it, `--apply` reads it) ----

typedef enum { CLEAN_KEEP, CLEAN_DELETE, CLEAN_RELABEL } CleanAction;

typedef struct {
    char *path; // CLASS/NAME, relative to DIR
    CleanAction action;
    int cls;  // the class of a relabel
    int line; // where it was in the file, for messages
} ApplyItem;

typedef struct {
    ApplyItem *items;
    int n;
} ApplyPlan;

// Parse the list: a header with at least the columns path and action (others are ignored), then one
// row per picture with as many fields as the header; path is CLASS/NAME with CLASS one of classes,
// action is keep, delete or relabel:CLASS; no path twice. Everything is checked before anything is
// returned: on the first problem, false and err starts with "line N:" and the plan is empty.
bool clean_parse_apply(const char *text, size_t length, const char *const *classes, int n_classes,
                       ApplyPlan *plan, char *err, size_t err_size);
void apply_plan_free(ApplyPlan *plan);

// Revert the last run of DIR's journal that is not undone yet, last move first. Every move is checked
// before the first one is made (the file is where the journal left it, its old place is free); when
// one is not, nothing changes and err names the file and the journal line. Prints each move to out.
bool clean_undo_all(const char *dir, FILE *out, char *err, size_t err_size);

// ---- the ranking and the window ----

// One picture in the cleaner's order. In a --duplicates ranking pictures come in pairs (entries 2k and
// 2k+1 share pair k+1 and their cosine similarity); otherwise pair is 0.
typedef struct {
    Scored s;
    int pair;
    float similarity;
} CleanEntry;

// The pairs of pictures whose features point the same way (cosine >= min_similarity), most similar
// first, at most one pair per picture scored: 2 * pairs entries.
CleanEntry *clean_duplicates(const Interpretation *in, float min_similarity, int *n_entries);
// Whether entries[i] passes the split ("valid", "train", "all") and class (-1: any) filters; a pair is
// shown whole when either picture passes.
bool clean_entry_shown(const CleanEntry *entries, int i, const char *split, int class_filter);

typedef struct {
    int per_page;
    const char *split;      // the split shown first: valid, train or all
    int class_filter;       // the class shown first, -1 for all
    const char *keys;       // a script ("d,k,r:grizzly,enter,u") played instead of waiting for the user
    const char *frames_dir; // headless, one PNG per frame
    const char *out_dir;    // where the f key saves screenshots
} CleanWindowOptions;

// The FileDeleter: pages of pictures with keep / delete / relabel, undo, every move through the
// journal. Returns the exit code.
int clean_window(const Interpretation *in, const CleanEntry *entries, int n, const char *dir,
                 const CleanWindowOptions *opt);

#endif
