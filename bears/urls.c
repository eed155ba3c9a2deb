// urls.c — reading a URL file line by line: each line is a URL, or a counted reason to skip it.
#include "urls.h"

#include <curl/curl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "printable.h"

typedef enum { LINE_BLANK, LINE_COMMENT, LINE_URL, LINE_MALFORMED, LINE_NO_MEMORY } LineKind;

static LineKind malformed(char *reason, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, size, fmt, ap);
    va_end(ap);
    return LINE_MALFORMED;
}

// Base64 through OpenSSL's decoder, which checks the alphabet and the padding. NULL when it does not
// decode; *no_memory tells that case apart.
static uint8_t *decode_base64(const char *s, size_t n, size_t *size, bool *no_memory) {
    *no_memory = false;
    if (n > INT_MAX) return NULL;
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    uint8_t *out = malloc(n / 4 * 3 + 1); // 3 bytes for every 4 characters, at most
    if (!ctx || !out) {
        *no_memory = true;
        EVP_ENCODE_CTX_free(ctx), free(out);
        return NULL;
    }
    int got = 0, tail = 0;
    EVP_DecodeInit(ctx);
    bool ok = EVP_DecodeUpdate(ctx, out, &got, (const unsigned char *)s, (int)n) >= 0 &&
              EVP_DecodeFinal(ctx, out + got, &tail) == 1;
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        free(out);
        return NULL;
    }
    *size = (size_t)got + (size_t)tail;
    return out;
}

// data:image/<type>;base64,<bytes>: the only data: URLs that can hold a picture we decode.
static LineKind parse_data_url(const char *s, size_t n, UrlEntry *e, char *reason, size_t reason_size) {
    const char *comma = memchr(s, ',', n);
    size_t head = comma ? (size_t)(comma - s) : 0;
    char shown[PRINTABLE_SIZE(30)];
    if (!comma || head < strlen("data:image/;base64") || strncasecmp(s + 5, "image/", 6) != 0 ||
        strncasecmp(comma - 7, ";base64", 7) != 0)
        return malformed(reason, reason_size, "a data: URL that is not data:image/...;base64,...: %s",
                         printable(s, n, 30, shown));
    bool no_memory;
    e->data = decode_base64(comma + 1, n - head - 1, &e->data_size, &no_memory);
    if (no_memory) return LINE_NO_MEMORY;
    if (!e->data) return malformed(reason, reason_size, "a data: URL whose base64 does not decode");
    if (e->data_size == 0) {
        free(e->data), e->data = NULL;
        return malformed(reason, reason_size, "an empty data: URL");
    }
    if (!(e->url = strndup(s, n))) {
        free(e->data), e->data = NULL;
        return LINE_NO_MEMORY;
    }
    return LINE_URL;
}

// libcurl's URL parser decides what is a URL, so the list accepts exactly what the download can fetch.
static LineKind parse_http_url(const char *s, size_t n, UrlEntry *e, char *reason, size_t reason_size) {
    if (n > URL_MAX_LENGTH) // libcurl would take it, then fail with "out of memory"; servers refuse far less
        return malformed(reason, reason_size, "a URL of %zu characters (at most %d)", n, URL_MAX_LENGTH);
    // Pages write "//host/a.jpg" for "same scheme as this page"; search pages are https.
    const char *prefix = n >= 2 && s[0] == '/' && s[1] == '/' ? "https:" : "";
    size_t prefix_len = strlen(prefix);
    char *text = malloc(prefix_len + n + 1);
    CURLU *u = curl_url();
    char *scheme = NULL, *normal = NULL, shown[PRINTABLE_SIZE(40)];
    LineKind kind = LINE_NO_MEMORY;
    if (!text || !u) goto done;
    memcpy(text, prefix, prefix_len);
    memcpy(text + prefix_len, s, n);
    text[prefix_len + n] = '\0';
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, text, 0);
    if (rc == CURLUE_OUT_OF_MEMORY) goto done;
    if (rc != CURLUE_OK) {
        kind = malformed(reason, reason_size, "not a URL (%s): %s", curl_url_strerror(rc),
                         printable(text, strlen(text), 40, shown));
        goto done;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &normal, 0) != CURLUE_OK)
        goto done;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        kind = malformed(reason, reason_size, "a %s: URL; only http and https are fetched", scheme);
        goto done;
    }
    if ((e->url = strdup(normal))) kind = LINE_URL;
