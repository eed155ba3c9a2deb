// server.c — bears serve's HTTP side: routes, limits, the upload, the answer and the access log.
//
// libmicrohttpd parses HTTP and multipart; this file only decides. It calls on_request() for a
// request first when its headers are in (the place to refuse it before reading the body: 404,
// 405, 411, 413, 415, 503), then once per piece of body, then a last time to answer. Only the
// first and the last call may queue a response, so a problem found in the body (a broken form)
// is kept and answered at the end; the body is bounded by --max-body, so reading it is too.
#include "server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <omp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "ops.h"

struct Server {
    struct MHD_Daemon *daemon;
    BearModel *model;
    ServeOptions o;
    char *model_json;    // GET /model's answer, made once
    atomic_int admitted; // /predict requests in the queue now
    atomic_bool draining;
};

typedef struct {
    double start_ms;
    char method[16], path[96]; // for the log, control characters replaced
    int status;                // 0 until a response is queued
    size_t bytes_in, bytes_out;
    bool admitted;                  // counted in Server.admitted
    struct MHD_PostProcessor *form; // multipart: MHD's parser; NULL for a raw body
    bool field_seen, field_done;    // the form's picture: its first file field (or one named "image")
    int fail_status;                // a problem found while reading the body, answered at the end
    char fail[160];
    uint8_t *body; // the raw body, or the picture taken out of the form
    size_t len, cap;
} Request;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// A log must not let a client write raw bytes (a newline would forge a second line).
static void printable_copy(char *dst, size_t size, const char *src) {
    size_t k = 0;
    for (; src && src[k] && k + 1 < size; k++) dst[k] = isprint((unsigned char)src[k]) ? src[k] : '?';
    dst[k] = '\0';
}

// ---- answers ----

static enum MHD_Result answer(struct MHD_Connection *c, Request *r, int status, const char *type,
                              const char *body, size_t len, const char *allow) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES &&
              (!allow || MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) == MHD_YES) &&
              (status != MHD_HTTP_SERVICE_UNAVAILABLE ||
               MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1") == MHD_YES);
    enum MHD_Result result = ok ? MHD_queue_response(c, (unsigned)status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    if (result == MHD_YES) r->status = status, r->bytes_out = len;
    return result;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, Request *r, int status, cJSON *json,
                                   const char *allow) {
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (!text) return MHD_NO;
    enum MHD_Result result = answer(c, r, status, "application/json", text, strlen(text), allow);
    free(text);
    return result;
}

__attribute__((format(printf, 5, 6))) static enum MHD_Result
answer_error(struct MHD_Connection *c, Request *r, int status, const char *allow, const char *fmt, ...) {
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "error", message);
    return answer_json(c, r, status, json, allow);
}

// ---- POST /predict ----

// "image/png", "application/octet-stream; x=y": the media type before any parameters.
static bool media_type_is(const char *type, const char *want) {
    size_t n = strlen(want);
    return strncasecmp(type, want, n) == 0 && (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

static bool take(Request *r, const char *data, size_t n) {
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 64 * 1024;
        while (cap < r->len + n) cap *= 2;
        uint8_t *grown = realloc(r->body, cap);
        if (!grown) return false;
        r->body = grown, r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return true;
}

static void fail_later(Request *r, int status, const char *message) {
    if (r->fail_status) return; // the first problem is the one to report
    r->fail_status = status;
    snprintf(r->fail, sizeof r->fail, "%s", message);
}

// MHD's multipart parser hands us each field's value in pieces; keep the picture's.
static enum MHD_Result on_form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *filename, const char *content_type,
                                     const char *transfer_encoding, const char *data, uint64_t off,
                                     size_t size) {
    Request *r = cls;
    bool picture = filename || (key && strcmp(key, "image") == 0);
    if (!picture || r->field_done) return MHD_YES;
    if (r->field_seen && off != r->len) { // a second picture field: the first one is the answer
        r->field_done = true;
        return MHD_YES;
    }
    r->field_seen = true;
    if (size && !take(r, data, size)) fail_later(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return MHD_YES;
}

// The headers are in: refuse what we can before a byte of body is read.
static enum MHD_Result admit_predict(Server *s, struct MHD_Connection *c, Request *r) {
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    // Chunked bodies have no length to check up front (and win over a Content-Length sent with them).
    if (!length || MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return answer_error(c, r, MHD_HTTP_LENGTH_REQUIRED, NULL,
                            "send the picture with a Content-Length header (chunked uploads are refused)");
    char *end;
    long long n = strtoll(length, &end, 10);
    if (end == length || *end || n < 0)
        return answer_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "Content-Length is not a number");
    if (n > s->o.max_body)
        return answer_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                            "the body is %lld bytes; this server takes at most %lld (--max-body)", n,
                            s->o.max_body);
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    bool multipart = type && media_type_is(type, "multipart/form-data");
    if (!type || !(multipart || strncasecmp(type, "image/", 6) == 0 ||
                   media_type_is(type, "application/octet-stream"))) {
        char shown[64];
        printable_copy(shown, sizeof shown, type ? type : "none");
        return answer_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                            "Content-Type %s is not a picture: send image/*, application/octet-stream or "
                            "multipart/form-data",
                            shown);
    }
    if (n == 0)
        return answer_error(
            c, r, MHD_HTTP_BAD_REQUEST, NULL,
            "empty body: send the picture's bytes, or a form with the picture as a file field");
    if (atomic_load(&s->draining))
        return answer_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "the server is shutting down");
    if (atomic_fetch_add(&s->admitted, 1) >= s->o.queue) {
        atomic_fetch_sub(&s->admitted, 1);
        return answer_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                            "busy: %d requests are in the queue already (--queue); try again", s->o.queue);
    }
    r->admitted = true;
    if (multipart && !(r->form = MHD_create_post_processor(c, 16 * 1024, on_form_field, r)))
        return answer_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "the multipart form has no boundary");
    return MHD_YES;
}

