// idx.h — the IDX files of MNIST and Fashion-MNIST: arrays of bytes with their shape.
//
//     4 bytes   magic: 0, 0, type (0x08 = unsigned byte), number of dimensions d
//     4*d bytes each dimension's size, big-endian
//     the rest  the values, row-major (images: count x rows x cols; labels: count)
// Parsing trusts nothing: a bad magic, a short or over-long file, or sizes whose product does not fit
// are errors with a message, never a read past the end.
#ifndef SGDLAB_BEARS_IDX_H
#define SGDLAB_BEARS_IDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { IDX_MAX_DIMS = 3 };

typedef struct {
    int dims;
    uint32_t size[IDX_MAX_DIMS];
    const uint8_t *values; // points into the parsed bytes
    size_t count;          // number of values (the product of the sizes)
} IdxArray;

// Parse bytes[0..n) (the decompressed file); name is for messages.
bool idx_parse(const char *name, const uint8_t *bytes, size_t n, IdxArray *out, char *err, size_t err_size);
// Read a whole .gz (or plain) file into memory through zlib, at most max_bytes; *bytes is malloc'd.
bool idx_read_gz(const char *path, size_t max_bytes, uint8_t **bytes, size_t *n, char *err, size_t err_size);

#endif
