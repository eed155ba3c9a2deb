// test_csv.c — the journal/manifest CSV reads back exactly what was written, whatever a file name holds,
// and malformed text is refused with its line number instead of being half read. Also the path helpers
// the journal's moves name files with (trash.h).
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csv.h"
#include "trash.h"

// path_folder and path_base split a path at its last slash, whatever is on either side of it.
static void paths(void) {
    const struct {
        const char *path, *folder, *base;
    } cases[] = {{"data/black/0007.jpg", "data/black", "0007.jpg"},
                 {"m.safetensors", ".", "m.safetensors"},
                 {"/m.safetensors", "/", "m.safetensors"},
                 {"./m", ".", "m"},
                 {"a//b", "a/", "b"},
                 {"dir/", "dir", ""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char folder[64];
        CHECK(path_folder(cases[i].path, folder, sizeof folder) && strcmp(folder, cases[i].folder) == 0,
              "path_folder(%s) = %s, expected %s", cases[i].path, folder, cases[i].folder);
        CHECK(strcmp(path_base(cases[i].path), cases[i].base) == 0, "path_base(%s) = %s, expected %s",
              cases[i].path, path_base(cases[i].path), cases[i].base);
    }
    char small[8];
    CHECK(!path_folder("a-long-folder/name", small, sizeof small), "a folder that does not fit is refused");
    CHECK(path_folder("1234567/x", small, sizeof small) && strcmp(small, "1234567") == 0,
          "a folder that just fits is kept");
}

static void round_trip(void) {
    const char *names[] = {"black/plain.jpg",      "black/a,b.jpg",       "grizzly/say \"hi\".png",
                           "teddy/two\nlines.jpg", "teddy/cr\r\nlf.webp", ""};
    enum { N = sizeof names / sizeof names[0] };
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    for (int i = 0; i < N; i++) CHECK(csv_write_row(f, (const char *[]){names[i], "moved"}, 2), "row %d", i);
    fclose(f);
    CsvReader r = csv_reader(buf, size);
    CsvRow row = {0};
    char err[200];
    int got = 0;
    // The empty name makes a record ",moved": still two fields.
    for (int status; (status = csv_next_row(&r, &row, err, sizeof err)) == 1; got++) {
        CHECK(row.n == 2, "record %d has %d fields", got, row.n);
        if (got < N && row.n == 2) {
            CHECK(strcmp(row.fields[0], names[got]) == 0, "record %d reads back as '%s'", got, row.fields[0]);
            CHECK(strcmp(row.fields[1], "moved") == 0, "second field '%s'", row.fields[1]);
        }
    }
    CHECK(got == N, "%d records read back, %d written", got, N);
    csv_row_free(&row);
    free(buf);
}

static void expect_error(const char *text, const char *words, int line) {
    CsvReader r = csv_reader(text, strlen(text));
    CsvRow row = {0};
    char err[200] = "";
    int status;
    while ((status = csv_next_row(&r, &row, err, sizeof err)) == 1) {
    }
    char want[40];
    snprintf(want, sizeof want, "line %d:", line);
    CHECK(status == -1 && strstr(err, words) && strstr(err, want), "'%s' gave %d, '%s'", text, status, err);
    csv_row_free(&row);
}

int main(void) {
    paths();
    round_trip();
    expect_error("a,b\n\"open,field\n", "never closed", 2);
    expect_error("a,b\nc\"d,e\n", "quote inside", 2);
    expect_error("\"x\"y,z\n", "after a closing quote", 1);
    // A NUL byte cannot come from a text editor: refuse instead of reading a cut-short name.
    CsvReader r = csv_reader("a\0b\n", 4);
    CsvRow row = {0};
    char err[200] = "";
    CHECK(csv_next_row(&r, &row, err, sizeof err) == -1 && strstr(err, "NUL"), "NUL byte: '%s'", err);
    csv_row_free(&row);
    // Blank lines and CRLF endings are fine.
    const char *crlf = "a,b\r\n\r\n\nc,d\r\n";
    r = csv_reader(crlf, strlen(crlf));
    int rows = 0;
    while (csv_next_row(&r, &row, err, sizeof err) == 1) rows += row.n == 2;
    CHECK(rows == 2 && row.line == 4, "CRLF text: %d rows, last on line %d", rows, row.line);
    csv_row_free(&row);
    return check_done("test_csv");
}