static void take_body(Request *r, const char *data, size_t n) {
    r->bytes_in += n;
    if (r->fail_status) return; // already doomed: read and drop the rest (bounded by --max-body)
    if (!r->form) {
        if (!take(r, data, n)) fail_later(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    } else if (MHD_post_process(r->form, data, n) != MHD_YES) {
        fail_later(r, MHD_HTTP_BAD_REQUEST, "the multipart form is malformed");
    }
}

static enum MHD_Result answer_predict(Server *s, struct MHD_Connection *c, Request *r) {
    if (r->form) {
        if (MHD_destroy_post_processor(r->form) != MHD_YES)
            fail_later(r, MHD_HTTP_BAD_REQUEST, "the multipart form is malformed or cut off");
        r->form = NULL;
        if (!r->field_seen)
            fail_later(r, MHD_HTTP_BAD_REQUEST, "the form has no file field: send the picture as a file");
    }
    if (r->fail_status) return answer_error(c, r, r->fail_status, NULL, "%s", r->fail);
    // One request runs on one core: the pool already keeps every core busy under load, and an
    // OpenMP team per request on top would only make the threads fight over the cores.
    static _Thread_local bool one_core;
    if (!one_core) omp_set_num_threads(1), one_core = true;

    BearModel *m = s->model;
    char err[256];
    ImageLimit limit = {s->o.max_pixels, false};
    Image img;
    if (!image_decode_limited(r->body, r->len, &limit, &img, err, sizeof err))
        return answer_error(c, r, limit.exceeded ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST, NULL,
                            "cannot read the picture: %s", err);
    float *probs = malloc(sizeof(float) * (size_t)m->n_classes);
    bool ok = probs && bear_model_predict_image(m, &img, probs, err, sizeof err);
    image_free(&img);
    if (!ok) {
        free(probs);
        return answer_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "%s", probs ? err : "out of memory");
    }
    cJSON *json = cJSON_CreateObject(), *p = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "class", m->classes[argmax(probs, m->n_classes)]);
    for (int k = 0; k < m->n_classes; k++) cJSON_AddNumberToObject(p, m->classes[k], probs[k]);
    cJSON_AddItemToObject(json, "probabilities", p);
    cJSON_AddNumberToObject(json, "ms", round((now_ms() - r->start_ms) * 100) / 100);
    free(probs);
    return answer_json(c, r, MHD_HTTP_OK, json, NULL);
}

// ---- routing ----

