"""Process and network helpers shared by the Python test scripts (coap_interop.py,
coaps_interop.py, cli_test.py): child processes in their own session, killed on exit; bounded
waits; free UDP ports; CoAP ping; the 4096-byte /large reference body.

Import with:
  sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), <up>, "support"))
"""
import os
import signal
import socket
import subprocess
import time

CHILDREN = []


def large_reference() -> bytes:
    # Mirrors apps/lwm2m/demo_resources.cpp large_body().
    s = ""
    i = 0
    while len(s) < 4096:
        s += "%04d abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n" % i
        i += 1
    return s[:4096].encode()


def spawn(args, **kw):
    p = subprocess.Popen(args, start_new_session=True, **kw)
    CHILDREN.append(p)
    return p


def kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=3)
    CHILDREN.clear()


def run(args, timeout=20, check_rc=None):
    r = subprocess.run(args, capture_output=True, timeout=timeout)
    if check_rc is not None and r.returncode != check_rc:
        raise AssertionError(f"{args} exited {r.returncode}, wanted {check_rc}\n"
                             f"stdout: {r.stdout[-2000:]!r}\nstderr: {r.stderr[-2000:]!r}")
    return r


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def free_udp_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def coap_ping(host, port, timeout=5.0):
    """Waits until a CoAP endpoint answers a CoAP ping (empty CON -> RST, RFC 7252 §4.3)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(0.1)
        mid = 0x1234
        while time.monotonic() < deadline:
            s.sendto(bytes([0x40, 0x00, mid >> 8, mid & 0xFF]), (host, port))
            try:
                data, _ = s.recvfrom(64)
                if len(data) >= 4 and (data[0] >> 4) & 0x3 == 3 and data[2:4] == bytes([mid >> 8, mid & 0xFF]):
                    return
            except (socket.timeout, ConnectionRefusedError):
                pass
            mid += 1
    raise AssertionError(f"no CoAP ping answer from {host}:{port} within {timeout} s")
