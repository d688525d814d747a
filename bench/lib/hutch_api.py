# The bench clients' way to the scratch daemon's HTTP API (bench/lib/scratch-daemon.sh): one
# keep-alive connection to HUTCH_URL with the key in HUTCH_DATA_DIR/api-key; a status of 300 or more
# ends the bench with the answer's start.
import http.client, json, os


def api(timeout=None):
    host, port = os.environ["HUTCH_URL"].split("//")[1].split(":")
    key = open(os.environ["HUTCH_DATA_DIR"] + "/api-key").read().strip()
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def call(method, path, body=None):
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    return call
