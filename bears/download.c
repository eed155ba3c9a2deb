// download.c — `bears download URLS DEST`: the lesson's download_images(urls, dest, max_pics=200).
//
// The lesson's step two: the browser snippet saved the addresses of an image search's results, one per
// line; now fetch them onto the machine that trains. Several at once (libcurl's multi interface; fastai
// used worker processes), or one at a time with every failure printed in full (fastai's max_workers=0,
// what the lesson suggests when pictures do not arrive). Whatever a server sends is only kept when it
// decodes as a picture with the decoder `bears verify` and training use; it is named by a counter and
// its real format (00000007.webp, even when the URL said .jpg).
//
// DEST/.sgdlab-downloads.csv (url,file,status,bytes,sha256) records every URL tried, one line written
// and flushed as each one finishes, so a run stopped half way loses nothing: the next run skips what is
// there and tries the failures again. A file is never overwritten (link() refuses an existing name), and
// a picture already stored under another URL (same sha256) is not stored twice.
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "digest.h"
#include "image.h"
#include "learner.h"
#include "printable.h"
#include "trash.h"
#include "urls.h"

enum {
    MAX_WORKERS = 64,
    MAX_REDIRECTS = 8, // a chain longer than this is almost always a loop
};
#define MANIFEST_NAME      ".sgdlab-downloads.csv"
#define MAX_LIST_BYTES     (256u << 20) // the URL file, data: thumbnails included
#define MAX_MANIFEST_BYTES (256u << 20)
static const char *const manifest_columns[5] = {"url", "file", "status", "bytes", "sha256"};

// ---- the manifest: what earlier runs (and this one) already have ----

typedef struct {
    char *url, *file;
    char sha256[65];
    bool stored; // "ok": this row's bytes are stored in file; else "duplicate" of file
} Record;

typedef struct {
    FILE *f; // open for appending
    char path[4096];
    Record *records; // ok and duplicate rows; failures are tried again and need no record
    int n, capacity;
    int highest_number; // the largest counter among DEST's files and the manifest's, for new names
} Manifest;

static bool add_record(Manifest *m, const char *url, const char *file, const char *sha256, bool stored) {
    if (m->n == m->capacity) {
        int capacity = m->capacity ? 2 * m->capacity : 64;
        Record *grown = realloc(m->records, (size_t)capacity * sizeof *grown);
        if (!grown) return false;
        m->records = grown, m->capacity = capacity;
    }
    Record *r = &m->records[m->n];
    r->url = strdup(url), r->file = strdup(file), r->stored = stored;
    snprintf(r->sha256, sizeof r->sha256, "%s", sha256);
    if (!r->url || !r->file) {
        free(r->url), free(r->file);
        return false;
    }
    m->n++;
    return true;
}

// Linear searches: a class folder holds hundreds of pictures, so a scan is as fast as anything else.
static const Record *find_url(const Manifest *m, const char *url) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->records[i].url, url) == 0) return &m->records[i];
    return NULL;
}

static const Record *find_picture(const Manifest *m, const char *sha256) {
    for (int i = 0; i < m->n; i++)
        if (m->records[i].stored && strcmp(m->records[i].sha256, sha256) == 0) return &m->records[i];
    return NULL;
}

static int counter_of(const char *name) { // 00000042.png -> 42; 0 for names that are not ours
    int n = 0, digits = 0;
    for (; name[digits] >= '0' && name[digits] <= '9' && digits < 9; digits++)
        n = 10 * n + name[digits] - '0';
    return digits ? n : 0;
}

