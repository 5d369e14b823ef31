"""The admin commands of `lwm2m` against http_test_server (HttpServer + the API routes + the fake
backend of tests/unit/http/fake_backend.hpp: clients dev1, dev2, sensor-a; dev1 answers /3/0 and
/3/0/0, other paths 4.04; "sleepy" never answers) on 127.0.0.1 (label integration). Every command's
human and --json output is checked, and bad input gives the documented exit status and message.

  admin_test.py --lwm2m <lwm2m> --server <http_test_server> --case <name>
"""
import argparse
import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import expect, kill_children, spawn  # noqa: E402

LWM2M = None

EXIT_COAP, EXIT_USAGE, EXIT_NETWORK, EXIT_TIMEOUT, EXIT_HTTP = 1, 2, 3, 4, 5


class Server:
    def __init__(self, exe):
        self.dir = tempfile.mkdtemp(prefix="lwm2m_cli_admin_")
        self.proc = spawn([exe, "--data-dir", self.dir, "--address", "127.0.0.1",
                           "--answer-margin-ms", "300"], stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        expect(line.startswith("PORT "), f"server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_file = os.path.join(self.dir, "api-token")
        with open(self.token_file) as f:
            self.token = f.read().strip()

    def http(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        return r.status, (json.loads(raw) if raw else None)


class Cli:
    """Runs `lwm2m` with the server and token given as flags (unless told otherwise)."""

    def __init__(self, srv, auth=True):
        self.srv = srv
        self.auth = auth
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LWM2M_")}
        self.env["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="lwm2m_cli_cfg_")  # empty

    def run(self, *args, rc=0, stdin=None, env=None, timeout=30):
        argv = [LWM2M, *args]
        if self.auth:
            argv += ["--server", self.srv.url, "--token-file", self.srv.token_file]
        e = dict(self.env)
        e.update(env or {})
        r = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, env=e)
        out, err = r.stdout.decode(), r.stderr.decode()
        if rc is not None:
            expect(r.returncode == rc,
                   f"{args}: exit {r.returncode}, wanted {rc}\nstdout: {out}\nstderr: {err}")
        return out, err, r.returncode

    def json(self, *args, **kw):
        out, _, _ = self.run(*args, "--json", **kw)
        return json.loads(out)


def table(out):
    """The rows of a table printed by the CLI: lists of cells split on 2+ spaces."""
    import re
    lines = [l for l in out.splitlines() if l.strip()]
    return [re.split(r"\s{2,}", l.strip()) for l in lines]


def find_row(rows, first):
    for r in rows:
        if r[0] == first:
            return r
    raise AssertionError(f"no row {first!r} in {rows}")


def case_devices(exe):
    s = Server(exe)
    c = Cli(s)
    # clients: human table and --json (the API's page as is), filters.
    out, _, _ = c.run("clients")
    rows = table(out)
    expect(rows[0][:3] == ["ENDPOINT", "LWM2M", "BINDING"], f"header {rows[0]}")
    expect([r[0] for r in rows[1:4]] == ["dev1", "dev2", "sensor-a"], f"clients {rows}")
    expect(find_row(rows, "dev2")[2] == "UQ" and find_row(rows, "sensor-a")[4] == "psk", out)
    expect(out.rstrip().endswith("3 of 3 clients"), out)
    j = c.json("clients")
    expect(j["total"] == 3 and [i["endpoint"] for i in j["items"]] == ["dev1", "dev2", "sensor-a"],
           f"clients --json {j}")
    j = c.json("clients", "--filter", "dev")
    expect(j["total"] == 2, f"--filter {j}")
    j = c.json("clients", "--ep-prefix", "sens", "--security", "psk")
    expect([i["endpoint"] for i in j["items"]] == ["sensor-a"], f"--ep-prefix {j}")
    j = c.json("clients", "--limit", "1", "--offset", "1")
    expect(j["total"] == 3 and [i["endpoint"] for i in j["items"]] == ["dev2"], f"paging {j}")
    # Global options before the subcommand work too.
    out, _, _ = c.run("--json", "client", "dev1")
    expect(json.loads(out)["registration_id"] == "r-dev1", out)
    out, _, _ = c.run("client", "dev1")
    expect("r-dev1" in out and "86400 s" in out, out)
    expect(find_row(table(out), "/3/0")[1] == "Device", f"object names {out}")

    # read: typed values with names and units from the models.
    out, _, _ = c.run("read", "dev1", "/3/0")
    lines = out.splitlines()
    expect(lines[0].startswith("2.05 Content") and "tlv" in lines[0], f"status line {lines[0]}")
    rows = table(out)
    expect(find_row(rows, "/3/0/0")[1:] == ["Manufacturer", "Acme"], f"read rows {rows}")
    expect(find_row(rows, "/3/0/9")[1:] == ["Battery Level", "87 %"], f"units {rows}")
    expect(find_row(rows, "/3/0/6/1")[2] == "5", f"multi-instance {rows}")
    j = c.json("read", "dev1", "3/0/0", "--format", "senml-cbor")
    expect(j["code"] == "2.05" and j["success"] and j["format"] == "senml-cbor" and
           j["content"]["value"] == "Acme", f"read --json {j}")
    # A CoAP error from the device: exit 1, the code shown.
    out, _, _ = c.run("read", "dev1", "/3/7", rc=EXIT_COAP)
    expect(out.startswith("4.04 Not Found"), out)
    j = c.json("read", "dev1", "/3/7", rc=EXIT_COAP)
    expect(j["code"] == "4.04" and j["success"] is False, f"{j}")

    # write: a value typed by the model (Lifetime is an integer), a node, partial.
    out, _, _ = c.run("write", "dev1", "/1/0/1", "60")
    expect(out.startswith("2.04 Changed"), out)
    j = c.json("write", "dev1", "/3/0/14", "+02:00")
    expect(j["code"] == "2.04", f"{j}")
    node = json.dumps({"resources": [{"id": 1, "value": 120}]})
    j = c.json("write", "dev1", "/1/0", "--node", node, "--partial")
    expect(j["success"], f"{j}")
    j = c.json("write", "dev1", "/1/0", "--node", "-", stdin=node.encode())
    expect(j["success"], f"node from stdin {j}")

    # exec, create, delete, discover, attrs, composite read.
    out, _, _ = c.run("exec", "dev1", "/3/0/4", "0='x',1")
    expect(out.startswith("2.04"), out)
    out, _, _ = c.run("create", "dev1", "/3303", "--id", "2")
    expect(out.startswith("2.01 Created") and "location: /3303/2" in out, out)
    j = c.json("create", "dev1", "/3303", "--node", '{"id": 5, "resources": []}')
    expect(j["location"] == "/3303/5", f"{j}")
    out, _, _ = c.run("delete", "dev1", "/3303/2")
    expect(out.startswith("2.02 Deleted"), out)
    out, _, _ = c.run("discover", "dev1", "/3/0")
    rows = table(out)
    expect(find_row(rows, "/3/0/9")[1:] == ["Battery Level", "pmin=10"], f"discover {rows}")
    j = c.json("discover", "dev1", "/3/0")
    expect(j["links_text"] == "</3/0>,</3/0/0>,</3/0/9>;pmin=10", f"{j}")
    out, _, _ = c.run("attrs", "dev1", "/3/0/9", "--pmin", "10", "--pmax", "60", "--clear", "gt")
    expect(out.startswith("2.04"), out)
    out, _, _ = c.run("composite", "read", "dev1", "/3/0/0", "/1/0/1")
    rows = table(out)
    expect(find_row(rows, "/3/0/0")[1:] == ["Manufacturer", "v/3/0/0"], f"composite {rows}")
    j = c.json("composite", "read", "dev1", "/3/0/0")
    expect(j["records"] == [{"path": "/3/0/0", "type": "string", "value": "v/3/0/0"}], f"{j}")


def case_errors(exe):
    s = Server(exe)
    c = Cli(s)
    # Unknown endpoint: the API's 404 message, exit 5; --json prints the error document.
    _, err, _ = c.run("read", "ghost", "/3/0", rc=EXIT_HTTP)
    expect("no such client" in err and "404" in err, err)
    out, _, _ = c.run("read", "ghost", "/3/0", "--json", rc=EXIT_HTTP)
    expect(json.loads(out)["error"]["code"] == "unknown_client", out)
    _, err, _ = c.run("client", "ghost", rc=EXIT_HTTP)
    expect("no such client" in err, err)
    # Bad paths: refused before any request, exit 2.
    for bad in ["/3/x", "/3/0/1/2/3", "", "/70000"]:
        _, err, _ = c.run("read", "dev1", bad, rc=EXIT_USAGE)
        expect("not an LwM2M path" in err, f"{bad!r}: {err}")
    # Bad values for the resource's type (from the model): exit 2 with the type named.
    _, err, _ = c.run("write", "dev1", "/1/0/1", "abc", rc=EXIT_USAGE)
    expect("Lifetime" in err and "integer" in err and "'abc'" in err, err)
    _, err, _ = c.run("write", "dev1", "/1/0/6", "maybe", rc=EXIT_USAGE)  # Notification Storing
    expect("boolean" in err, err)
    # ... and values the API refuses (a type contradicting the model): exit 5 with its message.
    _, err, _ = c.run("write", "dev1", "/1/0/1", "abc", "--type", "string", rc=EXIT_HTTP)
    expect("contradicts" in err and "400" in err, err)
    _, err, _ = c.run("write", "dev1", "/1/0", "--node", "[1]", rc=EXIT_USAGE)
    expect("not a JSON object" in err, err)
    _, err, _ = c.run("exec", "dev1", "/3/0/4", "no quotes", rc=EXIT_HTTP)
    expect("§5.4.5" in err, err)
    _, err, _ = c.run("attrs", "dev1", "/3/0/9", "--lt", "10", "--gt", "5", rc=EXIT_HTTP)
    expect("lt must be below gt" in err, err)
    _, err, _ = c.run("attrs", "dev1", "/3/0/9", rc=EXIT_USAGE)
    expect("at least one attribute" in err, err)
    _, err, _ = c.run("read", "dev1", "/3/0", "--format", "xml", rc=EXIT_USAGE)
    # Usage errors of the parser.
    c.run("read", "dev1", rc=EXIT_USAGE)
    c.run("clients", "--limit", "0", rc=EXIT_USAGE)
    # The device does not answer: exit 4.
    t0 = time.monotonic()
    _, err, _ = c.run("read", "sleepy", "/3/0", "--timeout", "0.5", rc=EXIT_TIMEOUT)
    expect("504" in err and time.monotonic() - t0 < 10, err)
    # Missing and wrong token: 401 with a hint, exit 5.
    noauth = Cli(s, auth=False)
    _, err, _ = noauth.run("clients", "--server", s.url, rc=EXIT_HTTP)
    expect("401" in err and "--token-file" in err, err)
    bad = os.path.join(s.dir, "wrong-token")
    with open(bad, "w") as f:
        f.write("0" * 64 + "\n")
    _, err, _ = noauth.run("clients", "--server", s.url, "--token-file", bad, rc=EXIT_HTTP)
    expect("401" in err, err)
    _, err, _ = noauth.run("events", "--server", s.url, "--token-file", bad, rc=EXIT_HTTP)
    expect("401" in err, err)
    _, err, _ = noauth.run("clients", "--server", s.url, "--token-file", "/nonexistent",
                           rc=EXIT_USAGE)
    expect("token file" in err, err)
    # Bad server addresses: usage; a server that is down: exit 3, at once.
    _, err, _ = noauth.run("clients", "--server", "https://127.0.0.1:1", rc=EXIT_USAGE)
    _, err, _ = noauth.run("clients", "--server", "127.0.0.1:8080", rc=EXIT_USAGE)
    s.proc.send_signal(signal.SIGTERM)
    s.proc.wait(timeout=15)
    t0 = time.monotonic()
    _, err, _ = c.run("clients", rc=EXIT_NETWORK)
    expect("connection refused" in err and time.monotonic() - t0 < 5, err)
    c.run("observe", "dev1", "/3/0", "--count", "1", rc=EXIT_NETWORK)
    # --help documents the exit statuses.
    out, _, _ = Cli(s, auth=False).run("--help")
    expect("5 HTTP error" in out and "4 timeout" in out, out)


def secret_forms(key: bytes):
    return [key.hex(), key.hex().upper(), base64.b64encode(key).decode()] + \
        ([key.decode()] if key.isascii() else [])


def case_security(exe):
    s = Server(exe)
    c = Cli(s)
    outputs = []
    key1 = bytes.fromhex("8d2c1f0e7a6b5c4d3e2f1a0b9c8d7e6f")
    keyfile = os.path.join(s.dir, "dev9.key")
    with open(keyfile, "wb") as f:
        f.write(key1 + b"\n")
    os.chmod(keyfile, 0o600)
    argv1 = ["security", "add-psk", "dev9", "--identity", "dev9-id", "--psk-key-file", keyfile]
    out, err, _ = c.run(*argv1)
    outputs += [out, err]
    expect("added psk credentials of dev9" in out, out)
    # From stdin, and from LWM2M_PSK_KEY_HEX.
    key2 = b"stdin-secret-0123"
    argv2 = ["security", "add-psk", "dev8", "--identity-hex", "00ff", "--psk-key-file", "-"]
    out, err, _ = c.run(*argv2, "--json", stdin=key2)
    outputs += [out, err]
    expect(json.loads(out) == {"endpoint": "dev8"}, out)
    key3 = bytes.fromhex("a1b2c3d4e5f60718")
    out, err, _ = c.run("security", "add-psk", "dev7", "--identity", "seven",
                        env={"LWM2M_PSK_KEY_HEX": key3.hex()})
    outputs += [out, err]
    out, err, _ = c.run("security", "add-psk", "dev7", "--identity", "seven", "--replace",
                        "--psk-key-file", keyfile)
    outputs += [out, err]
    expect("replaced" in out, out)
    # Existing credentials: 409, exit 5; no key at all: usage.
    out, err, _ = c.run(*argv1, rc=EXIT_HTTP)
    outputs += [out, err]
    expect("409" in err, err)
    _, err, _ = c.run("security", "add-psk", "dev6", "--identity", "x", rc=EXIT_USAGE)
    expect("LWM2M_PSK_KEY_HEX" in err, err)
    # rpk and x509.
    pub = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + bytes(range(65))
    pem = os.path.join(s.dir, "pub.pem")
    with open(pem, "w") as f:
        f.write("-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(pub).decode() +
                "-----END PUBLIC KEY-----\n")
    c.run("security", "add-rpk", "dev5", "--public-key-file", pem)
    c.run("security", "add-x509", "dev4", "--common-name", "cn-four")
    # list / show: keys only as <set>.
    out, err, _ = c.run("security", "list")
    outputs += [out, err]
    rows = table(out)
    expect(find_row(rows, "dev9")[1:] == ["psk", "dev9-id", "key <set>"], f"list {rows}")
    expect(find_row(rows, "dev8")[2] == "0x00ff", f"{rows}")
    expect(find_row(rows, "dev4")[1:] == ["x509", "cn-four"], f"{rows}")
    j = c.json("security", "list")
    outputs.append(json.dumps(j))
    expect(j["total"] == 5, f"{j}")  # before the bulk import below
    j = c.json("security", "show", "dev5")
    expect(j["rpk_public_key_hex"] == pub.hex(), f"rpk {j}")
    for ep in ["dev9", "dev8", "dev7"]:
        out, err, _ = c.run("security", "show", ep)
        outputs += [out, err]
        j = c.json("security", "show", ep)
        outputs.append(json.dumps(j))
        expect(j["psk_key"] == "<set>", f"{j}")
    # Bulk import (POST /api/security/batch): a JSON array from a file or stdin.
    key4 = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    records = [{"endpoint": f"bulk{i}", "mode": "psk", "psk_identity": f"bulk{i}-id",
                "psk_key_hex": key4.hex()} for i in range(3)]
    bulk = os.path.join(s.dir, "bulk.json")
    with open(bulk, "w") as f:
        json.dump(records, f)
    out, err, _ = c.run("security", "import", bulk)
    outputs += [out, err]
    expect("stored the credentials of 3 endpoints" in out, out)
    out, err, _ = c.run("security", "import", bulk, rc=EXIT_HTTP)  # they exist now
    outputs += [out, err]
    expect("409" in err, err)
    j = c.json("security", "import", "-", "--replace", stdin=json.dumps(records).encode())
    expect(j == {"stored": 3}, f"{j}")
    _, err, _ = c.run("security", "import", "-", stdin=b'{"items": []}', rc=EXIT_USAGE)
    expect("JSON array" in err, err)
    _, err, _ = c.run("security", "import", "-", stdin=b"[]", rc=EXIT_HTTP)
    expect("items" in err, err)
    st, p = s.http("GET", "/api/security/bulk2")
    expect(st == 200 and p["psk_identity"] == "bulk2-id", f"{st} {p}")
    # The API holds them: GET through plain HTTP agrees.
    st, p = s.http("GET", "/api/security/dev9")
    expect(st == 200 and p["psk_identity"] == "dev9-id", f"{st} {p}")
    out, _, _ = c.run("security", "delete", "dev9")
    expect("deleted" in out, out)
    _, err, _ = c.run("security", "show", "dev9", rc=EXIT_HTTP)
    expect("404" in err, err)
    # No key in any output, nor on any command line given.
    for k in [key1, key2, key3, key4]:
        for form in secret_forms(k):
            for o in outputs:
                expect(form not in o, f"key form {form!r} printed: {o}")
            for a in argv1 + argv2:
                expect(form not in a, "key on the command line")
    # The command line of a running `lwm2m` holds no key: stdin keeps it waiting.
    p = subprocess.Popen([LWM2M, *argv2[:2], "dev3", *argv2[3:], "--server", s.url,
                          "--token-file", s.token_file], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)
    with open(f"/proc/{p.pid}/cmdline", "rb") as f:
        cmdline = f.read()
    out, err = p.communicate(key2, timeout=15)
    expect(p.returncode == 0, f"{out} {err}")
    for form in secret_forms(key2):
        expect(form.encode() not in cmdline + out + err, "key in cmdline/output")


def case_bootstrap(exe):
    s = Server(exe)
    c = Cli(s)
    psk = "00112233445566778899aabbccddeeff"
    cfg = {"endpoint": "dev9", "delete": ["/0", "/1"], "format": "tlv",
           "security": [{"instance_id": 0, "uri": "coaps://bs.example:5684",
                         "bootstrap_server": True, "mode": "psk", "psk_identity": "dev9",
                         "psk_key_hex": psk},
                        {"instance_id": 1, "uri": "coap://dm.example:5683",
                         "short_server_id": 101}],
           "servers": [{"instance_id": 0, "short_server_id": 101, "lifetime": 300,
                        "binding": "UQ"}]}
    path = os.path.join(s.dir, "dev9.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    outputs = []
    out, err, _ = c.run("bootstrap", "add", path)
    outputs += [out, err]
    expect("added the bootstrap configuration of dev9" in out, out)
    out, err, _ = c.run("bootstrap", "add", path, rc=EXIT_HTTP)
    expect("409" in err, err)
    cfg2 = dict(cfg, endpoint="dev10")
    out, err, _ = c.run("bootstrap", "add", "-", "--json", stdin=json.dumps(cfg2).encode())
    outputs += [out, err]
    expect(json.loads(out) == {"endpoint": "dev10"}, out)
    cfg["servers"][0]["lifetime"] = 600
    with open(path, "w") as f:
        json.dump(cfg, f)
    out, err, _ = c.run("bootstrap", "add", path, "--replace", "dev9")
    expect("replaced" in out, out)
    out, err, _ = c.run("bootstrap", "list")
    outputs += [out, err]
    rows = table(out)
    r = find_row(rows, "dev9")
    expect(r[1] == "coaps://bs.example:5684 (bs),coap://dm.example:5683" and r[2] == "1" and
           r[4] == "/0,/1" and r[5] == "tlv", f"list {rows}")
    j = c.json("bootstrap", "list")
    outputs.append(json.dumps(j))
    expect(j["total"] == 2, f"{j}")
    j = c.json("bootstrap", "show", "dev9")
    outputs.append(json.dumps(j))
    expect(j["servers"][0]["lifetime"] == 600 and j["security"][0]["psk_key"] == "<set>", f"{j}")
    out, err, _ = c.run("bootstrap", "show", "dev9")
    outputs += [out, err]
    expect(json.loads(out)["endpoint"] == "dev9", out)
    out, _, _ = c.run("bootstrap", "status", "dev9")
    expect(find_row(table(out), "state")[1] == "finished", out)
    j = c.json("bootstrap", "status", "dev9")
    expect(j["state"] == "finished" and j["endpoint"] == "dev9", f"{j}")
    out, _, _ = c.run("bootstrap", "delete", "dev9")
    expect("deleted" in out, out)
    _, err, _ = c.run("bootstrap", "show", "dev9", rc=EXIT_HTTP)
    expect("404" in err, err)
    # Invalid configurations: the API's message, exit 5; unreadable files: exit 2.
    _, err, _ = c.run("bootstrap", "add", "-", stdin=b'{"endpoint": "x", "bogus": 1}',
                      rc=EXIT_HTTP)
    expect("unknown field" in err and "bogus" in err, err)
    bad = dict(cfg, endpoint="x")
    bad["security"] = [dict(cfg["security"][0], uri="coap://bs.example")]
    _, err, _ = c.run("bootstrap", "add", "-", stdin=json.dumps(bad).encode(), rc=EXIT_HTTP)
    expect("coaps://" in err and psk not in err, err)
    _, err, _ = c.run("bootstrap", "add", "/nonexistent.json", rc=EXIT_USAGE)
    for o in outputs:
        expect(psk not in o and base64.b64encode(bytes.fromhex(psk)).decode() not in o,
               f"key printed: {o}")


def case_streams(exe):
    s = Server(exe)
    c = Cli(s)
    # observe: the first answer, then the notification (the fake engine publishes one per
    # observe), --count stops.
    out, _, _ = c.run("observe", "dev1", "/3/0", "--count", "1")
    lines = out.splitlines()
    expect(lines[0].startswith("2.05 Content"), out)
    expect(find_row(table(out), "/3/0/9")[2] == "87 %", out)
    expect(any(" notification dev1 /3/0" in l for l in lines), f"notification line {out}")
    out, _, _ = c.run("observe", "dev1", "/3/0/0", "--count", "1", "--json")
    docs = [json.loads(l) for l in out.splitlines()]
    expect(docs[0]["code"] == "2.05" and docs[0]["content"]["value"] == "Acme", f"{docs}")
    expect(docs[1]["type"] == "notification" and docs[1]["ep"] == "dev1" and
           docs[1]["data"]["path"] == "/3/0/0", f"{docs}")
    # An observation the device refuses: exit 1, no streaming.
    out, _, _ = c.run("observe", "dev1", "/3/7", "--count", "1", rc=EXIT_COAP)
    expect(out.startswith("4.04"), out)
    _, err, _ = c.run("observe", "ghost", "/3/0", "--count", "1", rc=EXIT_HTTP)
    expect("no such client" in err, err)
    # --duration ends a quiet stream with exit 0.
    t0 = time.monotonic()
    out, _, _ = c.run("composite", "observe", "dev1", "/3/0/0", "--duration", "1")
    expect(0.9 < time.monotonic() - t0 < 8 and out.startswith("2.05"), out)
    # Ctrl-C: 130 after the notification was printed.
    p = spawn([LWM2M, "observe", "dev1", "/3/0", "--server", s.url, "--token-file",
               s.token_file, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    second = p.stdout.readline()
    expect(json.loads(first)["code"] == "2.05" and json.loads(second)["type"] == "notification",
           f"{first} {second}")
    p.send_signal(signal.SIGINT)
    p.wait(timeout=10)
    expect(p.returncode == 130, f"Ctrl-C exit {p.returncode}")
    # events: the ring replays from --last-event-id; the fake backend publishes a deregistration
    # when a client is removed.
    st, _ = s.http("DELETE", "/api/clients/dev2")
    expect(st == 204, f"delete {st}")
    j = [json.loads(l) for l in c.run("events", "--last-event-id", "0", "--type",
                                      "deregistration", "--count", "1", "--json")[0].splitlines()]
    expect(len(j) == 1 and j[0]["type"] == "deregistration" and j[0]["ep"] == "dev2" and
           j[0]["data"] == {"reason": "api"}, f"events {j}")
    out, _, _ = c.run("events", "--last-event-id", "0", "--ep", "dev2", "--count", "1")
    expect(" deregistration " in out and "dev2" in out and '"reason":"api"' in out, out)
    _, err, _ = c.run("events", "--type", "nonsense", "--count", "1", rc=EXIT_HTTP)
    expect("type must be" in err, err)
    # A stream waits for events and prints them as they come.
    p = spawn([LWM2M, "events", "--server", s.url, "--token-file", s.token_file, "--json",
               "--count", "1", "--type", "deregistration"], stdout=subprocess.PIPE)
    time.sleep(0.5)
    s.http("DELETE", "/api/clients/sensor-a")
    out, _ = p.communicate(timeout=10)
    expect(p.returncode == 0 and json.loads(out)["ep"] == "sensor-a", f"live {out}")
    # The server going away ends a stream with exit 3 and says so.
    p = spawn([LWM2M, "events", "--server", s.url, "--token-file", s.token_file],
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=15)
    expect(p.returncode == EXIT_NETWORK and b"closed the event stream" in err,
           f"server stop: {p.returncode} {err}")


def case_history(exe):
    """events history: the persisted log (the fake backend logs "deregistered" per removal)."""
    s = Server(exe)
    c = Cli(s)
    out, _, _ = c.run("events", "history", "--help")
    for opt in ("--ep", "--after", "--limit", "--all", "GET /api/events/history"):
        expect(opt in out, f"--help lacks {opt}: {out}")
    out, _, _ = c.run("events", "history")
    expect(out.strip().endswith("0 events"), out)
    for ep in ("dev2", "sensor-a", "dev1"):
        st, _ = s.http("DELETE", f"/api/clients/{ep}")
        expect(st == 204, f"delete {ep}: {st}")
    j = c.json("events", "history")
    expect([(e["seq"], e["endpoint"], e["kind"], e["detail"]) for e in j["events"]] ==
           [(1, "dev2", "deregistered", "removed"), (2, "sensor-a", "deregistered", "removed"),
            (3, "dev1", "deregistered", "removed")] and j["next_after"] is None, f"{j}")
    rows = table(c.run("events", "history")[0])
    expect(rows[0] == ["SEQ", "TIME", "ENDPOINT", "KIND", "DETAIL"], f"{rows}")
    expect(rows[1][0] == "1" and rows[1][2:] == ["dev2", "deregistered", "removed"] and
           rows[1][1].endswith("Z"), f"{rows}")
    expect(rows[-1] == ["3 events"], f"{rows}")
    out, _, _ = c.run("events", "history", "--ep", "sensor-a")
    rows = table(out)
    expect(len(rows) == 3 and rows[1][0] == "2" and rows[1][2] == "sensor-a", out)
    out, _, _ = c.run("events", "history", "--limit", "2")
    rows = table(out)
    expect([r[0] for r in rows[1:3]] == ["1", "2"] and rows[-1] == ["2 events; more: --after 2"],
           out)
    out, _, _ = c.run("events", "history", "--after", "2")
    rows = table(out)
    expect(len(rows) == 3 and rows[1][0] == "3" and rows[-1] == ["1 event"], out)
    j = c.json("events", "history", "--limit", "1", "--all")
    expect([e["seq"] for e in j["events"]] == [1, 2, 3] and j["next_after"] is None, f"{j}")
    j = c.json("events", "history", "--limit", "1")
    expect([e["seq"] for e in j["events"]] == [1] and j["next_after"] == 1, f"{j}")
    _, err, _ = c.run("events", "history", "--limit", "0", rc=EXIT_USAGE)
    expect("--limit" in err, err)
    noauth = Cli(s, auth=False)
    _, err, _ = noauth.run("events", "history", "--server", s.url, rc=EXIT_HTTP)
    expect("HTTP 401" in err, err)


def case_stats(exe):
    """stats: counters and the server-side latency table (the fake backend's fixed figures)."""
    s = Server(exe)
    c = Cli(s)
    j = c.json("stats")
    expect(j["dm"]["updates"] == 7 and j["latency"]["update"]["count"] == 4 and
           j["latency"]["update"]["max_ms"] == 4.0, f"{j}")
    rows = table(c.run("stats")[0])
    expect(find_row(rows, "updates") == ["updates", "7"], f"{rows}")
    lat = find_row(rows, "update")
    expect(lat is not None and lat[1] == "4" and lat[-1] == "4.000 ms", f"{rows}")
    noauth = Cli(s, auth=False)
    _, err, _ = noauth.run("stats", "--server", s.url, rc=EXIT_HTTP)
    expect("HTTP 401" in err, err)


def case_config(exe):
    s = Server(exe)
    c = Cli(s, auth=False)
    # Environment.
    j = json.loads(c.run("clients", "--json", env={"LWM2M_SERVER": s.url,
                                                   "LWM2M_TOKEN": s.token})[0])
    expect(j["total"] == 3, f"env {j}")
    # Config file in $XDG_CONFIG_HOME/lwm2m/config.json.
    xdg = tempfile.mkdtemp(prefix="lwm2m_xdg_")
    os.makedirs(os.path.join(xdg, "lwm2m"))
    cfg = os.path.join(xdg, "lwm2m", "config.json")
    with open(cfg, "w") as f:
        json.dump({"server": s.url, "token_file": s.token_file}, f)
    j = json.loads(c.run("clients", "--json", env={"XDG_CONFIG_HOME": xdg})[0])
    expect(j["total"] == 3, f"config {j}")
    # ~/.config fallback, with the token inline.
    home = tempfile.mkdtemp(prefix="lwm2m_home_")
    os.makedirs(os.path.join(home, ".config", "lwm2m"))
    with open(os.path.join(home, ".config", "lwm2m", "config.json"), "w") as f:
        json.dump({"server": s.url, "token": s.token}, f)
    env = {"HOME": home, "XDG_CONFIG_HOME": ""}
    j = json.loads(c.run("clients", "--json", env=env)[0])
    expect(j["total"] == 3, f"home config {j}")
    # Flags beat the environment, which beats the file.
    _, err, _ = c.run("clients", "--server", "http://127.0.0.1:1", rc=EXIT_NETWORK, env=env)
    _, err, _ = c.run("clients", rc=EXIT_NETWORK, env=dict(env, LWM2M_SERVER="http://127.0.0.1:1"))
    _, err, _ = c.run("clients", rc=EXIT_HTTP, env=dict(env, LWM2M_TOKEN="f" * 64))
    expect("401" in err, err)
    # --config; a broken config file is a usage error.
    j = json.loads(c.run("clients", "--json", "--config", cfg)[0])
    expect(j["total"] == 3, f"--config {j}")
    with open(cfg, "w") as f:
        f.write('{"server": 1}')
    _, err, _ = c.run("clients", rc=EXIT_USAGE, env={"XDG_CONFIG_HOME": xdg})
    expect("config.json" in err, err)
    _, err, _ = c.run("clients", "--config", "/nonexistent", rc=EXIT_USAGE)


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--lwm2m", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    a = ap.parse_args()
    LWM2M = a.lwm2m
    try:
        CASES[a.case](a.server)
        print(f"PASS {a.case}")
    except Exception as e:  # noqa: BLE001
        print(f"FAIL {a.case}: {e}")
        sys.exit(1)
    finally:
        kill_children()
