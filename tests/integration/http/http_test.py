"""The REST layer over real HTTP on 127.0.0.1 / ::1 (label integration): http_test_server (HttpServer
+ the API routes + a fake backend on a fake engine thread) driven with http.client and raw sockets.

  http_test.py --server <http_test_server> --case <name>
"""
import argparse
import http.client
import json
import os
import socket
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import expect, kill_children, spawn  # noqa: E402


class Server:
    def __init__(self, exe, *extra, address="127.0.0.1"):
        self.dir = tempfile.mkdtemp(prefix="lwm2m_http_it_")
        self.address = address
        self.proc = spawn([exe, "--data-dir", self.dir, "--address", address, *map(str, extra)],
                          stdout=__import__("subprocess").PIPE)
        line = self.proc.stdout.readline().decode()
        expect(line.startswith("PORT "), f"server did not start: {line!r}")
        self.port = int(line.split()[1])
        with open(os.path.join(self.dir, "api-token")) as f:
            self.token = f.read().strip()

    def conn(self, timeout=10):
        return http.client.HTTPConnection(self.address, self.port, timeout=timeout)

    def call(self, method, path, body=None, token=True, ctype="application/json", headers=None,
             conn=None):
        c = conn or self.conn()
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {self.token if token is True else token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            if ctype:
                h["Content-Type"] = ctype
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        payload = None
        if raw and (r.getheader("Content-Type") or "").startswith("application/json"):
            payload = json.loads(raw)
        if conn is None:
            c.close()
        return r.status, payload, r, raw

    def stop(self):
        self.proc.send_signal(__import__("signal").SIGTERM)
        out = self.proc.stdout.read().decode()
        self.proc.wait(timeout=15)
        return out


def err(status, payload, want, code=None):
    expect(status == want, f"status {status}, wanted {want}: {payload}")
    expect(payload and payload["error"]["status"] == want, f"error body {payload}")
    if code:
        expect(payload["error"]["code"] == code, f"code {payload['error']['code']}, wanted {code}")


def case_auth(exe):
    s = Server(exe)
    mode = stat.S_IMODE(os.stat(os.path.join(s.dir, "api-token")).st_mode)
    expect(mode == 0o600, f"token file mode {oct(mode)}")
    expect(len(s.token) == 64, "32 random bytes as hex")
    st, p, r, _ = s.call("GET", "/api/health", token=False)
    expect(st == 200 and p == {"status": "ok"}, f"health {st} {p}")
    st, p, r, _ = s.call("GET", "/api/clients", token=False)
    err(st, p, 401, "unauthorized")
    expect(r.getheader("WWW-Authenticate", "").startswith("Bearer"), "WWW-Authenticate: Bearer")
    st, p, _, _ = s.call("GET", "/api/clients", token="0" * 64)
    err(st, p, 401)
    st, p, _, _ = s.call("GET", "/api/nowhere", token=False)
    err(st, p, 401)
    st, p, _, _ = s.call("GET", "/api/clients")
    expect(st == 200 and p["total"] == 3, f"clients {st} {p}")
    # The token survives a restart (same data directory) and is never echoed.
    s.stop()
    s2 = Server(exe, "--port", 0)
    expect(s2.token != s.token, "a new data dir gets a new token")


def case_routes(exe):
    s = Server(exe)
    c = s.conn()
    # Keep-alive: every call below on one connection.
    st, p, _, _ = s.call("GET", "/api/version", conn=c)
    expect(st == 200 and p["api_version"] == "1", f"version {p}")
    st, p, _, _ = s.call("GET", "/api/clients?ep=dev&limit=1", conn=c)
    expect(st == 200 and p["total"] == 2 and len(p["items"]) == 1, f"paging {p}")
    st, p, _, _ = s.call("GET", "/api/clients/dev1/objects", conn=c)
    expect(st == 200 and p["objects"][1]["model"]["name"] == "Device", f"objects {p}")
    # Through the bridge: the fake engine thread answers.
    st, p, _, _ = s.call("GET", "/api/clients/dev1/read/3/0?format=tlv&timeout=2", conn=c)
    expect(st == 200 and p["code"] == "2.05" and p["content"]["resources"][0]["value"] == "Acme",
           f"read {st} {p}")
    st, p, _, _ = s.call("PUT", "/api/clients/dev1/write/1/0/1", {"value": 60}, conn=c)
    expect(st == 200 and p["code"] == "2.04", f"write {p}")
    st, p, _, _ = s.call("POST", "/api/clients/dev1/execute/3/0/4", {"args": "0='x'"}, conn=c)
    expect(st == 200, f"execute {p}")
    st, p, _, _ = s.call("POST", "/api/clients/dev1/create/3303", {"id": 2, "resources": []}, conn=c)
    expect(st == 200 and p["location"] == "/3303/2", f"create {p}")
    st, p, _, _ = s.call("POST", "/api/clients/dev1/composite/read", {"paths": ["/3/0/0"]}, conn=c)
    expect(st == 200 and p["records"][0]["path"] == "/3/0/0", f"composite {p}")
    key = "00112233445566778899aabbccddeeff"
    st, p, r, _ = s.call("POST", "/api/security",
                         {"endpoint": "dev/1 é", "mode": "psk", "psk_identity": "id", "psk_key_hex": key},
                         conn=c)
    expect(st == 201 and r.getheader("Location") == "/api/security/dev%2F1%20%C3%A9", f"create sec {st} {p}")
    st, p, _, raw = s.call("GET", "/api/security/dev%2F1%20%C3%A9", conn=c)
    expect(st == 200 and p["psk_key"] == "<set>" and p["endpoint"] == "dev/1 é", f"get sec {p}")
    expect(key.encode() not in raw and b"ABEiM0RVZneImaq7zN3u" not in raw, "the key is never returned")
    st, p, _, _ = s.call("POST", "/api/bootstrap",
                         {"endpoint": "b1", "servers": [{"short_server_id": 1}],
                          "security": [{"uri": "coap://dm:5683", "short_server_id": 1}]}, conn=c)
    expect(st == 201, f"bootstrap {st} {p}")
    st, p, _, _ = s.call("GET", "/api/bootstrap/b1/status", conn=c)
    expect(st == 200 and p["state"] == "finished", f"status {p}")
    st, p, _, _ = s.call("GET", "/api/models/3", conn=c)
    expect(st == 200 and p["name"] == "Device", f"model {p}")
    st, p, _, _ = s.call("DELETE", "/api/clients/dev2", conn=c)
    expect(st == 204, f"delete {st}")
    c.close()


def case_malformed(exe):
    s = Server(exe, "--max-body", 4096)
    st, p, _, _ = s.call("PUT", "/api/clients/dev1/write/1/0/1", '{"value": ')
    err(st, p, 400, "bad_request")
    st, p, _, _ = s.call("PUT", "/api/clients/dev1/write/1/0/1", '{"value": "sixty"}')
    err(st, p, 400)
    st, p, _, _ = s.call("PUT", "/api/clients/dev1/write/1/0/1", b'{"value": "\xff"}')
    err(st, p, 400)
    st, p, _, _ = s.call("PUT", "/api/clients/dev1/write/1/0/1", "value=1", ctype="text/plain")
    err(st, p, 415, "unsupported_media_type")
    st, p, _, _ = s.call("GET", "/api/nowhere")
    err(st, p, 404, "not_found")
    st, p, r, _ = s.call("PATCH", "/api/clients/dev1")
    err(st, p, 405, "method_not_allowed")
    expect(r.getheader("Allow") == "GET, DELETE", f"Allow: {r.getheader('Allow')}")
    st, p, _, _ = s.call("GET", "/api/clients/dev1/read/3/0?timeout=-1")
    err(st, p, 400)
    st, p, _, _ = s.call("GET", "/api/clients/ghost/read/3/0")
    err(st, p, 404, "unknown_client")
    # A huge body: refused from Content-Length with 413, before the body is read.
    st, p, r, _ = s.call("POST", "/api/security", "x" * 100000)
    err(st, p, 413, "payload_too_large")
    # A huge header: 431.
    st, p, _, _ = s.call("GET", "/api/clients", headers={"X-Big": "y" * 40000})
    err(st, p, 431)
    # Garbage that is not HTTP: 400 and the connection closes.
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n")
        data = sock.recv(4096)
        expect(data.startswith(b"HTTP/1.1 400"), f"garbage answered {data[:40]!r}")
    # The server is still fine.
    st, p, _, _ = s.call("GET", "/api/health", token=False)
    expect(st == 200, "still serving")


def case_timeouts(exe):
    s = Server(exe, "--request-timeout-ms", 500, "--answer-margin-ms", 200)
    # A device that never answers: the server answers 504 after timeout + margin, and the HTTP
    # thread was never blocked meanwhile.
    c = s.conn()
    t0 = time.monotonic()
    c.request("GET", "/api/clients/sleepy/read/3/0?timeout=0.5",
              headers={"Authorization": f"Bearer {s.token}"})
    st2, p2, _, _ = s.call("GET", "/api/version")
    expect(st2 == 200 and time.monotonic() - t0 < 0.6, "another request is served meanwhile")
    r = c.getresponse()
    p = json.loads(r.read())
    elapsed = time.monotonic() - t0
    err(r.status, p, 504, "answer_timeout")
    expect(0.6 <= elapsed < 3, f"504 after {elapsed:.2f} s")
    c.close()
    # Slowloris: a header trickled byte by byte is cut off at the request deadline.
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        t0 = time.monotonic()
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(40):
            try:
                sock.sendall(b"X-A: b\r\n")
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            sock.setblocking(False)
            try:
                data = sock.recv(4096)
                if data == b"" or data.startswith(b"HTTP/1.1 408"):
                    closed = True
                    break
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
        elapsed = time.monotonic() - t0
        expect(closed and elapsed < 1.5, f"trickling client cut off after {elapsed:.2f} s")
    # An idle keep-alive connection is closed after the request deadline.
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        t0 = time.monotonic()
        expect(sock.recv(100) == b"", "idle connection closed")
        expect(time.monotonic() - t0 < 1.5, "within the deadline")


def read_events(sock, want, timeout=5.0):
    """Reads SSE frames until `want` data frames (or timeout); returns (frames, raw)."""
    sock.settimeout(0.2)
    buf = b""
    deadline = time.monotonic() + timeout
    frames = []
    while time.monotonic() < deadline and len([f for f in frames if "data" in f]) < want:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        except socket.timeout:
            pass
        while b"\n\n" in buf:
            frame, buf = buf.split(b"\n\n", 1)
            f = {}
            for line in frame.decode().split("\n"):
                if line.startswith(":"):
                    f["comment"] = line
                elif ": " in line:
                    k, v = line.split(": ", 1)
                    f[k] = v
            frames.append(f)
    return frames


def open_stream(s, query="", last_id=None):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    extra = f"Last-Event-ID: {last_id}\r\n" if last_id is not None else ""
    sock.sendall(f"GET /api/events{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {s.token}\r\n"
                 f"{extra}\r\n".encode())
    sock.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    expect(head.startswith(b"HTTP/1.1 200"), f"stream head {head!r}")
    expect(b"text/event-stream" in head, "content type")
    return sock


def case_sse(exe):
    s = Server(exe, "--heartbeat-ms", 300)
    sock = open_stream(s, "?type=registration")
    for i in range(3):
        st, _, _, _ = s.call("POST", "/api/security", {"endpoint": f"e{i}", "mode": "x509"})
        expect(st == 201, "created")
    s.call("DELETE", "/api/clients/dev1")  # a deregistration: filtered out
    frames = read_events(sock, 3)
    data = [f for f in frames if "data" in f]
    expect([f["event"] for f in data] == ["registration"] * 3, f"frames {frames}")
    ids = [int(f["id"]) for f in data]
    expect(ids == sorted(ids) and len(set(ids)) == 3, f"ids {ids}")
    expect(json.loads(data[1]["data"])["ep"] == "e1", "data is the event JSON")
    # Heartbeats on an idle stream.
    frames = read_events(sock, 1, timeout=1.0)
    expect(any("comment" in f for f in frames), f"heartbeat expected, got {frames}")
    sock.close()
    # Resume: events after the first id come again.
    sock = open_stream(s, "?type=registration", last_id=ids[0])
    frames = [f for f in read_events(sock, 2) if "data" in f]
    expect([int(f["id"]) for f in frames] == ids[1:], f"resumed {frames}")
    sock.close()
    # The query-token form (EventSource) and an endpoint filter.
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        sock.sendall(f"GET /api/events?access_token={s.token}&ep=zz HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        expect(sock.recv(12) == b"HTTP/1.1 200", "query token accepted on /api/events")


def case_limits(exe):
    s = Server(exe, "--max-connections", 3)
    socks = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(3)]
    time.sleep(0.2)
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as extra:
        data = extra.recv(4096)
        expect(data.startswith(b"HTTP/1.1 503"), f"over the limit: {data[:40]!r}")
    for x in socks:
        x.close()
    time.sleep(0.2)
    st, _, _, _ = s.call("GET", "/api/health", token=False)
    expect(st == 200, "served again once connections closed")


def case_ipv6(exe):
    try:
        s = Server(exe, address="::1")
    except AssertionError as e:
        print(f"SKIP no IPv6 loopback: {e}")
        return
    st, p, _, _ = s.call("GET", "/api/health", token=False)
    expect(st == 200, "IPv6 works")


def case_graceful_stop(exe):
    s = Server(exe, "--answer-margin-ms", 300, "--grace-ms", 5000)
    stream = open_stream(s)
    c = s.conn()
    c.request("GET", "/api/clients/sleepy/read/3/0?timeout=0.7",
              headers={"Authorization": f"Bearer {s.token}"})
    time.sleep(0.2)
    t0 = time.monotonic()
    s.proc.send_signal(__import__("signal").SIGTERM)
    # The in-flight request still gets its answer (here the server's own 504) ...
    r = c.getresponse()
    expect(r.status == 504, f"in-flight answered {r.status}")
    expect(r.getheader("Connection", "").lower() == "close", "and the connection closes")
    # ... the event stream is closed ...
    stream.settimeout(5)
    rest = b""
    while True:
        chunk = stream.recv(4096)
        if not chunk:
            break
        rest += chunk
    # ... and the process exits within the grace period with no connection left.
    out = s.proc.stdout.read().decode()
    s.proc.wait(timeout=10)
    expect(time.monotonic() - t0 < 5, "stopped within the grace period")
    expect("STOPPED" in out and "active=0" in out, f"stop output {out!r}")
    try:
        socket.create_connection(("127.0.0.1", s.port), timeout=1).close()
        expect(False, "no longer accepting")
    except OSError:
        pass


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    a = ap.parse_args()
    try:
        CASES[a.case](a.server)
        print(f"PASS {a.case}")
    except Exception as e:  # noqa: BLE001
        print(f"FAIL {a.case}: {e}")
        sys.exit(1)
    finally:
        kill_children()
