// serve.c — `bears serve MODEL`: the lesson's production step, the classifier behind a web page.
//
// The lesson puts the trained model in a small web app on a CPU: load it once, then answer one
// picture at a time. This command loads and checks the model, starts the server (server.h) and
// waits for SIGINT / SIGTERM, then stops gracefully: no new connections, requests already
// admitted finish (for up to --drain seconds), exit 0.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "digest.h"
#include "model.h"
#include "ops.h"
#include "server.h"

int cmd_serve(int argc, char **argv) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    ServeOptions o = {.host = "127.0.0.1",
                      .port = 8080,
                      .threads = cores > 0 ? (int)cores : 1,
                      .max_connections = 256,
                      .queue = 128,
                      .timeout_s = 10,
                      .listen = true};
    int max_body = 10 * 1000 * 1000, max_pixels = 40 * 1000 * 1000;
    float drain = 2;
    Flag flags[] = {
        {"--host", FLAG_STRING, &o.host, 0, 0, false, NULL, "address to listen on (0.0.0.0: every one)"},
        {"--port", FLAG_INT, &o.port, 0, 65535, false, NULL, "TCP port (0: any free one, printed at start)"},
        {"--threads", FLAG_INT, &o.threads, 1, 256, false, NULL,
         "request threads, one per core by default; each answers one picture at a time"},
        {"--max-body", FLAG_INT, &max_body, 1, 1 << 30, false, NULL,
         "largest upload in bytes; a longer one gets 413 before it is read"},
        {"--max-pixels", FLAG_INT, &max_pixels, 1, 100000000, false, NULL,
         "largest picture in pixels; a larger one gets 413 before it is decoded"},
        {"--max-connections", FLAG_INT, &o.max_connections, 1, 10000, false, NULL,
         "open connections at once; more wait (unaccepted) until one closes"},
        {"--queue", FLAG_INT, &o.queue, 1, 10000, false, NULL,
         "predictions admitted at once (uploading, waiting or running); more get 503"},
        {"--timeout", FLAG_INT, &o.timeout_s, 1, 3600, false, NULL,
         "seconds a connection may stay silent, and a request may take to upload"},
        {"--drain", FLAG_FLOAT, &drain, 0, 60, false, NULL,
         "on SIGINT/SIGTERM, seconds to let admitted requests finish"},
        {"--quiet", FLAG_BOOL, &o.quiet, 0, 0, false, NULL, "no access log (one line per request on stderr)"},
    };
    Cli cli = {"bears serve",
               "serve a trained model over HTTP: an upload page, POST /predict (JSON), /healthz, /model",
               "the model in production: a web app that classifies one picture at a time on a CPU",
               "MODEL",
               "bears serve bears.safetensors --port 8080   # then open http://127.0.0.1:8080/",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *args[2];
    if (cli_parse(&cli, argc, argv, args, 2) != 1) cli_usage_error(&cli, "needs one model file");
    o.max_body = max_body, o.max_pixels = max_pixels;

    char err[1024], sha256[65];
    BearModel m;
    if (!bear_model_load(args[0], &m, err, sizeof err)) {
        fprintf(stderr, "bears serve: %s\n", err);
        return 1;
    }
    if (!sha256_file_hex(args[0], sha256, err, sizeof err)) {
        fprintf(stderr, "bears serve: %s\n", err);
        bear_model_free(&m);
        return 1;
    }
    // Block the stop signals before any server thread exists, so every thread inherits the mask and
    // only sigwait() below sees them; a write to a client that left must not kill the process.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    blas_single_threaded(); // each server thread is one core's worth of work (server.h)
    Server *s = server_start(&m, sha256, &o, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bears serve: %s\n", err);
        bear_model_free(&m);
        return 1;
    }
    printf("bears serve: %s (", bear_model_arch(&m));
    for (int c = 0; c < m.n_classes; c++) printf("%s%s", c ? ", " : "", m.classes[c]);
    printf(") at %d px on http://%s:%d/ with %d threads; Ctrl-C stops\n", m.size, o.host, server_port(s),
           o.threads);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "bears serve: %s: finishing the requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    int left = server_stop(s, drain);
    if (left)
        fprintf(stderr, "bears serve: %d requests were still unfinished after --drain %g s\n", left, drain);
    fprintf(stderr, "bears serve: stopped\n");
    bear_model_free(&m);
    return 0;
}
