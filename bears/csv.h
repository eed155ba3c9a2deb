// csv.h — the small CSV files bears keeps beside a user's pictures: the trash journal, the download
// manifest, the cleaner's journal and its editable list. RFC 4180: a field holding a comma, a quote, CR or
// LF is quoted and its quotes doubled, so any file name (newlines included) reads back exactly as written.
//
//     csv_write_row(f, (const char *[]){"black/a,b.jpg", "moved"}, 2);   // "black/a,b.jpg",moved
//
//     CsvReader r = csv_reader(text, length);
//     CsvRow row = {0};
//     while ((status = csv_next_row(&r, &row, err, sizeof err)) > 0) ... row.fields[i] ...
//     csv_row_free(&row);                 // status 0: end of text; -1: malformed, err names the line
#ifndef SGDLAB_BEARS_CSV_H
#define SGDLAB_BEARS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

// Write fields[0..n) as one record ending in "\n". False when any write failed (check ferror too).
bool csv_write_row(FILE *f, const char *const *fields, int n);

typedef struct {
    const char *text;
    size_t length, pos;
    int line; // the line the next record starts on, 1-based, for messages
} CsvReader;

typedef struct {
    char **fields; // n NUL-terminated copies, owned by the row and reused by the next csv_next_row
    int n, capacity;
    int line; // the line this record started on
} CsvRow;

CsvReader csv_reader(const char *text, size_t length);
// Read the next record into row (blank lines are skipped). 1: a record; 0: end of text; -1: malformed
// (an unterminated quote, a quote inside an unquoted field, text after a closing quote, a NUL byte),
// with err naming the line.
int csv_next_row(CsvReader *r, CsvRow *row, char *err, size_t err_size);
void csv_row_free(CsvRow *row);

// The whole of a small file in memory, NUL-terminated (for csv_reader). NULL with err on failure or when
// the file is over max_bytes.
char *read_small_file(const char *path, size_t max_bytes, size_t *length, char *err, size_t err_size);

#endif
