// files.h — making the folders a program writes into: plots, animation frames, and the bears tools'
// data and trash folders, one way for all of them.
#ifndef SGDLAB_VIZ_FILES_H
#define SGDLAB_VIZ_FILES_H

#include <stdbool.h>

// mkdir -p: true when the folder exists afterwards. Otherwise errno says why: the first mkdir that
// failed (EACCES, EROFS, ...), ENOTDIR when a file stands where a folder should, ENAMETOOLONG.
bool make_dirs(const char *path);

#endif
