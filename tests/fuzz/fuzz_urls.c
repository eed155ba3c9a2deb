// fuzz_urls.c — the URL-list parser behind `bears download`: any bytes become URLs to fetch or counted
// skipped lines, never a crash. Checked as well: every line is accounted for exactly once, the URLs
// come in file order, no URL is kept twice, and a data: URL always holds some bytes.
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "urls.h"

static int by_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    UrlList list;
    if (!url_list_parse((const char *)data, size, &list)) return 0; // out of memory is an answer too
    bool sound = list.n + list.n_blank + list.n_comment + list.n_duplicate + list.n_malformed == list.n_lines;
    char **urls = malloc(sizeof(char *) * (size_t)(list.n + 1));
    for (int i = 0; i < list.n; i++) {
        const UrlEntry *e = &list.entries[i];
        sound = sound && e->url[0] && (i == 0 || e->line > list.entries[i - 1].line) &&
                (strncmp(e->url, "data:", 5) != 0 || (e->data && e->data_size > 0));
        urls[i] = e->url;
    }
    qsort(urls, (size_t)list.n, sizeof *urls, by_text);
    for (int i = 1; i < list.n; i++) sound = sound && strcmp(urls[i - 1], urls[i]) != 0;
    free(urls);
    url_list_free(&list);
    if (!sound) __builtin_trap();
    return 0;
}
