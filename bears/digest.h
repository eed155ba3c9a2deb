// digest.h — SHA-256 in hex (OpenSSL's libcrypto): how bears download knows a picture it already has
// under another URL, and how GET /model of bears serve says which model file answered.
#ifndef SGDLAB_BEARS_DIGEST_H
#define SGDLAB_BEARS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void sha256_hex(const uint8_t *bytes, size_t n, char hex[65]);
// The same for a whole file, read in pieces; false with err when it cannot be read.
bool sha256_file_hex(const char *path, char hex[65], char *err, size_t err_size);

#endif
