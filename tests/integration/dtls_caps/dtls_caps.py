#!/usr/bin/env python3
"""The DTLS half-open caps of `lwm2m coap serve` (issue #7) over 127.0.0.1, with hand-made DTLS
1.2 ClientHellos (RFC 6347 §4.2.1 cookie exchange, then silence: a half-open handshake).

  dtls_caps.py --lwm2m build/.../lwm2m [--case NAME] [--list]

Cases:
  per_address_cap_refuses_third_handshake
        --max-handshakes-per-address 2: three sockets of 127.0.0.1 complete the cookie exchange;
        the first two get a ServerHello, the third nothing (it retransmits: still nothing); the
        server keeps serving and reports the refusals when stopped
  cap_flags_are_checked
        zero or out-of-range cap values are usage errors (exit 2); the flags are in --help
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
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import expect, kill_children, run, spawn  # noqa: E402

IDENTITY = "caps-test"
KEY_HEX = "00112233445566778899aabbccddeeff"


def client_hello(cookie=b"", seq=0):
    """A DTLS 1.2 ClientHello offering TLS_PSK_WITH_AES_128_CCM_8 (RFC 6347 §4.2.1, §4.3.2)."""
    body = b"\xfe\xfd" + bytes(range(32))  # client_version, random
    body += b"\x00"  # session_id
    body += bytes([len(cookie)]) + cookie
    body += b"\x00\x02\xc0\xa8"  # cipher_suites
    body += b"\x01\x00"  # compression: null
    ext = b"\xff\x01\x00\x01\x00" + b"\x00\x17\x00\x00"  # renegotiation_info, extended_master_secret
    body += len(ext).to_bytes(2, "big") + ext
    n = len(body).to_bytes(3, "big")
    hs = b"\x01" + n + seq.to_bytes(2, "big") + b"\x00\x00\x00" + n + body
    return b"\x16\xfe\xfd\x00\x00" + seq.to_bytes(6, "big") + len(hs).to_bytes(2, "big") + hs


def handshake_types(datagram):
    """Handshake message types of the epoch-0 records in a datagram."""
    out, off = [], 0
    while off + 13 <= len(datagram):
        ln = int.from_bytes(datagram[off + 11:off + 13], "big")
        if datagram[off] == 22 and datagram[off + 3:off + 5] == b"\x00\x00" and ln >= 1:
            out.append(datagram[off + 13])
        off += 13 + ln
    return out


def serve(lwm2m, tmp, *extra):
    err = open(os.path.join(tmp, "serve.err"), "wb")
    p = spawn([lwm2m, "--log-level", "info", "coap", "serve", "--listen", "127.0.0.1:0",
               "--psk-identity", IDENTITY, "--psk-key-hex", KEY_HEX, *extra],
              stdout=subprocess.PIPE, stderr=err, text=True)
    r, _, _ = select.select([p.stdout], [], [], 5)
    expect(r, "server printed nothing within 5 s")
    m = re.match(r"listening on (\S+):(\d+)$", p.stdout.readline().strip())
    expect(m, "no 'listening on' line")
    return p, (m.group(1), int(m.group(2)))


def half_open(addr, sock):
    """Cookie exchange from `sock`; returns the handshake types of the answer to the second
    ClientHello (empty: dropped)."""
    sock.settimeout(2)
    sock.sendto(client_hello(), addr)
    hvr, _ = sock.recvfrom(2048)
    expect(handshake_types(hvr) == [3], f"expected a HelloVerifyRequest, got {hvr[:20].hex()}")
    cookie = hvr[13 + 12 + 3:13 + 12 + 3 + hvr[13 + 12 + 2]]
    second = client_hello(cookie, seq=1)
    types = []
    for attempt in range(2):  # the second try is the client's retransmission
        sock.sendto(second, addr)
        sock.settimeout(0.7)
        try:
            while True:
                d, _ = sock.recvfrom(2048)
                types += handshake_types(d)
        except socket.timeout:
            pass
        if types:
            break
    return types


def per_address_cap_refuses_third_handshake(lwm2m, tmp):
    p, addr = serve(lwm2m, tmp, "--max-handshakes-per-address", "2")
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        answers = [half_open(addr, s) for s in socks]
    finally:
        for s in socks:
            s.close()
    expect(2 in answers[0] and 2 in answers[1], f"first two got no ServerHello: {answers}")
    expect(answers[2] == [], f"the third handshake from 127.0.0.1 was answered: {answers[2]}")
    # The server still serves plain traffic of a new client (a fresh cookie exchange is stateless).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(client_hello(), addr)
        expect(handshake_types(s.recvfrom(2048)[0]) == [3], "no HelloVerifyRequest afterwards")
    expect(p.poll() is None, "server exited")
    os.killpg(p.pid, signal.SIGTERM)
    p.wait(timeout=5)
    log = open(os.path.join(tmp, "serve.err"), "rb").read()
    m = re.search(rb"(\d+) refused per address", log)
    expect(m and int(m.group(1)) >= 1, f"no refusal reported: {log[-1500:]!r}")


def cap_flags_are_checked(lwm2m, tmp):
    base = [lwm2m, "coap", "serve", "--listen", "127.0.0.1:0", "--psk-identity", IDENTITY,
            "--psk-key-hex", KEY_HEX, "--duration", "0.1"]
    for bad in (["--max-handshakes", "0"], ["--max-handshakes-per-address", "0"],
                ["--max-handshakes-per-prefix", "0"], ["--max-sessions", "0"],
                ["--ipv4-prefix", "0"], ["--ipv4-prefix", "33"], ["--ipv6-prefix", "129"],
                ["--max-handshakes", "x"]):
        r = run(base + bad, timeout=10)
        expect(r.returncode == 2, f"{bad} exited {r.returncode}: {r.stderr[-300:]!r}")
    r = run(base + ["--max-handshakes", "10", "--max-handshakes-per-address", "1",
                    "--max-handshakes-per-prefix", "5", "--ipv4-prefix", "16", "--ipv6-prefix", "48",
                    "--max-sessions", "100"], timeout=10)
    expect(r.returncode == 0, f"valid caps refused: {r.stderr[-300:]!r}")
    h = run([lwm2m, "coap", "serve", "--help"]).stdout
    for flag in (b"--max-sessions", b"--max-handshakes", b"--max-handshakes-per-address",
                 b"--max-handshakes-per-prefix", b"--ipv4-prefix", b"--ipv6-prefix"):
        expect(flag in h, f"serve --help lacks {flag}")


CASES = {f.__name__: f for f in [per_address_cap_refuses_third_handshake, cap_flags_are_checked]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lwm2m")
    ap.add_argument("--case", action="append")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    failed = 0
    for name in a.case or list(CASES):
        with tempfile.TemporaryDirectory(prefix="dtls-caps-") as tmp:
            t0 = time.monotonic()
            try:
                CASES[name](os.path.abspath(a.lwm2m), tmp)
                print(f"PASS {name} ({time.monotonic() - t0:.2f} s)")
            except Exception as e:  # noqa: BLE001 - report every failure kind
                failed += 1
                print(f"FAIL {name}: {e}")
            finally:
                kill_children()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
