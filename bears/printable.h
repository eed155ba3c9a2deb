// printable.h — text from outside (a folder name, a URL, a line of a URL list) shown on a terminal.
// Every byte outside printable ASCII is written as \xNN, so what a stranger typed can never move the
// cursor, clear the screen or recolour it, and long text is cut with "...".
//
//     char shown[PRINTABLE_SIZE(40)];
//     printable(line, length, 40, shown);     // "http://a.com/\x1b[31mred"
#ifndef SGDLAB_BEARS_PRINTABLE_H
#define SGDLAB_BEARS_PRINTABLE_H

#include <stddef.h>

// Room for max_bytes input bytes at 4 characters each, "..." and the NUL.
#define PRINTABLE_SIZE(max_bytes) (4 * (max_bytes) + 4)

// Write the first max_bytes of s[0..n) into out (PRINTABLE_SIZE(max_bytes) bytes), escaped; "..." when
// cut. Returns out.
char *printable(const char *s, size_t n, size_t max_bytes, char *out);

#endif
