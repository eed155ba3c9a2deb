// printable.c — outside text escaped for a terminal.
#include "printable.h"

#include <stdio.h>

char *printable(const char *s, size_t n, size_t max_bytes, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n && i < max_bytes; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, 5, "\\x%02x", c);
    }
    if (n > max_bytes) out[k++] = '.', out[k++] = '.', out[k++] = '.';
    out[k] = '\0';
    return out;
}
