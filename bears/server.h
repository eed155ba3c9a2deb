// server.h — the bear classifier behind HTTP (libmicrohttpd): the lesson's "put it in production".
//
// The lesson ends with the model in a web app, answering one picture at a time on a CPU. This is
// that app, built as a server facing strangers: every dimension of a request is bounded, and each
// breach gets its own status and a JSON {"error": ...} answer.
//
//   GET  /          the upload page (one self-contained HTML file, serve_page.c)
//   POST /predict   a picture as the raw body (image/*, application/octet-stream) or as a
//                   multipart/form-data file field -> {"class", "probabilities", "ms"}
//   GET  /healthz   "ok"
//   GET  /model     {"arch", "classes", "image_size", "sha256"}
//
// Threads: libmicrohttpd's own pool. Each pool thread runs the requests of its connections to
// the end, inference included, on one core (the tape and arena are per thread, autograd.h); the
// model is shared and only read.
#ifndef SGDLAB_BEARS_SERVER_H
#define SGDLAB_BEARS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

typedef struct {
    const char *host;     // address to listen on, e.g. "127.0.0.1"
    int port;             // 0: any free port (server_port says which)
    int threads;          // pool threads, each answering one request at a time
    long long max_body;   // bytes; a longer Content-Length is refused (413) before the body is read
    long long max_pixels; // a picture declaring more is refused (413) before it is decoded
    int max_connections;  // open connections at once; more are not accepted until one closes
    int queue;            // /predict requests admitted at once (reading, waiting or running); more get 503
    int timeout_s;        // a connection idle this long (a slow client) is cut off
    bool quiet;           // no access log
    bool listen;          // false: no socket, connections come from server_add_connection (fuzzing)
} ServeOptions;

typedef struct Server Server;

// The upload page GET / answers (bears/serve_page.html, embedded by the build).
extern const char serve_page_html[];

// Start answering. model and model_sha256 must outlive the server. NULL and err on failure.
Server *server_start(BearModel *model, const char *model_sha256, const ServeOptions *o, char *err,
                     size_t err_size);
int server_port(const Server *s);
// Hand the server a connected socket (it then owns fd). false if it refused it.
bool server_add_connection(Server *s, int fd);
// The graceful stop: stop accepting, let admitted requests finish for up to drain_s seconds,
// answer new ones 503, then close everything. Returns how many requests were still unanswered.
int server_stop(Server *s, double drain_s);

#endif
