// trash.h — sgdlab never deletes a user's file. "Deleting" a picture moves it to DIR/.trash/, keeping
// its path inside DIR, and appends a line to DIR/.trash/journal.csv so any move can be undone by hand
// (mv DIR/.trash/black/0007.jpg DIR/black/0007.jpg). The dataset ignores hidden folders, so a picture in
// the trash is out of training at once. Used by `bears verify --delete` and the cleaner.
#ifndef SGDLAB_BEARS_TRASH_H
#define SGDLAB_BEARS_TRASH_H

#include <stdbool.h>
#include <stddef.h>

// mkdir -p: true when the folder exists afterwards.
bool make_dirs(const char *path);

// Move ROOT/REL to ROOT/.trash/REL; when that name is taken, NAME-1.EXT, NAME-2.EXT, ... so nothing in
// the trash is ever overwritten. `reason` goes into the journal. The new path is written into moved_to.
bool trash_move(const char *root, const char *rel, const char *reason, char *moved_to, size_t moved_size,
                char *err, size_t err_size);

#endif
