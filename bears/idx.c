// idx.c — parse IDX arrays; read .gz files with zlib.
#include "idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

bool idx_parse(const char *name, const uint8_t *bytes, size_t n, IdxArray *out, char *err, size_t err_size) {
    memset(out, 0, sizeof *out);
    if (n < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] < 1 ||
        bytes[3] > IDX_MAX_DIMS) {
        snprintf(err, err_size, "%s: not an IDX file of bytes with 1..%d dimensions", name, IDX_MAX_DIMS);
        return false;
    }
    out->dims = bytes[3];
    size_t header = 4 + 4 * (size_t)out->dims, count = 1;
    if (n < header) {
        snprintf(err, err_size, "%s: the file ends inside its header (%zu bytes)", name, n);
        return false;
    }
    for (int d = 0; d < out->dims; d++) {
        const uint8_t *p = bytes + 4 + 4 * d;
        out->size[d] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (out->size[d] == 0 || count > (n - header) / out->size[d]) { // checked before it can overflow
            snprintf(err, err_size, "%s: dimension %d of size %u does not fit in %zu bytes", name, d,
                     out->size[d], n);
            return false;
        }
        count *= out->size[d];
    }
    if (count != n - header) {
        snprintf(err, err_size, "%s: the sizes give %zu values but the file holds %zu", name, count,
                 n - header);
        return false;
    }
    out->values = bytes + header;
    out->count = count;
    return true;
}

bool idx_read_gz(const char *path, size_t max_bytes, uint8_t **bytes, size_t *n, char *err, size_t err_size) {
    *bytes = NULL, *n = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno ? errno : ENOMEM));
        return false;
    }
    size_t cap = 1 << 20, used = 0;
    uint8_t *buf = malloc(cap);
    bool ok = buf != NULL;
    while (ok) {
        if (used == cap) {
            if (cap >= max_bytes) {
                snprintf(err, err_size, "%s: larger than %zu MB once decompressed", path, max_bytes >> 20);
                ok = false;
                break;
            }
            cap *= 2;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                snprintf(err, err_size, "%s: out of memory", path);
                ok = false;
                break;
            }
            buf = grown;
        }
        int got = gzread(f, buf + used, (unsigned)(cap - used));
        if (got < 0) {
            int code;
            snprintf(err, err_size, "%s: %s", path, gzerror(f, &code));
            ok = false;
        } else if (got == 0) { // the end, or a stream cut short (zlib: Z_BUF_ERROR)
            int code;
            const char *why = gzerror(f, &code);
            if (code != Z_OK) {
                snprintf(err, err_size, "%s: the file is truncated or damaged", why); // why names the file
                ok = false;
            }
            break;
        }
        used += (size_t)(got > 0 ? got : 0);
    }
    gzclose(f);
    if (!ok) {
        free(buf);
        return false;
    }
    *bytes = buf, *n = used;
    return true;
}
