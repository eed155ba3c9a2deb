// files.c — mkdir -p.
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

bool make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, false;
    if (!buf[0]) return errno = ENOENT, false; // the walk below starts after the first byte
    int failure = 0; // the first real mkdir failure (EROFS, EACCES...), so the caller can say why
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/') continue;
        char end = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST && !failure) failure = errno;
        *p = end;
        if (!end) break;
    }
    struct stat st;
    if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return true;
    errno = failure ? failure : ENOTDIR;
    return false;
}
