// digest.c — SHA-256 through OpenSSL's EVP interface, printed as 64 hex digits.
#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void to_hex(const unsigned char *digest, char hex[65]) {
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

void sha256_hex(const uint8_t *bytes, size_t n, char hex[65]) {
    unsigned char digest[EVP_MAX_MD_SIZE] = {0};
    unsigned int length = 0;
    EVP_Digest(bytes, n, digest, &length, EVP_sha256(), NULL);
    to_hex(digest, hex);
}

bool sha256_file_hex(const char *path, char hex[65], char *err, size_t err_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[1 << 16], digest[EVP_MAX_MD_SIZE];
    unsigned int n_digest = 0;
    for (size_t n; ok && (n = fread(buf, 1, sizeof buf, f)) > 0;) ok = EVP_DigestUpdate(ctx, buf, n);
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, digest, &n_digest) && n_digest == 32;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (ok)
        to_hex(digest, hex);
    else
        snprintf(err, err_size, "cannot hash %s", path);
    return ok;
}
