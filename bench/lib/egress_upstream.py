#!/usr/bin/env python3
"""The upstream of bench/egress.sh, run inside its own network namespace.

  :8080  HTTP/1.1: any request gets the whole file named on the command line (sendfile, no copy)
  :7000  TCP: writes "hi\n" at once (server speaks first, so a client can time connect to first
         byte), then holds the connection until the client closes it

A thread per connection (the bench holds 1,000 at once): blocking sendfile needs no event loop.
usage: egress_upstream.py ADDRESS FILE   (prints "ready" when both listen)
"""
import os
import socketserver
import sys


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 2048


class Download(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        size = os.path.getsize(self.server.path)
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
        with open(self.server.path, "rb") as f:
            self.request.sendfile(f)


class Banner(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"hi\n")
        while self.request.recv(65536):
            pass


address, path = sys.argv[1], sys.argv[2]
download = Server((address, 8080), Download)
download.path = path
banner = Server((address, 7000), Banner)
import threading
threading.Thread(target=download.serve_forever, daemon=True).start()
print("ready", flush=True)
banner.serve_forever()
