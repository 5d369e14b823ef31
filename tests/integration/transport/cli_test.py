#!/usr/bin/env python3
"""Integration tests of the `lwm2m` CLI on 127.0.0.1 / ::1 (our client against our server, and
usage/edge behaviour): --version, the exit codes (0 success, 1 CoAP error response, 2 usage,
3 network/DTLS, 4 timeout, 130 interrupted), strict input checks, timeouts, connection refused,
signals, options after the subcommand, named content formats, stdin/stdout, -q, and where PSK keys
may (not) be seen. Every child is killed on exit; every wait is bounded.

  cli_test.py --lwm2m build/.../lwm2m [--case NAME] [--list]
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
from procs import CHILDREN, expect, spawn  # noqa: E402


def kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)
    CHILDREN.clear()


class Ctx:
    def __init__(self, lwm2m, tmp):
        self.lwm2m, self.tmp = lwm2m, tmp

    def run(self, *args, timeout=20):
        return subprocess.run([self.lwm2m, *args], capture_output=True, timeout=timeout)

    def serve(self, listen="127.0.0.1:0", extra=()):
        p = spawn([self.lwm2m, "coap", "serve", "--listen", listen, *extra], stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL, text=True)
        r, _, _ = select.select([p.stdout], [], [], 5)
        expect(r, "server printed nothing within 5 s")
        m = re.match(r"listening on (\S+)$", p.stdout.readline().strip())
        expect(m, "no 'listening on' line")
        return p, "coap://" + m.group(1)


def help_texts(c):
    r = c.run("--help")
    expect(r.returncode == 0 and b"coap" in r.stdout, r)
    r = c.run("coap", "--help")
    for word in (b"serve", b"get", b"put", b"post", b"delete"):
        expect(word in r.stdout, f"coap --help lacks {word}")
    r = c.run("coap", "get", "--help")
    for word in (b"--observe", b"--timeout", b"--non", b"--block-size", b"--output", b"Exit status"):
        expect(word in r.stdout, f"coap get --help lacks {word}")
    r = c.run("coap", "put", "--help")
    for word in (b"--payload", b"--payload-file", b"--content-format"):
        expect(word in r.stdout, f"coap put --help lacks {word}")
    r = c.run("coap", "serve", "--help")
    for word in (b"--listen", b"--resources", b"/counter", b"listening on"):
        expect(word in r.stdout, f"coap serve --help lacks {word}")


def usage_errors_exit_2(c):
    cases = [
        [],
        ["coap"],
        ["bogus"],
        ["coap", "get"],
        ["coap", "get", "not-a-uri"],
        ["coap", "get", "coaps://127.0.0.1/x"],
        ["coap", "get", "coap://127.0.0.1:99999/x"],
        ["coap", "get", "coap://127.0.0.1/a#frag"],
        ["coap", "get", "coap://127.0.0.1/x", "--observe", "0"],
        ["coap", "get", "coap://127.0.0.1/x", "--block-size", "100"],
        ["coap", "get", "coap://127.0.0.1/x", "--timeout", "-1"],
        ["coap", "get", "coap://127.0.0.1/x", "--payload", "a"],  # GET takes no body
        ["coap", "put", "coap://127.0.0.1/x", "--payload", "a", "--payload-file", __file__],
        ["coap", "put", "coap://127.0.0.1/x", "--payload-file", "/nonexistent/file"],
        ["coap", "put", "coap://127.0.0.1/x", "--content-format", "70000"],
        ["coap", "serve", "--listen", "nonsense"],
        ["coap", "serve", "--resources", "other"],
        ["--log-level", "loud", "coap", "get", "coap://127.0.0.1/x"],
    ]
    for args in cases:
        r = c.run(*args)
        expect(r.returncode == 2, f"{args}: exit {r.returncode}, stderr {r.stderr[-500:]!r}")
        expect(r.stderr.strip(), f"{args}: no error message")


def version(c):
    r = c.run("--version")
    expect(r.returncode == 0 and re.fullmatch(rb"lwm2m \d+\.\d+\.\d+\n", r.stdout), r)
    r = c.run("--help")
    for word in (b"--version", b"Exit status", b"3 network", b"4 timeout", b"130 interrupted"):
        expect(word in r.stdout, f"--help lacks {word}")


def timeout_exit_4(c):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        r = c.run("coap", "get", f"coap://127.0.0.1:{port}/x", "--timeout", "0.5")
        took = time.monotonic() - t0
        expect(r.returncode == 4 and b"timeout" in r.stderr, r)
        expect(took < 5, f"took {took:.1f} s")
        data, _ = silent.recvfrom(2048)
        expect(len(data) >= 4 and data[0] >> 6 == 1 and data[1] == 1, f"not a CoAP GET: {data!r}")


def connection_refused_fast(c):
    for host, fam in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        # Nobody listens: the kernel answers ICMP port unreachable at once; the client reports it
        # then, not after the 30 s timeout.
        h = f"[{host}]" if ":" in host else host
        t0 = time.monotonic()
        r = c.run("coap", "get", f"coap://{h}:{port}/x", "--timeout", "30")
        took = time.monotonic() - t0
        expect(r.returncode == 3 and b"connection refused" in r.stderr, r)
        expect(b"timeout" not in r.stderr, r.stderr)
        expect(took < 5, f"connection refused took {took:.1f} s")


def interrupted_exit_130(c):
    _, u = c.serve()
    p = spawn([c.lwm2m, "coap", "get", u + "/counter", "--observe", "1000", "--timeout", "60"],
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r, _, _ = select.select([p.stdout], [], [], 10)
    expect(r, "no first response within 10 s")
    p.stdout.readline()
    t0 = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)
    rc = p.wait(timeout=5)
    took = time.monotonic() - t0
    err = p.stderr.read()
    expect(rc == 130, f"exit {rc}, stderr {err!r}")
    expect(b"interrupted" in err and b"timeout" not in err, err)
    expect(took < 2, f"took {took:.1f} s to stop")


def options_after_subcommand(c):
    p, u = c.serve(extra=["--log-level", "info"])
    r = c.run("coap", "get", u + "/hello", "--log-level", "debug")
    expect(r.returncode == 0 and b"Hello, world!" in r.stdout, r)
    expect(b"debug" in r.stderr, f"--log-level debug after the subcommand had no effect: {r.stderr!r}")
    r = c.run("coap", "get", "--log-level", "off", u + "/hello")
    expect(r.returncode == 0 and r.stderr == b"", r)


def formats_stdin_stdout_quiet(c):
    _, u = c.serve()
    body = os.urandom(2000)
    r = subprocess.run([c.lwm2m, "coap", "put", u + "/echo", "--payload-file", "-", "--content-format",
                        "opaque", "--block-size", "64"], input=body, capture_output=True, timeout=20)
    expect(r.returncode == 0 and r.stdout.startswith(b"2.04"), r)
    r = c.run("coap", "get", u + "/echo", "--output", "-", "-q", "--accept", "opaque")
    expect(r.returncode == 0 and r.stdout == body, f"stdout is not the body byte for byte: {r.stdout[:40]!r}")
    r = c.run("coap", "get", u + "/hello", "-q")
    expect(r.returncode == 0 and r.stdout == b"Hello, world!\n", r)
    for name in ("tlv", "senml-json", "senml-cbor", "lwm2m-json", "lwm2m-cbor", "text", "opaque", "link",
                 "11542"):
        r = c.run("coap", "put", u + "/echo", "--payload", "x", "--content-format", name)
        expect(r.returncode == 0, f"--content-format {name}: {r}")
    r = c.run("coap", "put", u + "/echo", "--payload", "x", "--content-format", "bogus")
    expect(r.returncode == 2 and b"bogus" in r.stderr, r)
    r = c.run("coap", "get", u + "/hello", "--accept", "70000")
    expect(r.returncode == 2, r)


def psk_key_not_visible(c):
    key_hex = os.urandom(32).hex()
    p = spawn([c.lwm2m, "coap", "serve", "--listen", "127.0.0.1:0", "--psk-identity", "dev",
               "--psk-key-hex", key_hex], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    r, _, _ = select.select([p.stdout], [], [], 5)
    expect(r, "server printed nothing within 5 s")
    addr = re.match(r"listening on (\S+)$", p.stdout.readline().strip()).group(1)
    cmdline = open(f"/proc/{p.pid}/cmdline", "rb").read()
    expect(key_hex.encode() not in cmdline and b"--psk-key-hex" in cmdline, f"key in the process list: {cmdline!r}")
    # The key from standard input and from LWM2M_PSK_KEY_HEX; neither is visible once running.
    # One trailing newline is removed from a key file (--help), so the random key is followed by
    # one: without it, a key whose last byte is 0x0a (1 run in 256) lost that byte.
    r = subprocess.run([c.lwm2m, "coap", "get", f"coaps://{addr}/hello", "--psk-identity", "dev",
                        "--psk-key-file", "-"], input=bytes.fromhex(key_hex) + b"\n",
                       capture_output=True, timeout=20)
    expect(r.returncode == 0 and b"Hello, world!" in r.stdout, r)
    env = dict(os.environ, LWM2M_PSK_KEY_HEX=key_hex)
    q = spawn([c.lwm2m, "coap", "get", f"coaps://{addr}/counter", "--psk-identity", "dev", "--observe", "100",
               "--timeout", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    r, _, _ = select.select([q.stdout], [], [], 10)
    expect(r, "no response with the key from LWM2M_PSK_KEY_HEX")
    environ = open(f"/proc/{q.pid}/environ", "rb").read()
    expect(key_hex.encode() not in environ, "the key is still in /proc/PID/environ")
    os.killpg(q.pid, signal.SIGINT)
    expect(q.wait(timeout=5) == 130, "observer did not stop on SIGINT")
    out = q.stdout.read() + q.stderr.read()
    expect(key_hex.encode() not in out, "the key was printed")
    r = c.run("coap", "get", "--help")
    expect(b"LWM2M_PSK_KEY_HEX" in r.stdout and b"wiped" in r.stdout, "help does not document key handling")


def client_against_our_server(c):
    _, u = c.serve()
    r = c.run("coap", "get", u + "/hello")
    expect(r.returncode == 0 and r.stdout == b"2.05 Content\nHello, world!\n", r)
    r = c.run("coap", "get", u + "/hello", "--non")
    expect(r.returncode == 0 and b"Hello, world!" in r.stdout, r)
    r = c.run("coap", "get", u + "/nope")
    expect(r.returncode == 1 and r.stdout.startswith(b"4.04"), r)
    r = c.run("coap", "post", u + "/hello", "--payload", "x")
    expect(r.returncode == 1 and r.stdout.startswith(b"4.05"), r)
    r = c.run("coap", "get", u + "/echo")
    expect(r.returncode == 1 and r.stdout.startswith(b"4.04"), "empty /echo must be 4.04")
    body = os.urandom(3000)
    src = os.path.join(c.tmp, "body")
    open(src, "wb").write(body)
    r = c.run("coap", "put", u + "/echo", "--payload-file", src, "--block-size", "64", "--content-format", "42")
    expect(r.returncode == 0 and r.stdout.startswith(b"2.04"), r)
    out = os.path.join(c.tmp, "out")
    r = c.run("coap", "get", u + "/echo", "--block-size", "32", "--output", out)
    expect(r.returncode == 0 and open(out, "rb").read() == body, "binary body not returned intact")
    r = c.run("coap", "delete", u + "/echo")
    expect(r.returncode == 0 and r.stdout.startswith(b"2.02"), r)
    r = c.run("coap", "get", u + "/counter", "--observe", "3", "--timeout", "10")
    expect(r.returncode == 0, r)
    vals = re.findall(rb"^2\.05 Content observe=\d+\n(\d+)$", r.stdout, re.M)
    expect(len(vals) == 3 and [int(v) for v in vals] == sorted(int(v) for v in vals), r.stdout)


def ipv6_server(c):
    _, u = c.serve("[::1]:0")
    expect(u.startswith("coap://[::1]:"), u)
    r = c.run("coap", "get", u + "/hello")
    expect(r.returncode == 0 and b"Hello, world!" in r.stdout, r)


def serve_duration_and_signal(c):
    p, _ = c.serve(extra=["--duration", "0.5"])
    expect(p.wait(timeout=5) == 0, "serve --duration did not end cleanly")
    p, u = c.serve()
    p.send_signal(signal.SIGTERM)
    expect(p.wait(timeout=5) == 0, "serve did not exit 0 on SIGTERM")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        busy = s.getsockname()[1]
        r = c.run("coap", "serve", "--listen", f"127.0.0.1:{busy}")
        expect(r.returncode == 2 and b"cannot bind" in r.stderr, r)


def hostile_datagrams_do_not_stop_the_server(c):
    import random
    p, u = c.serve()
    host, port = u[len("coap://"):].rsplit(":", 1)
    rnd = random.Random(7252)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(2000):
            n = rnd.randrange(0, 300)
            data = bytes(rnd.randrange(256) for _ in range(n))
            if i % 3 == 0 and n >= 4:  # plausible header, garbage after it
                data = bytes([0x40 | (data[0] & 0x0F), 0x01]) + data[2:]
            s.sendto(data, (host, int(port)))
        s.sendto(b"\x40", (host, int(port)))  # 1 byte: shorter than the 4-byte header
        s.sendto(b"\x40\x01\x00\x01" + b"\xff" + b"x" * 8000, (host, int(port)))  # > max datagram
    r = c.run("coap", "get", u + "/hello", "--timeout", "5")
    expect(r.returncode == 0 and b"Hello, world!" in r.stdout, r)
    expect(p.poll() is None, "server exited")


CASES = {f.__name__: f for f in [help_texts, hostile_datagrams_do_not_stop_the_server, usage_errors_exit_2,
                                   timeout_exit_4, connection_refused_fast, client_against_our_server,
                                   ipv6_server, serve_duration_and_signal, version, interrupted_exit_130,
                                   options_after_subcommand, formats_stdin_stdout_quiet,
                                   psk_key_not_visible]}


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
        with tempfile.TemporaryDirectory(prefix="lwm2m-cli-") as tmp:
            t0 = time.monotonic()
            try:
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