done:
    curl_free(scheme), curl_free(normal), curl_url_cleanup(u), free(text);
    return kind;
}

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static LineKind parse_line(const char *s, size_t n, UrlEntry *e, char *reason, size_t reason_size) {
    while (n && is_blank(*s)) s++, n--;
    while (n && is_blank(s[n - 1])) n--;
    if (n == 0) return LINE_BLANK;
    if (s[0] == '#') return LINE_COMMENT;
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) { // a list saved as CSV quotes them
        s++, n -= 2;
        while (n && is_blank(*s)) s++, n--;
        while (n && is_blank(s[n - 1])) n--;
        if (n == 0) return malformed(reason, reason_size, "nothing between the quotes");
    }
    if (memchr(s, '\0', n)) return malformed(reason, reason_size, "a NUL byte (is this a text file?)");
    if (n >= 5 && strncasecmp(s, "data:", 5) == 0) return parse_data_url(s, n, e, reason, reason_size);
    return parse_http_url(s, n, e, reason, reason_size);
}

typedef struct {
    UrlSkip items[URL_SKIPS_KEPT];
    int n;
} SkipList;

static void keep_skip(SkipList *list, int line, int same_as, const char *reason) {
    if (list->n == URL_SKIPS_KEPT) return;
    UrlSkip *k = &list->items[list->n++];
    k->line = line, k->same_as = same_as;
    snprintf(k->reason, sizeof k->reason, "%s", reason);
}

static int by_url_then_line(const void *a, const void *b) {
    const UrlEntry *x = *(const UrlEntry *const *)a, *y = *(const UrlEntry *const *)b;
    int c = strcmp(x->url, y->url);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

// Drop every copy of a URL after its first: sorted by URL, the copies sit side by side. The entries
// themselves stay in file order, so the skips are noted in file order too.
static bool drop_duplicates(UrlList *list, SkipList *dups) {
    int n = list->n;
    const UrlEntry **sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    int *first_line = calloc((size_t)(n ? n : 1), sizeof *first_line); // 0: keep; else the first copy's line
    if (!sorted || !first_line) {
        free(sorted), free(first_line);
        return false;
    }
    for (int i = 0; i < n; i++) sorted[i] = &list->entries[i];
    qsort(sorted, (size_t)n, sizeof *sorted, by_url_then_line);
    for (int i = 1, first = 0; i < n; i++) {
        if (strcmp(sorted[i]->url, sorted[first]->url) != 0)
            first = i;
        else
            first_line[sorted[i] - list->entries] = sorted[first]->line;
    }
    int kept = 0;
    for (int i = 0; i < n; i++) {
        UrlEntry *e = &list->entries[i];
        if (first_line[i]) {
            list->n_duplicate++;
            keep_skip(dups, e->line, first_line[i], "");
            free(e->url), free(e->data);
        } else {
            list->entries[kept++] = *e;
        }
    }
    list->n = kept;
    free(sorted), free(first_line);
    return true;
}

bool url_list_parse(const char *text, size_t length, UrlList *list) {
    *list = (UrlList){0};
    SkipList bad = {0}, dups = {0};
    size_t pos = length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; // a UTF-8 byte order mark
    int capacity = 0;
    while (pos < length) {
        const char *start = text + pos, *newline = memchr(start, '\n', length - pos);
        size_t n = newline ? (size_t)(newline - start) : length - pos;
        pos += n + (newline != NULL);
        int line = ++list->n_lines;
        UrlEntry e = {.line = line};
        char reason[sizeof bad.items[0].reason];
        switch (parse_line(start, n, &e, reason, sizeof reason)) {
        case LINE_BLANK:
            list->n_blank++;
            continue;
        case LINE_COMMENT:
            list->n_comment++;
            continue;
        case LINE_MALFORMED:
            list->n_malformed++;
            keep_skip(&bad, line, 0, reason);
            continue;
        case LINE_NO_MEMORY:
            url_list_free(list);
            return false;
        case LINE_URL:
            break;
        }
        if (list->n == capacity) {
            int bigger = capacity ? 2 * capacity : 64;
            UrlEntry *grown = realloc(list->entries, (size_t)bigger * sizeof *grown);
            if (!grown) {
                free(e.url), free(e.data);
                url_list_free(list);
                return false;
            }
            list->entries = grown, capacity = bigger;
        }
        list->entries[list->n++] = e;
    }
    if (!drop_duplicates(list, &dups)) {
        url_list_free(list);
        return false;
    }
    // The first URL_SKIPS_KEPT skips of both kinds, merged back into file order.
    for (int i = 0, j = 0; list->n_skips < URL_SKIPS_KEPT && (i < bad.n || j < dups.n);)
        list->skips[list->n_skips++] = j == dups.n || (i < bad.n && bad.items[i].line < dups.items[j].line)
                                           ? bad.items[i++]
                                           : dups.items[j++];
    return true;
}

void url_list_free(UrlList *list) {
    for (int i = 0; i < list->n; i++) free(list->entries[i].url), free(list->entries[i].data);
    free(list->entries);
    *list = (UrlList){0};
}
