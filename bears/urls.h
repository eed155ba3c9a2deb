// urls.h — the list of picture addresses `bears download` reads: what the lesson's browser snippet saves.
//
// The snippet, pasted into the browser's console on an image search page, collects the address of every
// picture on the page and saves them as a text file, one per line. Such files are messy: blank lines, a
// "null" where a picture had no address, the same picture twice, Windows line ends, search thumbnails
// inlined as data:image/jpeg;base64,... A bad line crashed fastai's download_images; here every line is
// either a URL to fetch or a counted reason to skip it, never an error.
//
//     UrlList list;
//     if (!url_list_parse(text, length, &list)) ... out of memory ...
//     for (int i = 0; i < list.n; i++) list.entries[i].url ...        // in file order, no duplicates
//     printf("%d malformed\n", list.n_malformed);
//     url_list_free(&list);
//
// http(s) addresses are checked and normalised by libcurl's own URL parser (the one that will fetch
// them), so "HTTP://Example.com:80/a.jpg" and "http://example.com/a.jpg" count as one picture.
#ifndef SGDLAB_BEARS_URLS_H
#define SGDLAB_BEARS_URLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *url;     // normalised http(s) URL, or the data: URL as written (without spaces)
    int line;      // 1-based line in the file, for messages
    uint8_t *data; // data: URLs only: the decoded bytes (NULL for http)
    size_t data_size;
} UrlEntry;

enum {
    URL_SKIPS_KEPT = 20,    // reasons kept for the first malformed / duplicate lines, the rest counted
    URL_MAX_LENGTH = 16384, // longer http(s) lines are malformed (data: URLs may be any length)
};

typedef struct {
    int line;
    int same_as;      // duplicates: the line of the first copy; 0 for malformed lines
    char reason[240]; // malformed lines: why ("not a URL: ...", "ftp:// is not http or https", ...)
} UrlSkip;

typedef struct {
    UrlEntry *entries; // n URLs to fetch, in file order
    int n;
    int n_lines, n_blank, n_comment, n_duplicate, n_malformed;
    UrlSkip skips[URL_SKIPS_KEPT]; // the first n_skips malformed or duplicate lines, in file order
    int n_skips;
} UrlList;

// Parse the text of a URL file (any bytes). False only when memory runs out (list is then empty).
bool url_list_parse(const char *text, size_t length, UrlList *list);
void url_list_free(UrlList *list);

#endif