static bool is_sha256(const char *s) {
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

// The rows of an existing manifest: ok and duplicate rows become records. False with why on anything
// that is not a manifest of ours.
static bool read_rows(Manifest *m, const char *text, size_t length, bool *header_seen, char *why,
                      size_t why_size) {
    CsvReader r = csv_reader(text, length);
    CsvRow row = {0};
    int status;
    bool ok = true, header = true;
    *header_seen = false;
    while (ok && (status = csv_next_row(&r, &row, why, why_size)) == 1) {
        if (header) {
            for (int i = 0; i < 5; i++)
                ok = ok && row.n == 5 && strcmp(row.fields[i], manifest_columns[i]) == 0;
            if (!ok)
                snprintf(why, why_size, "line %d: not the header url,file,status,bytes,sha256", row.line);
            header = false, *header_seen = ok;
            continue;
        }
        if (row.n != 5) {
            snprintf(why, why_size, "line %d: %d fields, wanted 5", row.line, row.n);
            ok = false;
            continue;
        }
        bool stored = strcmp(row.fields[2], "ok") == 0, duplicate = strcmp(row.fields[2], "duplicate") == 0;
        if ((stored || duplicate) && !is_sha256(row.fields[4])) {
            snprintf(why, why_size, "line %d: '%.70s' is not a sha256", row.line, row.fields[4]);
            ok = false;
            continue;
        }
        int number = counter_of(row.fields[1]);
        if (number > m->highest_number) m->highest_number = number;
        if ((stored || duplicate) && !add_record(m, row.fields[0], row.fields[1], row.fields[4], stored))
            snprintf(why, why_size, "out of memory"), ok = false;
    }
    csv_row_free(&row);
    return ok && status == 0;
}

// Replace the manifest by its first `length` bytes, through a temporary file and rename, so a crash
// now leaves either the old manifest or the new one.
static bool rewrite(const char *path, const char *text, size_t length, char *err, size_t err_size) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    bool ok = f && fwrite(text, 1, length, f) == length && fflush(f) == 0 && fsync(fd) == 0;
    ok = (!f || fclose(f) == 0) && ok && rename(tmp, path) == 0;
    if (!ok) {
        snprintf(err, err_size, "cannot rewrite %s: %s", path, strerror(errno));
        if (fd >= 0) unlink(tmp); // our own temporary copy
    }
    return ok;
}

// Read DEST's manifest (refusing, and changing nothing, when it is not one of ours), then open it for
// appending, with its header when it is new.
static bool manifest_open(Manifest *m, const char *dest, char *err, size_t err_size) {
    *m = (Manifest){0};
    snprintf(m->path, sizeof m->path, "%s/%s", dest, MANIFEST_NAME);
    bool header_seen = false;
    if (access(m->path, F_OK) == 0) {
        size_t length;
        char *text = read_small_file(m->path, MAX_MANIFEST_BYTES, &length, err, err_size);
        if (!text) return false;
        // A run killed in the middle of a line leaves it unfinished; it is dropped below.
        size_t whole = length;
        while (whole && text[whole - 1] != '\n') whole--;
        char why[300] = "";
        bool ok = read_rows(m, text, whole, &header_seen, why, sizeof why);
        if (!ok)
            snprintf(err, err_size,
                     "%s is not a download manifest this version can read (%s); move it away to "
                     "start afresh",
                     m->path, why);
        else if (whole < length)
            ok = rewrite(m->path, text, whole, err, err_size);
        free(text);
        if (!ok) return false;
    }
    DIR *d = opendir(dest);
    for (struct dirent *e; d && (e = readdir(d));)
        if (counter_of(e->d_name) > m->highest_number) m->highest_number = counter_of(e->d_name);
    if (d) closedir(d);
    m->f = fopen(m->path, "a");
    bool ok = m->f && (header_seen || csv_write_row(m->f, manifest_columns, 5)) && fflush(m->f) == 0;
    if (!ok) snprintf(err, err_size, "cannot write %s: %s", m->path, strerror(errno));
    return ok;
}

// One row per URL, flushed to the disk before the next one starts, so an interrupted run keeps it.
static bool manifest_append(Manifest *m, const char *url, const char *file, const char *status, size_t bytes,
                            const char *sha256) {
    char size[32];
    snprintf(size, sizeof size, "%zu", bytes);
    return csv_write_row(m->f, (const char *[]){url, file, status, size, sha256}, 5) && fflush(m->f) == 0 &&
           fsync(fileno(m->f)) == 0;
}

static bool manifest_close(Manifest *m) {
    bool ok = !m->f || fclose(m->f) == 0;
    for (int i = 0; i < m->n; i++) free(m->records[i].url), free(m->records[i].file);
    free(m->records);
    return ok;
}

