// fuzz_serve.c — the request path of bears serve on untrusted bytes: libmicrohttpd parses the
// request line, headers, chunked and multipart bodies; server.c routes, refuses, collects the
// picture, decodes it and runs the model. The input is written as it is into a connected socket
// that the server owns (server_add_connection), so it travels the same path as a network client's.
// Whatever the bytes, the server must answer or close, never crash, leak or hang.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server.h"

static Server *server;
static BearModel model;

// One server for the whole run: a random-weight 16-pixel model (the weights do not matter here).
static void start(void) {
    static char *names[] = {"black", "grizzly", "teddy"};
    Rng rng;
    rng_seed(&rng, 1, 1);
    model = (BearModel){.n_classes = 3,
                        .classes = names,
                        .size = 16,
                        .mean = {0.5f, 0.5f, 0.5f},
                        .std = {0.25f, 0.25f, 0.25f}};
    if (!bear_model_build(&model, "bearnet-s", &rng)) abort();
    model.bearnet->training = false;
    ServeOptions o = {.threads = 1,
                      .max_body = 1 << 20,
                      .max_pixels = 1 << 20,
                      .max_connections = 512,
                      .queue = 256,
                      .timeout_s = 1,
                      .quiet = true,
                      .listen = false};
    char err[256];
    if (!(server = server_start(&model, "0000", &o, err, sizeof err))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!server) start();
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 0;
    // A request cut short keeps libmicrohttpd waiting for the rest until its timeout (seconds): we
    // wait for an answer only 50 ms, then hang up, which the server must survive just as well.
    struct timeval limit = {0, 50 * 1000};
    setsockopt(fds[1], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fds[1], SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (!server_add_connection(server, fds[0])) {
        close(fds[1]);
        return 0;
    }
    for (size_t sent = 0; sent < size;) { // the server may answer and close before reading it all
        ssize_t k = send(fds[1], data + sent, size - sent, MSG_NOSIGNAL);
        if (k <= 0) break;
        sent += (size_t)k;
    }
    shutdown(fds[1], SHUT_WR); // end of request: the server answers what it has, then closes
    char reply[4096];
    while (recv(fds[1], reply, sizeof reply, 0) > 0) {
    }
    close(fds[1]);
    return 0;
}
