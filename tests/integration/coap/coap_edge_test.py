#!/usr/bin/env python3
"""The CoAP edge of `lwm2m coap serve` over real UDP on 127.0.0.1, as a hostile or careless peer
sees it: datagrams larger than the server's receive buffer (RFC 7959 §2.9.3). Every child is
killed on exit; every wait is bounded.

  coap_edge_test.py --lwm2m build/.../lwm2m [--case NAME] [--list]
"""
import argparse
import os
import re
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import (ACK, CON, OPT_BLOCK1, OPT_SIZE1, OPT_URI_PATH, PUT, coap_code,  # noqa: E402
                   coap_decode, coap_encode, coap_option, coap_uint, expect, kill_children, spawn)


class Ctx:
    def __init__(self, lwm2m):
        self.lwm2m = lwm2m

    def serve(self, extra=()):
        p = spawn([self.lwm2m, "coap", "serve", "--listen", "127.0.0.1:0", *extra],
                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        r, _, _ = select.select([p.stdout], [], [], 5)
        expect(r, "server printed nothing within 5 s")
        m = re.match(r"listening on (\S+):(\d+)$", p.stdout.readline().strip())
        expect(m, "no 'listening on' line")
        return p, (m.group(1), int(m.group(2)))


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


CASES = {f.__name__: f for f in [oversized_request_gets_413]}


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
            CASES[name](Ctx(os.path.abspath(a.lwm2m)))
            print(f"PASS {name} ({time.monotonic() - t0:.2f} s)")
        except Exception as e:  # noqa: BLE001
            failed += 1
            print(f"FAIL {name}: {e}")
        finally:
            kill_children()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