static enum MHD_Result begin(Server *s, struct MHD_Connection *c, Request *r, const char *url,
                             const char *method) {
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool predict = strcmp(url, "/predict") == 0;
    if (!predict && strcmp(url, "/") && strcmp(url, "/healthz") && strcmp(url, "/model"))
        return answer_error(c, r, MHD_HTTP_NOT_FOUND, NULL,
                            "no such path: %s (there are GET /, POST /predict, GET /healthz, GET /model)",
                            r->path);
    if (predict)
        return strcmp(method, "POST") == 0 ? admit_predict(s, c, r)
                                           : answer_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "POST",
                                                          "/predict takes POST, not %s", r->method);
    if (!get)
        return answer_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD", "%s takes GET, not %s", r->path,
                            r->method);
    if (strcmp(url, "/healthz") == 0) return answer(c, r, MHD_HTTP_OK, "text/plain", "ok\n", 3, NULL);
    if (strcmp(url, "/model") == 0)
        return answer(c, r, MHD_HTTP_OK, "application/json", s->model_json, strlen(s->model_json), NULL);
    return answer(c, r, MHD_HTTP_OK, "text/html; charset=utf-8", serve_page_html, strlen(serve_page_html),
                  NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    Server *s = cls;
    Request *r = *con_cls;
    if (!r) { // the headers are in
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        r->start_ms = now_ms();
        printable_copy(r->method, sizeof r->method, method);
        printable_copy(r->path, sizeof r->path, url);
        *con_cls = r;
        return begin(s, c, r, url, method);
    }
    if (*upload_data_size) {
        // The connection timeout is per silence; this bounds a client that trickles its body.
        if (now_ms() - r->start_ms > 1000.0 * s->o.timeout_s) return MHD_NO;
        if (r->bytes_in + *upload_data_size > (size_t)s->o.max_body) return MHD_NO; // cannot happen: belt
        take_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return r->status ? MHD_YES : answer_predict(s, c, r);
}

// The access log, one line per request, and the request's memory back.
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
    Server *s = cls;
    Request *r = *con_cls;
    if (!r) return;
    if (!s->o.quiet) {
        char who[INET6_ADDRSTRLEN] = "?";
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *a = info ? info->client_addr : NULL;
        if (a && a->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)a)->sin_addr, who, sizeof who);
        else if (a && a->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr, who, sizeof who);
        const char *cut = why == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED             ? " (cut off: too slow)"
                          : why == MHD_REQUEST_TERMINATED_CLIENT_ABORT              ? " (the client left)"
                          : why == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN           ? " (server shut down)"
                          : why == MHD_REQUEST_TERMINATED_COMPLETED_OK || r->status ? ""
                                                                                    : " (connection error)";
        char status[8] = "-";
        if (r->status) snprintf(status, sizeof status, "%d", r->status);
        fprintf(stderr, "%s %s %s %s %zu B in, %zu B out, %.1f ms%s\n", who, r->method, r->path, status,
                r->bytes_in, r->bytes_out, now_ms() - r->start_ms, cut);
    }
    if (r->admitted) atomic_fetch_sub(&s->admitted, 1);
    if (r->form) MHD_destroy_post_processor(r->form);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_mhd_message(void *cls, const char *fmt, va_list ap) {
    const Server *s = cls;
    if (s->o.quiet) return;
    fprintf(stderr, "bears serve: libmicrohttpd: ");
    vfprintf(stderr, fmt, ap);
}

// ---- life cycle ----

static char *model_json(const BearModel *m, const char *sha256) {
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "arch", bear_model_arch(m));
    cJSON_AddItemToObject(json, "classes",
                          cJSON_CreateStringArray((const char *const *)m->classes, m->n_classes));
    cJSON_AddNumberToObject(json, "image_size", m->size);
    cJSON_AddStringToObject(json, "sha256", sha256);
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    return text;
}

Server *server_start(BearModel *model, const char *model_sha256, const ServeOptions *o, char *err,
                     size_t err_size) {
    struct sockaddr_storage addr = {0};
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (!o->listen) {
        flags |= MHD_USE_NO_LISTEN_SOCKET;
    } else if (inet_pton(AF_INET, o->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET, v4->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, o->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6, v6->sin6_port = htons((uint16_t)o->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, err_size, "--host '%s' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every one)",
                 o->host);
        return NULL;
    }
    Server *s = calloc(1, sizeof *s);
    if (!s || !(s->model_json = model_json(model, model_sha256))) {
        free(s);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    s->model = model, s->o = *o;
    atomic_init(&s->admitted, 0);
    atomic_init(&s->draining, false);
    struct MHD_OptionItem options[8];
    int n = 0;
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_message, s}; // first
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    if (o->listen) options[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    if (o->threads > 1) options[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL};
    options[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
                                 options, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, err_size, "cannot listen on %s port %d (in use? a port below 1024 without root?)",
                 o->host, o->port);
        free(s->model_json);
        free(s);
        return NULL;
    }
    return s;
}

int server_port(const Server *s) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

bool server_add_connection(Server *s, int fd) {
    struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return MHD_add_connection(s->daemon, fd, (struct sockaddr *)&loopback, sizeof loopback) == MHD_YES;
}

int server_stop(Server *s, double drain_s) {
    atomic_store(&s->draining, true);
    if (s->o.listen) { // new connections are refused from here on
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET) close(fd);
    }
    for (double end = now_ms() + 1000 * drain_s; atomic_load(&s->admitted) > 0 && now_ms() < end;)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    int left = atomic_load(&s->admitted);
    MHD_stop_daemon(s->daemon);
    free(s->model_json);
    free(s);
    return left;
}
