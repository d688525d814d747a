"""HTTPS over kept-alive connections, for bench/substitution.sh.

  server ADDRESS CERT KEY        serve HTTP/1.1 with keep-alive on ADDRESS:8443 (prints "ready")
  keepalive HOST N CAFILE        N requests on one connection; prints p50 and p99 in ms
  post HOST N CAFILE             the same with POSTs whose JSON body holds $API_KEY too
  connect HOST N CAFILE          N requests on N new connections; prints p50 and p99 in ms
Requests carry "Authorization: Bearer $API_KEY". Standard library only.
"""
import http.client
import http.server
import os
import socketserver
import ssl
import sys
import time

PORT = 8443


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body are two writes: with Nagle, the body waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.do_GET()

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve(address, cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Server((address, PORT), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


def percentiles(samples):
    samples.sort()
    return "%.3f %.3f" % (samples[len(samples) // 2] * 1000, samples[int(len(samples) * 0.99)] * 1000)


def request(connection, headers, body=None):
    connection.request("GET" if body is None else "POST", "/", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status


def main():
    mode = sys.argv[1]
    if mode == "server":
        serve(*sys.argv[2:5])
        return
    host, n, cafile = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    context = ssl.create_default_context(cafile=cafile)
    headers = {"Authorization": "Bearer " + os.environ["API_KEY"]}
    body = None
    if mode == "post":
        # An API call's size: a few hundred bytes of JSON with the key in it.
        body = ('{"model": "bench", "api_key": "%s", "input": "%s"}' % (os.environ["API_KEY"], "x" * 300)).encode()
        headers["Content-Type"] = "application/json"
    samples = []
    if mode in ("keepalive", "post"):
        connection = http.client.HTTPSConnection(host, PORT, context=context)
        request(connection, headers, body)  # the handshake, not counted
        for _ in range(n):
            start = time.perf_counter()
            request(connection, headers, body)
            samples.append(time.perf_counter() - start)
    else:
        for _ in range(n):
            start = time.perf_counter()
            connection = http.client.HTTPSConnection(host, PORT, context=context)
            request(connection, headers)
            samples.append(time.perf_counter() - start)
            connection.close()
    print(percentiles(samples))


main()
