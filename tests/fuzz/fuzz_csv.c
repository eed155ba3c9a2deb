// fuzz_csv.c — the CSV reader behind the trash journal, the download manifest and the cleaner's files:
// any bytes either read as records or fail with a message; every field is a NUL-terminated string.
#include <stdint.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    CsvReader r = csv_reader((const char *)data, size);
    CsvRow row = {0};
    char err[200];
    size_t total = 0;
    for (int status; (status = csv_next_row(&r, &row, err, sizeof err)) == 1;)
        for (int i = 0; i < row.n; i++) total += strlen(row.fields[i]);
    csv_row_free(&row);
    return total > size; // fields cannot hold more text than the input
}
