// csv.c — RFC 4180 records, written and read back exactly.
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool write_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) return fputs(s, f) >= 0;
    bool ok = fputc('"', f) != EOF;
    for (; *s && ok; s++) ok = (*s != '"' || fputc('"', f) != EOF) && fputc(*s, f) != EOF;
    return ok && fputc('"', f) != EOF;
}

bool csv_write_row(FILE *f, const char *const *fields, int n) {
    bool ok = true;
    for (int i = 0; i < n && ok; i++) ok = (i == 0 || fputc(',', f) != EOF) && write_field(f, fields[i]);
    return ok && fputc('\n', f) != EOF;
}

CsvReader csv_reader(const char *text, size_t length) {
    return (CsvReader){text, length, 0, 1};
}

// Append field text[start..end) with doubled quotes undone when quoted.
static bool push_field(CsvRow *row, const char *s, size_t n, bool quoted) {
    if (row->n == row->capacity) {
        int capacity = row->capacity ? 2 * row->capacity : 8;
        char **fields = realloc(row->fields, capacity * sizeof *fields);
        if (!fields) return false;
        for (int i = row->capacity; i < capacity; i++) fields[i] = NULL;
        row->fields = fields, row->capacity = capacity;
    }
    char *copy = realloc(row->fields[row->n], n + 1);
    if (!copy) return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        copy[k++] = s[i];
        if (quoted && s[i] == '"') i++; // "" inside quotes is one quote
    }
    copy[k] = '\0';
    row->fields[row->n++] = copy;
    return true;
}

int csv_next_row(CsvReader *r, CsvRow *row, char *err, size_t err_size) {
    const char *t = r->text;
    size_t len = r->length;
    while (r->pos < len && (t[r->pos] == '\n' || t[r->pos] == '\r')) r->line += t[r->pos++] == '\n';
    if (r->pos >= len) return 0;
    row->n = 0;
    row->line = r->line;
    for (;;) { // one field per turn
        size_t p = r->pos, start, end;
        bool quoted = p < len && t[p] == '"';
        const char *bad = NULL;
        if (quoted) {
            for (start = ++p;; p++) {
                if (p >= len) {
                    snprintf(err, err_size, "line %d: a quoted field is never closed", row->line);
                    return -1;
                }
                if (t[p] == '\0') break;
                if (t[p] == '\n') r->line++;
                if (t[p] == '"' && !(p + 1 < len && t[p + 1] == '"')) break;
                if (t[p] == '"') p++; // a doubled quote
            }
            end = p;
            if (t[p] == '\0')
                bad = "a NUL byte (this is not a text file)";
            else if (++p < len && t[p] != ',' && t[p] != '\n' && t[p] != '\r')
                bad = "text after a closing quote";
        } else {
            for (start = p; p < len && !strchr(",\n\r\"", t[p]); p++) {
            }
            end = p;
            if (p < len && t[p] == '"')
                bad = "a quote inside an unquoted field (quote the whole field)";
            else if (p < len && t[p] == '\0')
                bad = "a NUL byte (this is not a text file)";
        }
        if (bad) {
            snprintf(err, err_size, "line %d: %s", r->line, bad);
            return -1;
        }
        if (!push_field(row, t + start, end - start, quoted)) {
            snprintf(err, err_size, "line %d: out of memory", row->line);
            return -1;
        }
        r->pos = p;
        if (p < len && t[p] == ',') {
            r->pos++;
            continue;
        }
        if (p < len && t[p] == '\r') r->pos++;
        if (r->pos < len && t[r->pos] == '\n') r->pos++, r->line++;
        return 1;
    }
}

void csv_row_free(CsvRow *row) {
    for (int i = 0; i < row->capacity; i++) free(row->fields[i]);
    free(row->fields);
    *row = (CsvRow){0};
}

char *read_small_file(const char *path, size_t max_bytes, size_t *length, char *err, size_t err_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n > max_bytes) {
            snprintf(err, err_size, "%s is over %zu bytes; is it the right file?", path, max_bytes);
            free(buf), buf = NULL;
            break;
        }
        if (n == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) free(buf);
            buf = bigger, cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
        free(buf), buf = NULL;
    } else if (!buf && n <= max_bytes) {
        snprintf(err, err_size, "out of memory reading %s", path);
    }
    fclose(f);
    if (buf) buf[n] = '\0', *length = n;
    return buf;
}
