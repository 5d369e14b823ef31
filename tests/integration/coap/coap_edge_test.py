#!/usr/bin/env python3
"""The CoAP edge of `lwm2m coap serve` over real UDP on 127.0.0.1, as a hostile or careless peer
sees it: datagrams larger than the server's receive buffer (RFC 7959 §2.9.3); floods of requests
from thousands of source ports (each one a distinct CoAP endpoint, RFC 7252 §1.2: what a
source-address spoofer looks like to the server, except that these sockets could read the
answers); the amplification of a small GET toward an address that never proved it receives
(RFC 7252 §11.3, RFC 9175 §2.4). Every child is killed on exit; every wait is bounded.

  coap_edge_test.py --lwm2m build/.../lwm2m [--case NAME] [--list]
"""
import argparse
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import (ACK, CON, GET, OPT_BLOCK1, OPT_ECHO, OPT_SIZE1, OPT_URI_PATH, PUT,  # noqa: E402
                   coap_code, coap_decode, coap_encode, coap_option, coap_uint, expect,
                   kill_children, large_reference, run, spawn)


class Ctx:
    def __init__(self, lwm2m, tmp):
        self.lwm2m, self.tmp = lwm2m, tmp
        self.server_log = os.path.join(tmp, "server.log")

    def serve(self, extra=()):
        """Starts the server (info log to server_log); returns (process, (host, port))."""
        log = open(self.server_log, "w")
        p = spawn([self.lwm2m, "--log-level", "info", "coap", "serve", "--listen", "127.0.0.1:0",
                   *extra], stdout=subprocess.PIPE, stderr=log, text=True)
        r, _, _ = select.select([p.stdout], [], [], 5)
        expect(r, "server printed nothing within 5 s")
        m = re.match(r"listening on (\S+):(\d+)$", p.stdout.readline().strip())
        expect(m, "no 'listening on' line")
        return p, (m.group(1), int(m.group(2)))

    def stop_stats(self, p):
        """SIGTERM; returns the counters of the server's 'stopped:' log line."""
        p.send_signal(signal.SIGTERM)
        expect(p.wait(timeout=10) == 0, "server did not exit 0 on SIGTERM")
        text = open(self.server_log).read()
        m = re.search(r"stopped: (\d+) datagrams in, (\d+) out, \d+ malformed dropped, (\d+) "
                      r"refused, (\d+) caches evicted, (\d+) Echo challenges", text)
        expect(m, "no 'stopped:' line in the server log: " + text[-500:])
        keys = ("in", "out", "refused", "evicted", "echo")
        return dict(zip(keys, (int(g) for g in m.groups())))

    def get(self, addr, path, timeout=10):
        return run([self.lwm2m, "coap", "get", f"coap://{addr[0]}:{addr[1]}{path}", "--timeout",
                    str(timeout)], timeout=timeout + 10)