// ---- storing a picture ----

// Write the bytes under a temporary name, then link them to the first free NNNNNNNN.ext: link() fails
// on an existing name instead of replacing it, so no file of DEST is ever overwritten, and a crash half
// way leaves a hidden .sgdlab-part-* file, never a half picture under a real name.
static bool store_picture(const char *dest, Manifest *m, const char *ext, const uint8_t *bytes, size_t n,
                          char *name, size_t name_size, char *err, size_t err_size) {
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.sgdlab-part-XXXXXX", dest);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, err_size, "cannot create a file in %s: %s", dest, strerror(errno));
        return false;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t wrote = write(fd, bytes + done, n - done);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) break;
        done += (size_t)wrote;
    }
    bool ok = done == n && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) snprintf(err, err_size, "cannot write %s: %s", tmp, strerror(errno));
    while (ok) {
        snprintf(name, name_size, "%08d.%s", ++m->highest_number, ext);
        snprintf(path, sizeof path, "%s/%s", dest, name);
        if (link(tmp, path) == 0) break;
        if (errno != EEXIST) {
            snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
            ok = false;
        }
    }
    unlink(tmp); // our own temporary name: the bytes stay under the picture's name
    return ok;
}

// ---- one URL's outcome ----

typedef enum {
    GOT_PICTURE,
    GOT_DUPLICATE,
    FAIL_HTTP,
    FAIL_TIMEOUT,
    FAIL_TOO_BIG,
    FAIL_NOT_PICTURE,
    FAIL_REDIRECTS,
    FAIL_CONNECT,
    FAIL_OTHER,
    N_OUTCOMES
} Outcome;
static const char *const outcome_names[N_OUTCOMES] = {"new pictures",  "duplicates",        "HTTP errors",
                                                      "timed out",     "too big",           "not a picture",
                                                      "bad redirects", "could not connect", "other errors"};

typedef struct {
    const char *dest, *list_path;
    int workers, max, max_bytes;
    float timeout;
    bool full_errors; // --workers 0
    bool tty;         // stdout is a terminal: a live progress bar under the per-URL lines
    char user_agent[128];
    UrlList list;
    Manifest manifest;
    int counts[N_OUTCOMES];
    int had, had_duplicates; // pictures (and duplicates) an earlier run already got
    size_t bytes_kept, bytes_in_flight;
    int in_flight;
    double t0, last_bar;
    int n_examined; // list entries looked at; the rest were not needed (--max reached)
    bool manifest_failed;
} Run;

static const char *human_bytes(size_t n, char buf[32]) {
    if (n < 1000000)
        snprintf(buf, 32, "%.1f KB", (double)n / 1e3);
    else
        snprintf(buf, 32, "%.1f MB", (double)n / 1e6);
    return buf;
}

static int pictures(const Run *r) {
    return r->had + r->counts[GOT_PICTURE];
}

static int failures(const Run *r) {
    int n = 0;
    for (int o = FAIL_HTTP; o < N_OUTCOMES; o++) n += r->counts[o];
    return n;
}

static void clear_bar(const Run *r) {
    if (r->tty) fputs("\r\033[K", stdout);
}

static void draw_bar(Run *r, bool force) {
    double now = now_seconds();
    if (!r->tty || (!force && now - r->last_bar < 0.1)) return;
    r->last_bar = now;
    enum { WIDTH = 30 };
    int filled = pictures(r) * WIDTH / r->max;
    printf("\r\033[K[");
    for (int i = 0; i < WIDTH; i++) putchar(i < filled ? '#' : '.');
    char size[32];
    printf("] %d/%d pictures, %d failed, %s, %d downloading, %.0fs", pictures(r), r->max, failures(r),
           human_bytes(r->bytes_kept + r->bytes_in_flight, size), r->in_flight, now - r->t0);
    fflush(stdout);
}

