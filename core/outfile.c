// outfile.c — temp file + rename for the files a user names, with every write checked.
// Read first: nothing; the labs and bears/ write through it.
#include "outfile.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool outfile_open(OutFile *o, const char *path, char *err, size_t err_size) {
    memset(o, 0, sizeof *o);
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "cannot write %s: it is a folder", path);
        return false;
    }
    if ((size_t)snprintf(o->path, sizeof o->path, "%s", path) >= sizeof o->path) {
        snprintf(err, err_size, "cannot write %.200s...: the path is too long", path);
        return false;
    }
    if (exists && !S_ISREG(st.st_mode)) { // a device or pipe: nothing to replace, write straight to it
        if (!(o->f = fopen(path, "w"))) snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
        return o->f != NULL;
    }
    int fd = -1;
    if ((size_t)snprintf(o->tmp, sizeof o->tmp, "%s.tmp-XXXXXX", path) < sizeof o->tmp) fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        snprintf(err, err_size, "cannot write %s: %s", path, fd < 0 ? strerror(errno) : "out of memory");
        if (fd >= 0) close(fd), remove(o->tmp);
        o->tmp[0] = '\0';
        return false;
    }
    // mkstemp makes the file 0600; a log is as readable as any file the user's umask allows.
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~mask);
    return true;
}

bool outfile_commit(OutFile *o, char *err, size_t err_size) {
    if (!o->f) return false;
    bool ok = fflush(o->f) == 0 && !ferror(o->f);
    int saved = errno;
    if (o->tmp[0] && ok && fsync(fileno(o->f)) != 0) ok = false, saved = errno;
    if (fclose(o->f) != 0 && ok) ok = false, saved = errno;
    o->f = NULL;
    if (ok && o->tmp[0] && rename(o->tmp, o->path) != 0) ok = false, saved = errno;
    if (!ok) {
        snprintf(err, err_size, "cannot write %s: %s%s", o->path, strerror(saved),
                 o->tmp[0] ? " (the file, if it existed, is unchanged)" : "");
        if (o->tmp[0]) remove(o->tmp);
    }
    o->tmp[0] = '\0';
    return ok;
}

void outfile_abort(OutFile *o) {
    if (o->f) fclose(o->f);
    if (o->tmp[0]) remove(o->tmp);
    memset(o, 0, sizeof *o);
}

// The folder part resolved (it must exist), the last name kept as written.
static bool canonical(const char *path, char *out, size_t size) {
    char dir[PATH_MAX], resolved[PATH_MAX];
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    if (!realpath(dir, resolved)) return false;
    return (size_t)snprintf(out, size, "%s/%s", resolved, name) < size;
}

bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[PATH_MAX + 256], cb[PATH_MAX + 256];
    if (canonical(a, ca, sizeof ca) && canonical(b, cb, sizeof cb)) return strcmp(ca, cb) == 0;
    return strcmp(a, b) == 0;
}
