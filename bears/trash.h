// trash.h — sgdlab never deletes a user's file. "Deleting" a picture moves it to DIR/.trash/, keeping
// its path inside DIR, after appending a line to DIR/.trash/journal.csv (original,trashed_as,reason, CSV
// quoted, so any file name reads back exactly), so every move can be undone: by hand
// (mv DIR/.trash/black/0007.jpg DIR/black/0007.jpg) or with `bears verify DIR --restore`. The dataset
// ignores hidden folders, so a picture in the trash is out of training at once. Used by `bears verify
// --delete` and the cleaner.
#ifndef SGDLAB_BEARS_TRASH_H
#define SGDLAB_BEARS_TRASH_H

#include <stdbool.h>
#include <stddef.h>

#include "files.h" // make_dirs

// The name after path's last slash (all of path when it has none).
const char *path_base(const char *path);
// What comes before path's last slash ("." when it has none, "/" for a name at the root), into folder.
// False when it does not fit.
bool path_folder(const char *path, char *folder, size_t folder_size);

// Move ROOT/REL to ROOT/.trash/REL; when that name is taken, NAME-1.EXT, NAME-2.EXT, ... so nothing in
// the trash is ever overwritten. `reason` goes into the journal, which is written first: when it cannot
// be, nothing moves. The new path is written into moved_to.
bool trash_move(const char *root, const char *rel, const char *reason, char *moved_to, size_t moved_size,
                char *err, size_t err_size);

// The same, calling before(ctx, from, to, ...) once the trash name is chosen and before the file moves
// (the cleaner writes its journal line there); when it returns false nothing moves.
typedef bool (*TrashBeforeMove)(void *ctx, const char *from, const char *to, char *err, size_t err_size);
bool trash_move_hooked(const char *root, const char *rel, const char *reason, TrashBeforeMove before,
                       void *ctx, char *moved_to, size_t moved_size, char *err, size_t err_size);

// FOLDER/NAME when nothing has that name, else FOLDER/STEM-1.EXT, FOLDER/STEM-2.EXT, ...: a name that
// overwrites nothing (the trash and the cleaner's relabel use it). False when the path does not fit.
bool free_path(const char *folder, const char *name, char *out, size_t out_size);

// One journal line. A restore appends (original, trashed_as, TRASH_RESTORED) before moving a file back.
typedef struct {
    char *original, *trashed_as, *reason;
} TrashEntry;
#define TRASH_RESTORED "restored"

// Parse journal text (header optional); false with err naming the line when it is malformed.
bool trash_journal_parse(const char *text, size_t length, TrashEntry **entries, int *count, char *err,
                         size_t err_size);
void trash_entries_free(TrashEntry *entries, int count);
// Move every file the journal of ROOT lists back where it came from, newest first, when it is still in the
// trash and its old name is free; prints each move. The number restored, or -1 with err.
int trash_restore(const char *root, char *err, size_t err_size);

#endif