// URLs come from strangers' pages: shown escaped, and a data: URL (a whole picture) by its start.
static void report(Run *r, const UrlEntry *e, const char *what, const char *detail) {
    char url[PRINTABLE_SIZE(80)];
    clear_bar(r);
    printf("%5d/%-5d %-14s %-32s %s\n", pictures(r), r->max, what, detail,
           printable(e->url, strlen(e->url), 80, url));
    fflush(stdout);
    draw_bar(r, true);
}

static void record(Run *r, const UrlEntry *e, const char *file, const char *status, size_t bytes,
                   const char *sha256) {
    if (!manifest_append(&r->manifest, e->url, file, status, bytes, sha256) && !r->manifest_failed) {
        clear_bar(r);
        fprintf(stderr, "bears download: cannot write %s: %s; stopping\n", r->manifest.path, strerror(errno));
        r->manifest_failed = true;
    }
}

// A failure: one line with the short reason; with --workers 0 also everything known about it.
static void failed(Run *r, const UrlEntry *e, Outcome o, const char *reason, const char *full) {
    r->counts[o]++;
    report(r, e, "FAILED", reason);
    if (r->full_errors && full && full[0]) {
        clear_bar(r);
        printf("%s", full);
        draw_bar(r, true);
    }
    record(r, e, "", reason, 0, "");
}

// Bytes that arrived (from a server or a data: URL): keep them if they decode as a picture.
static void take(Run *r, const UrlEntry *e, const uint8_t *bytes, size_t n, const char *content_type) {
    Image img;
    char why[256], detail[160], full[400];
    if (!image_decode(bytes, n, &img, why, sizeof why)) {
        snprintf(detail, sizeof detail, "not a picture%s%s%s", content_type ? " (" : "",
                 content_type ? content_type : "", content_type ? ")" : "");
        snprintf(full, sizeof full, "    received %zu bytes%s%s; the decoder says: %s\n", n,
                 content_type ? " of " : "", content_type ? content_type : "", why);
        failed(r, e, FAIL_NOT_PICTURE, detail, full);
        return;
    }
    ImageFormat format = image_sniff(bytes, n);
    char ext[16], sha[65], name[64];
    snprintf(ext, sizeof ext, "%s", image_format_name(format));
    for (char *c = ext; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    char size[32];
    snprintf(detail, sizeof detail, "%dx%d %s %s", img.width, img.height, image_format_name(format),
             human_bytes(n, size));
    image_free(&img);
    sha256_hex(bytes, n, sha);
    const Record *same = find_picture(&r->manifest, sha);
    if (same) {
        char file[64];
        snprintf(file, sizeof file, "%s", same->file);
        r->counts[GOT_DUPLICATE]++;
        snprintf(detail, sizeof detail, "same picture as %s", file);
        report(r, e, "duplicate", detail);
        record(r, e, file, "duplicate", n, sha);
        if (!add_record(&r->manifest, e->url, file, sha, false)) r->manifest_failed = true;
        return;
    }
    char store_err[9000]; // names a path
    if (!store_picture(r->dest, &r->manifest, ext, bytes, n, name, sizeof name, store_err,
                       sizeof store_err)) {
        failed(r, e, FAIL_OTHER, "cannot store", NULL);
        clear_bar(r);
        fprintf(stderr, "bears download: %s\n", store_err); // a full disk matters in every mode
        draw_bar(r, true);
        return;
    }
    r->counts[GOT_PICTURE]++;
    r->bytes_kept += n;
    report(r, e, name, detail);
    record(r, e, name, "ok", n, sha);
    if (!add_record(&r->manifest, e->url, name, sha, true)) r->manifest_failed = true;
}

// ---- transfers ----

typedef struct {
    CURL *easy;
    const UrlEntry *entry;
    uint8_t *body;
    size_t size, capacity, max_bytes;
    bool too_big, no_memory;
    char error[CURL_ERROR_SIZE];
} Transfer;

// libcurl hands the body over in pieces; past --max-bytes the answer 0 makes it abort the transfer.
static size_t on_body(char *data, size_t one, size_t n, void *user) {
    Transfer *t = user;
    if (n > t->max_bytes - t->size) {
        t->too_big = true;
        return 0;
    }
    if (t->size + n > t->capacity) {
        size_t capacity = t->capacity ? 2 * t->capacity : 64 << 10;
        if (capacity < t->size + n) capacity = t->size + n;
        if (capacity > t->max_bytes) capacity = t->max_bytes;
        uint8_t *grown = realloc(t->body, capacity);
        if (!grown) {
            t->no_memory = true;
            return 0;
        }
        t->body = grown, t->capacity = capacity;
    }
    memcpy(t->body + t->size, data, n);
    t->size += n;
    return n;
}

static bool start(Run *r, Transfer *t, const UrlEntry *e) {
    *t = (Transfer){.entry = e, .max_bytes = (size_t)r->max_bytes};
    CURL *c = t->easy = curl_easy_init();
    if (!c) return false;
    long timeout_ms = (long)(r->timeout * 1000);
    bool ok =
        curl_easy_setopt(c, CURLOPT_URL, e->url) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PRIVATE, t) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEDATA, t) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->error) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS) == CURLE_OK &&
        // a redirect may not lead to file:// or any other scheme
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L) == CURLE_OK && // 0: never
        // refused up front when the server announces the size, else stopped by on_body
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_bytes) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_USERAGENT, r->user_agent) == CURLE_OK;
    if (!ok) curl_easy_cleanup(c);
    return ok;
}

