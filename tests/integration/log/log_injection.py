#!/usr/bin/env python3
"""Log injection through the real server (issue #7): `lwm2m --log-level info coap serve` logs
every request's path; a peer puts a line break with a forged log line, ANSI escapes, a C1 CSI, a
U+2028 line separator and invalid UTF-8 into Uri-Path options. Every stderr line must still be
one of the server's own records (timestamp, level, [component]), without ESC/CR/C1 bytes, and
the hostile bytes must show as \\xNN escapes inside the one [demo] record of the request.

  log_injection.py --lwm2m build/.../lwm2m
"""
import argparse
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import expect, kill_children, spawn  # noqa: E402

FORGED = b"x\n23:59:59.000 error [dtls] FORGED handshake failure\r"
ANSI = b"\x1b[2J\x1b[31mRED\x1b[0m"
C1_AND_SEPARATOR = b"\xc2\x9b2J\xe2\x80\xa8after-separator"
BAD_UTF8 = b"\xc0\xaf\xff"
RECORD = re.compile(rb"^\d\d:\d\d:\d\d\.\d{3} (trace|debug|info|warning|warn|error|critical) \[[a-z]+\] ")


def coap_get(segments, mid=0x4242, token=b"\x01\x02"):
    """CON GET with the given Uri-Path segments (RFC 7252 §3, option 11)."""
    out = bytes([0x40 | len(token), 0x01, mid >> 8, mid & 0xFF]) + token
    prev = 0
    for i, seg in enumerate(segments):
        delta = 11 - prev if i == 0 else 0
        prev = 11
        n = len(seg)
        assert n < 269
        ext = b""
        if n >= 13:
            ext, n = bytes([n - 13]), 13
        out += bytes([(delta << 4) | n]) + ext + seg
    return out


def run(lwm2m, tmp):
    err_path = os.path.join(tmp, "serve.err")
    with open(err_path, "wb") as err:
        p = spawn([lwm2m, "--log-level", "info", "coap", "serve", "--listen", "127.0.0.1:0"],
                  stdout=subprocess.PIPE, stderr=err, text=True)
    r, _, _ = select.select([p.stdout], [], [], 5)
    expect(r, "server printed nothing within 5 s")
    m = re.match(r"listening on (\S+):(\d+)$", p.stdout.readline().strip())
    expect(m, "no 'listening on' line")
    addr = (m.group(1), int(m.group(2)))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        reply = None
        for _ in range(10):
            s.sendto(coap_get([FORGED, ANSI, C1_AND_SEPARATOR, BAD_UTF8]), addr)
            try:
                reply, _ = s.recvfrom(2048)
                break
            except socket.timeout:
                continue
        expect(reply is not None and len(reply) >= 4, "no response from the server")
        expect(reply[1] == 0x84, f"expected 4.04, got code byte {reply[1]:#x}")
    # The request was logged before the response went out; let the log reach the file.
    time.sleep(0.2)
    kill_children()
    log = open(err_path, "rb").read()
    expect(b"FORGED" in log, f"the request was not logged: {log[-2000:]!r}")
    for bad in (b"\x1b", b"\r", b"\xc2\x9b", b"\xe2\x80\xa8", b"\xc0\xaf", b"\xff"):
        expect(bad not in log, f"raw {bad!r} reached the log: {log[-2000:]!r}")
    lines = log.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for line in lines:
        expect(RECORD.match(line), f"a line that is not a server record: {line!r}")
    forged_lines = [ln for ln in lines if b"FORGED" in ln]
    expect(len(forged_lines) == 1, f"{len(forged_lines)} lines carry the forged text")
    line = forged_lines[0]
    expect(b" info [demo] " in line, f"the forged text escaped its [demo] record: {line!r}")
    for want in (b"/x\\x0a23:59:59.000 error [dtls] FORGED", b"\\x1b[2J\\x1b[31mRED",
                 b"\\xc2\\x9b2J\\xe2\\x80\\xa8after-separator", b"\\xc0\\xaf\\xff"):
        expect(want in line, f"{want!r} not in {line!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lwm2m", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="log-injection-") as tmp:
        t0 = time.monotonic()
        try:
            run(os.path.abspath(a.lwm2m), tmp)
            print(f"PASS log_injection ({time.monotonic() - t0:.2f} s)")
            return 0
        except Exception as e:  # noqa: BLE001 - report every failure kind
            print(f"FAIL log_injection: {e}")
            return 1
        finally:
            kill_children()


if __name__ == "__main__":
    sys.exit(main())
