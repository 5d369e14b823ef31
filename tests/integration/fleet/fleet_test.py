#!/usr/bin/env python3
"""lwm2m-fleet against the real lwm2m-server on 127.0.0.1 (label integration).

  fleet_test.py --fleet PATH --server PATH --case NAME

Cases: psk_1000 (1,000 devices over DTLS-PSK: every one registers, every one's /3/0/0 is read
through the REST API), churn (NoSec: devices leave and come back), usage (bad input: exit 2).
Prints "PASS <case>" or "FAIL <case>: why".
"""
import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import procs  # noqa: E402
from procs import expect  # noqa: E402
from server_test import Server  # noqa: E402


def start_server(a, d, extra=()):
    s = Server(a.server, os.path.join(d, "server"), "sqlite", list(extra) + ["--log-level", "warn"])
    os.makedirs(s.data_dir, exist_ok=True)
    s.start()
    return s


class Fleet(procs.OutErrLines):
    def __init__(self, a, args):
        super().__init__([a.fleet] + args)

    def finish(self, timeout=60):
        rc = self.proc.wait(timeout=timeout)
        time.sleep(0.2)
        return rc


def summary(fl):
    text = "".join(x for x in fl.out if not x.startswith("all "))
    return json.loads(text)


def case_psk_1000(a, d):
    n = 1000
    s = start_server(a, d)
    key = secrets.token_bytes(32)
    key_file = os.path.join(d, "fleet.key")
    with open(key_file, "wb") as f:
        f.write(key + b"\n")  # one trailing newline is removed (a random key may end in 0x0a)
    t = time.time()
    # Bulk provisioning (POST /api/security/batch): 900 in one request, then 100 more.
    items = [{"endpoint": f"fl-{i}", "mode": "psk", "psk_identity": f"fl-{i}",
              "psk_key_hex": key.hex()} for i in range(n)]
    for lo, hi in ((0, 900), (900, n)):
        st, j, _ = s.api("POST", "/api/security/batch", {"items": items[lo:hi]})
        expect(st == 200 and j["stored"] == hi - lo, f"security batch {lo}..{hi}: {st} {j}")
    # All or nothing: a batch whose last record takes an identity in use stores nothing.
    bad = [{"endpoint": "fl-extra", "mode": "psk", "psk_identity": "fl-extra",
            "psk_key_hex": key.hex()},
           {"endpoint": "fl-extra2", "mode": "psk", "psk_identity": "fl-3",
            "psk_key_hex": key.hex()}]
    st, j, _ = s.api("POST", "/api/security/batch", {"items": bad})
    expect(st == 409 and "record 1" in j["error"]["message"], f"conflicting batch: {st} {j}")
    st, _, _ = s.api("GET", "/api/security/fl-extra")
    expect(st == 404, f"a refused batch stored its first record: {st}")
    provision_s = time.time() - t
    fl = Fleet(a, ["--server", f"coaps://127.0.0.1:{s.ports['coaps']}", "-n", str(n),
                   "--rate", "500", "--duration", "120", "--endpoint-prefix", "fl-",
                   "--psk-key-file", key_file, "--json", "--shutdown-grace", "20",
                   # Real devices have addresses of their own: from one address the server's
                   # per-address handshake cap (8) makes this a test of overload back-off.
                   "--source-addresses", "64"])
    if not fl.wait_line("all 1000 registered", 90):
        st, stats, _ = s.api("GET", "/api/stats")
        expect(False, f"not every device registered: {fl.out[-3:]} {fl.err[-3:]}\n"
                      f"server stats: {stats}\n{s.stderr()}")
    st, j, _ = s.api("GET", "/api/clients?ep_prefix=fl-&limit=1")
    expect(st == 200 and j["total"] == n, f"the server lists {j.get('total')} clients")
    t = time.time()
    for i in range(n):
        st, j, _ = s.api("GET", f"/api/clients/fl-{i}/read/3/0/2?format=text")
        expect(st == 200 and j["code"] == "2.05" and j["content"]["value"] == f"fl-{i}",
               f"read fl-{i}: {st} {j}")
    read_s = time.time() - t
    fl.proc.send_signal(signal.SIGINT)  # ends the run early: every device de-registers
    rc = fl.finish()
    j = summary(fl)
    expect(rc == 0 and j["registrations"] == n and j["never_registered"] == 0,
           f"fleet exit {rc}: {j}")
    expect(j["deregistrations"] == n and not j["failures"], f"summary: {j}")
    st, j2, _ = s.api("GET", "/api/clients?ep_prefix=fl-&limit=1")
    expect(st == 200 and j2["total"] == 0, f"{j2['total']} clients left after the De-registers")
    print(f"provisioned {n} PSK credentials in {provision_s:.1f} s; registration p50 "
          f"{j['register_latency_ms']['p50']:.1f} ms p99 {j['register_latency_ms']['p99']:.1f} ms;"
          f" {n} REST reads in {read_s:.1f} s")
    s.stop()
    expect(key.hex() not in s.stderr(), "the key in the server log")


def case_churn(a, d):
    s = start_server(a, d, ["--nosec", "any"])
    fl = Fleet(a, ["--server", f"coap://127.0.0.1:{s.ports['coap']}", "-n", "50", "--rate", "200",
                   "--duration", "5", "--churn", "0.4", "--churn-interval", "1",
                   "--lifetime", "60", "--json"])
    rc = fl.finish()
    j = summary(fl)
    expect(rc == 0 and j["never_registered"] == 0, f"exit {rc}: {j}")
    expect(j["churned"] >= 20, f"churned {j['churned']}")
    # Half of the churned devices de-register, and each comes back with a new Register.
    expect(j["registrations"] > 50 and j["deregistrations"] > 50, f"summary: {j}")
    s.stop()


def case_usage(a, d):
    for args, words in (
            ([], "exactly one of --server and --bootstrap"),
            (["--server", "coap://10.1.2.3:5683"], "--allow-remote"),
            (["--server", "coap://example.com:5683"], "IP literal"),
            (["--server", "coaps://127.0.0.1:5684"], "LWM2M_PSK_KEY_HEX"),
            (["--server", "http://127.0.0.1"], "not a coap"),
            (["--server", "coap://127.0.0.1:5683", "-n", "0"], "count")):
        r = subprocess.run([a.fleet] + args, capture_output=True, text=True, timeout=10)
        expect(r.returncode == 2, f"{args}: exit {r.returncode}")
        expect(words in r.stdout + r.stderr, f"{args}: no '{words}' in {r.stderr!r}")
    r = subprocess.run([a.fleet, "--help"], capture_output=True, text=True, timeout=10)
    for opt in ("--server", "--bootstrap", "--count", "--rate", "--duration", "--lifetime",
                "--psk-key-file", "--churn", "--churn-interval", "--value-interval", "--json",
                "--allow-remote"):
        expect(opt in r.stdout, f"--help lacks {opt}")


CASES = {f.__name__[5:]: f for f in (case_psk_1000, case_churn, case_usage)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fleet", required=True)
    p.add_argument("--server", required=True)
    return procs.run_case_main(p, CASES, "lwm2m-fleet-test-")

if __name__ == "__main__":
    sys.exit(main())