// What went wrong, in the learner's words, from libcurl's result.
static Outcome classify(const Run *r, const Transfer *t, CURLcode result, long status, char *reason,
                        size_t size) {
    switch (result) {
    case CURLE_HTTP_RETURNED_ERROR:
        snprintf(reason, size, "HTTP %ld", status);
        return FAIL_HTTP;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(reason, size, "timed out after %g s", r->timeout);
        return FAIL_TIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
        snprintf(reason, size, "too big (over %d bytes)", r->max_bytes);
        return FAIL_TOO_BIG;
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(reason, size, "more than %d redirects", MAX_REDIRECTS);
        return FAIL_REDIRECTS;
    case CURLE_UNSUPPORTED_PROTOCOL: // the list holds http(s) only, so a redirect led elsewhere
        snprintf(reason, size, "redirected out of http(s)");
        return FAIL_REDIRECTS;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(reason, size, "could not connect");
        return FAIL_CONNECT;
    case CURLE_WRITE_ERROR:
        if (t->too_big) {
            snprintf(reason, size, "too big (over %d bytes)", r->max_bytes);
            return FAIL_TOO_BIG;
        }
        if (t->no_memory) {
            snprintf(reason, size, "out of memory");
            return FAIL_OTHER;
        }
        break;
    default:
        break;
    }
    snprintf(reason, size, "%s", curl_easy_strerror(result));
    return FAIL_OTHER;
}

static void finish(Run *r, Transfer *t, CURLcode result) {
    long status = 0, redirects = 0;
    char *content_type = NULL, *final_url = NULL;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &content_type);
    curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &final_url);
    // both are what the server said: escaped before they reach the terminal
    char type[PRINTABLE_SIZE(60)], last[PRINTABLE_SIZE(200)];
    if (content_type) content_type = printable(content_type, strlen(content_type), 60, type);
    final_url = printable(final_url ? final_url : "-", final_url ? strlen(final_url) : 1, 200, last);
    if (result == CURLE_OK) {
        take(r, t->entry, t->body, t->size, content_type);
        return;
    }
    char reason[160], full[3000], answer[400] = "no answer from the server";
    Outcome o = classify(r, t, result, status, reason, sizeof reason);
    if (status)
        snprintf(answer, sizeof answer, "HTTP %ld, %s, %zu bytes received", status,
                 content_type ? content_type : "no content type", t->size);
    int n = snprintf(full, sizeof full, "    libcurl:   %s (error %d: %s)\n    answer:    %s\n",
                     t->error[0] ? t->error : "-", (int)result, curl_easy_strerror(result), answer);
    if (redirects && n > 0 && n < (int)sizeof full)
        snprintf(full + n, sizeof full - (size_t)n, "    last URL:  %s (after %ld redirects)\n", final_url,
                 redirects);
    failed(r, t->entry, o, reason, full);
}

