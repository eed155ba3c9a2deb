#!/usr/bin/python3
# download_server.py — a small web server on 127.0.0.1 that answers the ways real image hosts do, for
# tests/bears/download.sh:
#     download_server.py PICTURES_DIR PORT_FILE LOG_FILE SECONDS
# It listens on a free port (written to PORT_FILE), serves the files of PICTURES_DIR under /pictures/
# and under /far/ with 0.25 s of latency (tests/bench/download_workers.sh), logs "path<TAB>user-agent"
# per request to LOG_FILE, and exits by itself after SECONDS.
import http.server
import os
import sys
import threading
import time

pictures, port_file, log_file, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
log_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the connection closes after each answer: no keep-alive to reason about

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="text/html", length=True, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with log_lock, open(log_file, "a") as log:
            log.write(f"{self.path}\t{self.headers.get('User-Agent', '')}\n")
        path = self.path.split("?")[0]  # a query string changes the URL, not the file
        if path.startswith("/pictures/") or path.startswith("/far/"):
            if path.startswith("/far/"):  # a distant host: the answer starts a quarter second later
                time.sleep(0.25)
            name = os.path.basename(path)
            full = os.path.join(pictures, name)
            if not os.path.isfile(full):
                return self.answer(404, b"<h1>not found</h1>")
            with open(full, "rb") as f:
                body = f.read()
            # a server that lies about the type: the bytes decide, not this header
            return self.answer(200, body, "image/jpeg")
        if path == "/missing.jpg":
            return self.answer(404, b"<html><body>404 Not Found</body></html>")
        if path == "/broken.jpg":
            return self.answer(500, b"<html><body>Internal Server Error</body></html>")
        if path.startswith("/chain/"):  # /chain/3 -> /chain/2 -> /chain/1 -> a picture
            left = int(path.split("/")[2])
            target = f"/chain/{left - 1}" if left > 1 else "/pictures/chained.png"
            return self.answer(302, headers=[("Location", target)])
        if path == "/loop.jpg":
            return self.answer(302, headers=[("Location", "/loop.jpg")])
        if path == "/to-file.jpg":  # a redirect out of http: must not be followed
            return self.answer(302, headers=[("Location", "file:///etc/passwd")])
        if path == "/page.jpg":
            return self.answer(200, b"<!doctype html><html><body>a search page, not a picture</body></html>")
        if path == "/evil-type.jpg":  # a header that tries to clear the learner's terminal
            return self.answer(200, b"<html></html>", "text/html\x1b[2J")
        if path == "/slow.jpg":  # answers only after the test's --timeout
            time.sleep(10)
            return self.answer(200, b"too late")
        if path == "/huge-announced.jpg":  # the size is in the headers: refused before the body
            return self.answer(200, b"\xff\xd8\xff" + b"\0" * (3 << 20), "image/jpeg")
        if path == "/huge-stream.jpg":  # no length given: stopped while the body arrives
            self.answer(200, b"", "image/jpeg", length=False)
            for _ in range(48):
                self.wfile.write(b"\xff" * (64 << 10))
            return None
        return self.answer(404, b"<h1>no such test page</h1>")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when 8 workers and redirects arrive at once

    def handle_error(self, request, client_address):
        pass  # the downloader hangs up on slow and huge answers on purpose


server = Server(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
threading.Timer(seconds, server.shutdown).start()
server.serve_forever()
