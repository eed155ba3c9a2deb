// outfile.h — writing a file the user named (a --log CSV, a manifest) without ever losing what was there.
//
// The new content goes to a temporary file beside the old one and is renamed over it only once every byte
// was written and flushed, so a run that fails early, a full disk or a crash leaves the old file as it
// was. Every write error is caught: stdio keeps a sticky error flag, and outfile_commit() checks it, the
// flush and the close, so a log that could not be written is a message and exit 1, never a silent 0 bytes.
// A path that is not a regular file (/dev/stdout, a pipe, /dev/full) is written directly: no temp file
// is ever put beside a device, and its write errors are reported the same way.
//
//     OutFile log;
//     if (!outfile_open(&log, "run.csv", err, sizeof err)) { ... }   // nothing touched yet
//     fprintf(log.f, "step,loss\n");                                  // errors are checked at commit
//     if (!outfile_commit(&log, err, sizeof err)) { ... exit 1 }      // run.csv replaced, or untouched
#ifndef SGDLAB_OUTFILE_H
#define SGDLAB_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char path[4096], tmp[4096]; // tmp is "" when writing directly
} OutFile;

bool outfile_open(OutFile *o, const char *path, char *err, size_t err_size);
// Flush, check, close and rename into place. On failure the temp file is removed and err says why.
bool outfile_commit(OutFile *o, char *err, size_t err_size);
// Give up: the temp file is removed, the user's file is left as it was. Safe on an unopened OutFile.
void outfile_abort(OutFile *o);

// True when a and b name the same file (both existing: same inode; else the same folder and name), so
// `--log m.safetensors --model m.safetensors` can be refused before either is written.
bool same_file(const char *a, const char *b);

#endif