// Start transfers while there is room, pictures are still wanted and the list has URLs; data: URLs
// and URLs an earlier run already has need no transfer. Returns the next list index.
static int fill(Run *r, CURLM *multi, Transfer *slots, int next) {
    int width = r->workers ? r->workers : 1;
    while (!r->manifest_failed && r->in_flight < width && next < r->list.n &&
           pictures(r) + r->in_flight < r->max) {
        const UrlEntry *e = &r->list.entries[next++];
        const Record *had = find_url(&r->manifest, e->url);
        if (had) {
            had->stored ? r->had++ : r->had_duplicates++;
            continue;
        }
        if (e->data) {
            take(r, e, e->data, e->data_size, NULL);
            continue;
        }
        Transfer *t = slots;
        while (t->easy) t++;
        if (!start(r, t, e) || curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
            failed(r, e, FAIL_OTHER, "libcurl could not start", NULL);
            if (t->easy) curl_easy_cleanup(t->easy);
            t->easy = NULL;
            continue;
        }
        r->in_flight++;
    }
    return next;
}

static bool download_all(Run *r) {
    CURLM *multi = curl_multi_init();
    if (!multi) return false;
    Transfer slots[MAX_WORKERS] = {0};
    int next = fill(r, multi, slots, 0);
    // Every transfer ends within --timeout and the list is finite, so this loop ends.
    while (r->in_flight > 0) {
        int running = 0, left;
        curl_multi_perform(multi, &running);
        for (CURLMsg *msg; (msg = curl_multi_info_read(multi, &left));) {
            if (msg->msg != CURLMSG_DONE) continue;
            char *private;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private);
            Transfer *t = (Transfer *)private;
            CURLcode result = msg->data.result;
            curl_multi_remove_handle(multi, t->easy);
            r->in_flight--;
            finish(r, t, result);
            curl_easy_cleanup(t->easy);
            free(t->body);
            *t = (Transfer){0};
        }
        next = fill(r, multi, slots, next);
        r->bytes_in_flight = 0;
        for (int i = 0; i < MAX_WORKERS; i++) r->bytes_in_flight += slots[i].size;
        draw_bar(r, false);
        if (r->in_flight > 0) curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    curl_multi_cleanup(multi);
    r->n_examined = next;
    return true;
}

// ---- the command ----

static void print_list_summary(const Run *r) {
    const UrlList *l = &r->list;
    printf("list: %s: %d lines, %d URLs", r->list_path, l->n_lines, l->n);
    if (l->n_blank + l->n_comment + l->n_duplicate + l->n_malformed)
        printf("; lines skipped: blank %d, comment %d, duplicate %d, malformed %d", l->n_blank, l->n_comment,
               l->n_duplicate, l->n_malformed);
    printf("\n");
    for (int i = 0; i < l->n_skips; i++) {
        const UrlSkip *k = &l->skips[i];
        if (k->same_as)
            printf("  line %d: the same URL as line %d\n", k->line, k->same_as);
        else
            printf("  line %d: %s\n", k->line, k->reason);
    }
    int more = l->n_duplicate + l->n_malformed - l->n_skips;
    if (more > 0) printf("  ... and %d more skipped lines\n", more);
    fflush(stdout); // before any message on stderr
}

static void print_summary(const Run *r, double seconds) {
    char size[32];
    printf("\ndownload: %d new pictures (%s) in %s in %.1f s", r->counts[GOT_PICTURE],
           human_bytes(r->bytes_kept, size), r->dest, seconds);
    if (r->had) printf("; %d already there from an earlier run", r->had);
    printf("\n");
    if (r->counts[GOT_DUPLICATE] + r->had_duplicates)
        printf("download: URLs whose picture was already stored under another URL: %d (kept once)\n",
               r->counts[GOT_DUPLICATE] + r->had_duplicates);
    if (failures(r)) {
        printf("download: %d failed:", failures(r));
        for (int o = FAIL_HTTP, first = 1; o < N_OUTCOMES; o++)
            if (r->counts[o]) printf("%s %d %s", first ? "" : ",", r->counts[o], outcome_names[o]), first = 0;
        printf("%s\n", r->full_errors ? "" : " (--workers 0 prints each failure in full)");
    }
    if (r->n_examined < r->list.n)
        printf("download: --max %d reached; %d URLs not needed\n", r->max, r->list.n - r->n_examined);
    printf("download: every URL tried is listed in %s\n", r->manifest.path);
    fflush(stdout); // before any message on stderr
}