def exchange(sock, addr, datagram, want_mid, timeout=2.0):
    """Sends `datagram` (retrying like a CON) until a reply with message ID `want_mid` arrives."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        sock.sendto(datagram, addr)
        try:
            while True:
                data, _ = sock.recvfrom(65536)
                m = coap_decode(data)
                if m and m["mid"] == want_mid:
                    return m
        except socket.timeout:
            pass
    raise AssertionError(f"no reply to mid {want_mid:#x} within {timeout} s")


def oversized_request_gets_413(c):
    # The server's loop reads 4096 bytes per datagram (transport::LoopOptions::max_datagram).
    p, addr = c.serve()
    body = bytes(i % 251 for i in range(6000))
    big = coap_encode(CON, PUT, 0x2001, b"bigtoken", [(OPT_URI_PATH, b"echo")], body)
    expect(len(big) > 4096, "the test datagram must exceed the receive buffer")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        r = exchange(s, addr, big, 0x2001)
        expect(r["type"] == ACK and coap_code(r["code"]) == "4.13",
               f"want ACK 4.13, got type {r['type']} code {coap_code(r['code'])}")
        expect(r["token"] == b"bigtoken", "token not echoed")
        size1 = coap_uint(coap_option(r, OPT_SIZE1))
        expect(size1 is not None and size1 >= 4096, f"Size1 {size1}")
        b1 = coap_uint(coap_option(r, OPT_BLOCK1))
        expect(b1 is not None and (b1 >> 4) == 0 and not b1 & 8, f"Block1 {b1}")
        # Retrying block-wise at the advertised size works (RFC 7959 §2.5).
        bs = 16 << (b1 & 7)
        mid, num = 0x3000, 0
        while num * bs < len(body):
            more = (num + 1) * bs < len(body)
            blk = (num << 4) | (8 if more else 0) | (b1 & 7)
            d = coap_encode(CON, PUT, mid, b"bigtoken",
                            [(OPT_URI_PATH, b"echo"), (OPT_BLOCK1, blk.to_bytes(3, "big").lstrip(b"\0"))],
                            body[num * bs:(num + 1) * bs])
            r = exchange(s, addr, d, mid)
            want = "2.31" if more else "2.04"
            expect(coap_code(r["code"]) == want, f"block {num}: {coap_code(r['code'])}, want {want}")
            mid, num = mid + 1, num + 1
    expect(p.poll() is None, "server exited")


def flood(addr, first_port, sockets, stop):
    """One CON GET /large (as a spoofer sends them: one per fake source) from each of `sockets`
    source ports bound one after the other from `first_port` (busy ports are skipped). Each port
    waits for its answer (retransmitting the same MID, as RFC 7252 §4.2 does) before the next one
    starts, so that every request reaches the server however slow the build is (an ASan server
    drops most of an unpaced flood in the kernel's receive buffer and never fills its budget).
    Returns (datagrams sent, bytes sent, requests answered)."""
    sent = nbytes = answered = 0
    port = first_port
    opened = 0
    while opened < sockets and not stop.is_set() and port < 65000:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                port += 1
                continue
            port += 1
            opened += 1
            s.settimeout(1.0)
            d = coap_encode(CON, GET, opened & 0xFFFF, b"", [(OPT_URI_PATH, b"large")])
            for _ in range(4):
                s.sendto(d, addr)
                sent += 1
                nbytes += len(d)
                try:
                    s.recvfrom(65536)
                    answered += 1
                    break
                except socket.timeout:
                    continue
    return sent, nbytes, answered


def flood_keeps_legitimate_clients_served(c):
    # Part 1 alone (address validation off): 6,000 source ports x 1 GET /large (as a spoofer
    # sends them: one per fake source), each making the server cache a 4 KiB body and a 1 KiB
    # reply, against an 8 MiB budget (full after ~1,600 of them). Legitimate clients, fetching
    # /hello and /large during and after the flood, must always get their 2.05. (The previous
    # server, flooded the same way from 16,000 ports against its 64 MiB, answered 5.03 or, for
    # /large, nothing at all: "response not sent: CoAP peer or exchange limit reached".)
    p, addr = c.serve(["--amplification-factor", "0", "--max-buffered-bytes", str(8 << 20)])
    stop = threading.Event()
    result = {}
    t = threading.Thread(target=lambda: result.update(
        zip(("sent", "bytes", "answered"), flood(addr, 21000, 6000, stop))), daemon=True)
    t.start()
    large = large_reference()
    ok = 0
    try:
        while t.is_alive() or ok < 6:
            path = "/large" if ok % 2 else "/hello"
            r = c.get(addr, path)
            expect(r.returncode == 0, f"legitimate GET {path} during the flood: exit "
                   f"{r.returncode}, {r.stdout[:60]!r} {r.stderr[-300:]!r}")
            body = r.stdout.split(b"\n", 1)[1] if b"\n" in r.stdout else b""
            want = large + b"\n" if path == "/large" else b"Hello, world!\n"
            expect(r.stdout.startswith(b"2.05") and body == want, f"GET {path}: {r.stdout[:80]!r}")
            ok += 1
            if ok > 200:
                break
    finally:
        stop.set()
        t.join(timeout=30)
    expect(result.get("answered", 0) >= 5900, f"flood requests answered: {result}")
    st = c.stop_stats(p)
    expect(st["evicted"] > 0, f"the flood never filled the budget: {st}")
    expect(st["refused"] == 0, f"requests were refused: {st}")
    print(f"  flood: {result['answered']} GET /large from as many ports, {ok} legitimate GETs all 2.05; "
          f"server {st}")


def amplification_is_bounded_for_unverified_ports(c):
    # Part 2: 2,000 source ports each send one 10-byte GET /large and read the answer: a 4.01
    # with an Echo within 3x the request (it was 1,041 bytes). Then our client, which answers
    # the Echo, gets the whole body.
    p, addr = c.serve()
    sent = received = 0
    codes = {}
    for i in range(2000):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(2)
            d = coap_encode(CON, GET, i, b"", [(OPT_URI_PATH, b"large")])
            s.sendto(d, addr)
            data, _ = s.recvfrom(65536)
            sent += len(d)
            received += len(data)
            m = coap_decode(data)
            expect(m is not None and m["mid"] == i, f"answer {i}: {data!r}")
            codes[coap_code(m["code"])] = codes.get(coap_code(m["code"]), 0) + 1
            expect(len(data) <= 3 * len(d), f"{len(data)} bytes back for a {len(d)}-byte request")
            echo = coap_option(m, OPT_ECHO)
            expect(coap_code(m["code"]) == "4.01" and echo and 1 <= len(echo) <= 40,
                   f"want 4.01 + Echo, got {coap_code(m['code'])}")
    r = c.get(addr, "/large")
    expect(r.returncode == 0 and r.stdout == b"2.05 Content\n" + large_reference() + b"\n",
           f"our client through the Echo challenge: {r.stdout[:80]!r} {r.stderr[-300:]!r}")
    st = c.stop_stats(p)
    expect(st["echo"] >= 2001, f"{st}")
    print(f"  2000 unverified GET /large: {sent} B in, {received} B out "
          f"({received / sent:.2f}x, {received / 2000:.1f} B each), {codes}; server {st}")


CASES = {f.__name__: f for f in [oversized_request_gets_413, flood_keeps_legitimate_clients_served,
                                 amplification_is_bounded_for_unverified_ports]}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lwm2m")
    ap.add_argument("--case", action="append")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    failed = 0
    for name in a.case or list(CASES):
        t0 = time.monotonic()
        try:
            with tempfile.TemporaryDirectory(prefix="lwm2m-coap-edge-") as tmp:
                CASES[name](Ctx(os.path.abspath(a.lwm2m), tmp))
                print(f"PASS {name} ({time.monotonic() - t0:.2f} s)")
        except Exception as e:  # noqa: BLE001
            failed += 1
            print(f"FAIL {name}: {e}")
        finally:
            kill_children()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