int cmd_download(int argc, char **argv) {
    Run r = {.workers = 8, .max = 200, .max_bytes = 20 << 20, .timeout = 10};
    Flag flags[] = {
        {"--workers", FLAG_INT, &r.workers, 0, MAX_WORKERS, false, NULL,
         "transfers at once; 0 = one at a time, printing every failure in full"},
        {"--max", FLAG_INT, &r.max, 1, 1000000, false, NULL,
         "stop once DEST holds this many pictures from the list (an earlier run's count too)"},
        {"--timeout", FLAG_FLOAT, &r.timeout, 0, 3600, true, NULL,
         "seconds one URL may take, redirects included"},
        {"--max-bytes", FLAG_INT, &r.max_bytes, 1, 2147483647, false, NULL,
         "largest file kept, in bytes; a transfer is stopped as soon as it passes this"},
    };
    Cli cli = {"bears download",
               "fetch the pictures of a URL list into DEST, keeping only files that decode as pictures",
               "download_images(urls_black.txt, path/'black', max_pics=200); max_workers=0 to see the errors",
               "URLS DEST",
               "bears download urls_black.txt data/mine/black --max 200",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *positional[2];
    if (cli_parse(&cli, argc, argv, positional, 2) != 2)
        cli_usage_error(&cli, "needs the URL file (one address per line) and the folder to fill");
    r.list_path = positional[0], r.dest = positional[1];
    r.full_errors = r.workers == 0;
    r.tty = isatty(1);

    char err[9000];
    size_t length;
    char *text = read_small_file(r.list_path, MAX_LIST_BYTES, &length, err, sizeof err);
    if (!text) {
        fprintf(stderr, "bears download: %s\n", err);
        return 1;
    }
    bool parsed = url_list_parse(text, length, &r.list);
    free(text);
    if (!parsed) {
        fprintf(stderr, "bears download: out of memory reading %s\n", r.list_path);
        return 1;
    }
    print_list_summary(&r);
    if (r.list.n == 0) {
        fprintf(stderr, "bears download: %s holds no http, https or data:image URL\n", r.list_path);
        url_list_free(&r.list);
        return 1;
    }
    if (!make_dirs(r.dest)) {
        fprintf(stderr, "bears download: cannot create the folder '%s': %s\n", r.dest, strerror(errno));
        url_list_free(&r.list);
        return 1;
    }
    if (!manifest_open(&r.manifest, r.dest, err, sizeof err)) {
        fprintf(stderr, "bears download: %s\n", err);
        manifest_close(&r.manifest);
        url_list_free(&r.list);
        return 1;
    }
    bool done = false;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
        snprintf(r.user_agent, sizeof r.user_agent,
                 "sgdlab-bears-download/1.0 (a deep learning lab; libcurl/%s)",
                 curl_version_info(CURLVERSION_NOW)->version);
        r.t0 = now_seconds();
        done = download_all(&r);
        curl_global_cleanup();
    }
    if (done) {
        clear_bar(&r);
        print_summary(&r, now_seconds() - r.t0);
    } else {
        fprintf(stderr, "bears download: libcurl could not start (out of memory?)\n");
    }
    bool closed = manifest_close(&r.manifest);
    url_list_free(&r.list);
    if (!done) return 1;
    if (!closed || r.manifest_failed) {
        fprintf(stderr, "bears download: %s/%s could not be written completely\n", r.dest, MANIFEST_NAME);
        return 1;
    }
    // A picture that arrived again under another URL is there too, just stored once.
    if (pictures(&r) + r.counts[GOT_DUPLICATE] + r.had_duplicates == 0) {
        fprintf(stderr, "bears download: no picture arrived%s\n",
                r.full_errors ? "" : "; run again with --workers 0 to see every failure in full");
        return 1;
    }
    return 0;
}
