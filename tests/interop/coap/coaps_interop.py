#!/usr/bin/env python3
"""CoAP over DTLS (coaps://, PSK) interop between the `lwm2m` CLI and libcoap (Debian
libcoap3-bin: coap-client-gnutls/-openssl, coap-server-gnutls/-openssl 4.3.x), on 127.0.0.1 with
free ports and bounded timeouts; every child is killed on exit. PSK identity 128 printable bytes,
key 64 printable bytes (libcoap takes them on its command line). Our side reads the key from a
file (--psk-key-file), --psk-key-hex or --psk-key; after every case the key must not appear in
anything our processes printed.

  coaps_interop.py --lwm2m build/.../lwm2m --case NAME | --list

Cases:
  libcoap_client_gnutls / libcoap_client_openssl
        coap-client-<tls> -u ID -k KEY against `lwm2m coap serve --psk-...`: GET /hello ==
        "Hello, world!"; GET /large with -b 64 equals the 4096-byte reference byte for byte and the
        trace shows the final Block2:63/_/64; a 3 KiB block-wise PUT to /echo reads back equal
  libcoap_client_wrong_key
        coap-client-gnutls with a wrong key gets no payload; the server logs the failed handshake
        (without the key) and still serves the right key afterwards
  client_libcoap_server_gnutls / client_libcoap_server_openssl
        `lwm2m coap get coaps://` against coap-server-<tls> -k KEY -h HINT: GET / -> 2.05 with
        libcoap's banner; a 3 KiB PUT (--block-size 64) then GETs with block sizes 64 and 1024
        return the same bytes
  client_wrong_key_libcoap_server
        wrong key against coap-server-gnutls: exit 2 within a few seconds, "DTLS handshake"
        message, key not printed
  client_wrong_key_our_server
        wrong key against our coaps server: exit 2, "key mismatch" message, key not printed
  our_client_our_server
        `lwm2m coap get coaps://` against `lwm2m coap serve` (key as hex on one side, file on the
        other), /hello and /large (block sizes 64, 1024) byte for byte, a 2000-byte PUT/GET of
        /echo, --observe 3 on /counter (3 responses, increasing Observe numbers), trace logging
        on both sides without the key
  credential_usage_errors
        identity without key, key without identity, odd/invalid hex, missing key file, coaps://
        without credentials, PSK options with coap://, two key options: exit 2, the key never
        appears in stdout/stderr
X.509 (ECDSA P-256 test PKI made with certtool per case: CA, server cert for 127.0.0.1, client
cert; a second CA for the negative cases):
  x509_libcoap_client_gnutls / x509_libcoap_client_openssl
        coap-client-<tls> -c cli.pem -j cli.key -C ca.pem against `lwm2m coap serve --cert --key
        --ca`: /hello and block-wise /large byte for byte
  x509_client_libcoap_server_gnutls / x509_client_libcoap_server_openssl
        `lwm2m coap get coaps:// --cert --key --ca` against coap-server-<tls> -c -j -R ca.pem:
        GET / -> 2.05; 3 KiB PUT then GET (block size 64) return the same bytes
  x509_untrusted
        our client trusting another CA: exit 2 "not trusted"; coap-client-gnutls with a client
        certificate of another CA gets nothing from our server, which keeps serving; a key that
        does not match --cert is a usage error; private key bytes never printed
Raw public keys (RFC 7250; same P-256 keys, PEM files with PUBLIC KEY + PRIVATE KEY):
  rpk_libcoap_client      coap-client-gnutls -M cli.rpk against `lwm2m coap serve --rpk srv.rpk
                          --rpk-peer cli.pub`: /hello and block-wise /large byte for byte
  rpk_client_libcoap_server
                          `lwm2m coap get --rpk cli.rpk --rpk-peer srv.pub` against
                          coap-server-gnutls -M srv.rpk: GET / -> 2.05 with the banner
  rpk_wrong_keys          our client pinning another server key: exit 2 "does not match"; a client
                          key the server does not list: exit 2 "rejected"; --rpk without
                          --rpk-peer: usage error; private keys never printed
"""
import argparse
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import (CHILDREN, coap_ping, expect, free_udp_port_pair, kill_children,  # noqa: E402
                   large_reference, run, spawn)

IDENTITY = ("urn:imei:lwm2m-cpp-coaps-cli-" + "".join(chr(ord("A") + i % 26) for i in range(200)))[:128]
KEY = "".join(chr(ord("0") + (i * 7) % 75) for i in range(64))  # printable, 64 bytes
WRONG_KEY = KEY[:-1] + ("x" if KEY[-1] != "x" else "y")
assert len(IDENTITY) == 128 and len(KEY) == 64


class Ctx:
    def __init__(self, lwm2m, tmp):
        self.lwm2m, self.tmp = lwm2m, tmp
        self.outputs = []  # everything our processes printed, checked for the key at the end
        self.secret_lines = []  # base64 lines of the X.509 private keys (make_pki)
        self.key_file = os.path.join(tmp, "psk.key")
        with open(self.key_file, "w") as f:
            f.write(KEY + "\n")  # trailing newline is stripped by --psk-key-file

    def our_server(self, key_args=None, log_level="info"):
        key_args = key_args or ["--psk-key-file", self.key_file]
        err = os.path.join(self.tmp, "serve.err")
        p = spawn([self.lwm2m, "--log-level", log_level, "coap", "serve", "--listen", "127.0.0.1:0",
                   "--psk-identity", IDENTITY, *key_args],
                  stdout=subprocess.PIPE, stderr=open(err, "wb"), text=True)
        r, _, _ = select.select([p.stdout], [], [], 5)
        expect(r, "server printed nothing within 5 s")
        line = p.stdout.readline().strip()
        m = re.match(r"listening on (\S+)$", line)
        expect(m, f"no 'listening on' line: {line!r}")
        self.outputs.append(("serve stdout", line.encode()))
        return "coaps://" + m.group(1), p

    def server_log(self):
        with open(os.path.join(self.tmp, "serve.err"), "rb") as f:
            return f.read()

    def libcoap_server(self, tls="gnutls"):
        port = free_udp_port_pair()
        if port > 65000:
            port = 40000
        log = open(os.path.join(self.tmp, "libcoap-server.log"), "wb")
        spawn([f"coap-server-{tls}", "-A", "127.0.0.1", "-p", str(port), "-d", "10", "-v", "7",
               "-k", KEY, "-h", "lwm2m-hint"], stdout=log, stderr=subprocess.STDOUT)
        coap_ping("127.0.0.1", port)  # plain CoAP on -p, CoAPS on -p + 1
        return f"coaps://127.0.0.1:{port + 1}"

    def libcoap_server_log(self):
        with open(os.path.join(self.tmp, "libcoap-server.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def client(self, *args, key_args=None, timeout=20):
        key_args = key_args if key_args is not None else ["--psk-key-file", self.key_file]
        args = list(args)
        cmd = [self.lwm2m]
        if args and args[0] == "--log-level":
            cmd += args[:2]
            args = args[2:]
        r = run([*cmd, "coap", *args, "--psk-identity", IDENTITY, *key_args], timeout=timeout)
        self.outputs.append((" ".join(args[:2]), r.stdout + r.stderr))
        return r

    def coap_client(self, tls, *args, key=KEY, timeout=20):
        return run([f"coap-client-{tls}", "-B", "10", "-u", IDENTITY, "-k", key, *args], timeout=timeout)

    def check_no_key(self):
        try:
            self.outputs.append(("serve.err", self.server_log()))
        except FileNotFoundError:
            pass
        for what, data in self.outputs:
            for k in (KEY, WRONG_KEY, KEY.encode().hex(), KEY[:16]):
                expect(k.encode() not in data, f"key material printed in {what}")
            for line in self.secret_lines:
                expect(line not in data, f"private key material printed in {what}")


def libcoap_client(c, tls):
    u, _ = c.our_server()
    out = os.path.join(c.tmp, "out")
    r = c.coap_client(tls, "-m", "get", "-o", out, u + "/hello")
    expect(r.returncode == 0, r)
    expect(open(out, "rb").read() == b"Hello, world!", open(out, "rb").read())
    r = c.coap_client(tls, "-m", "get", "-b", "64", "-v", "7", "-o", out, u + "/large")
    log = (r.stdout + r.stderr).decode(errors="replace")
    expect(r.returncode == 0, log[-2000:])
    data = open(out, "rb").read()
    expect(data == large_reference(), f"/large differs: {len(data)} bytes")
    expect(re.search(r"c:2\.05 .*Block2:63/_/64", log), "no final Block2:63/_/64 in the trace")
    body = os.urandom(1536).hex().encode()  # 3 KiB
    src = os.path.join(c.tmp, "in3k")
    open(src, "wb").write(body)
    r = c.coap_client(tls, "-m", "put", "-b", "64", "-f", src, u + "/echo")
    expect(r.returncode == 0, r)
    r = c.coap_client(tls, "-m", "get", "-b", "64", "-o", out, u + "/echo")
    expect(open(out, "rb").read() == body, "GET /echo after a block-wise PUT over DTLS returned other bytes")
    expect(b"session with 127.0.0.1" in c.server_log(), "server did not log the DTLS sessions")


def libcoap_client_gnutls(c):
    libcoap_client(c, "gnutls")


def libcoap_client_openssl(c):
    libcoap_client(c, "openssl")


def libcoap_client_wrong_key(c):
    u, srv = c.our_server()
    out = os.path.join(c.tmp, "out")
    r = c.coap_client("gnutls", "-m", "get", "-B", "3", "-o", out, u + "/hello", key=WRONG_KEY)
    expect(not os.path.exists(out) or open(out, "rb").read() == b"", "wrong key got a payload")
    time.sleep(0.2)
    expect(b"key mismatch" in c.server_log(), c.server_log()[-2000:])
    expect(srv.poll() is None, "server exited after a failed handshake")
    r = c.coap_client("gnutls", "-m", "get", "-o", out, u + "/hello")
    expect(open(out, "rb").read() == b"Hello, world!", "server did not serve the right key afterwards")


def client_libcoap_server(c, tls):
    u = c.libcoap_server(tls)
    r = c.client("get", u + "/")
    expect(r.returncode == 0, r)
    expect(r.stdout.startswith(b"2.05 Content\n") and b"libcoap" in r.stdout, r.stdout)
    body = os.urandom(1536).hex().encode()
    src = os.path.join(c.tmp, "in3k")
    open(src, "wb").write(body)
    r = c.client("put", u + "/big", "--payload-file", src, "--block-size", "64", "--content-format", "0")
    expect(r.returncode == 0 and r.stdout.startswith(b"2.01"), r)
    for bs in ("64", "1024"):
        out = os.path.join(c.tmp, "out" + bs)
        r = c.client("get", u + "/big", "--block-size", bs, "--output", out)
        expect(r.returncode == 0, r)
        expect(open(out, "rb").read() == body, f"block size {bs}: bytes differ")
    log = c.libcoap_server_log()
    expect(re.search(r"c:PUT .*Block1:47/_/64", log), "libcoap did not see our last Block1 47/_/64")
    expect(re.search(r"c:2\.05 .*Block2:47/_/64", log), "libcoap did not serve Block2 47/_/64")


def client_libcoap_server_gnutls(c):
    client_libcoap_server(c, "gnutls")


def client_libcoap_server_openssl(c):
    client_libcoap_server(c, "openssl")


def client_wrong_key_libcoap_server(c):
    u = c.libcoap_server("gnutls")
    t0 = time.monotonic()
    r = c.client("get", u + "/", "--timeout", "20", key_args=["--psk-key", WRONG_KEY])
    took = time.monotonic() - t0
    expect(r.returncode == 3, r)  # 3: network / DTLS failure
    expect(took < 10, f"wrong key took {took:.1f} s to fail")
    expect(b"DTLS handshake with 127.0.0.1" in r.stderr and b"failed" in r.stderr, r.stderr)
    expect(r.stdout == b"", r.stdout)


def client_wrong_key_our_server(c):
    u, _ = c.our_server(key_args=["--psk-key-hex", KEY.encode().hex()])
    r = c.client("get", u + "/hello", "--timeout", "20", key_args=["--psk-key", WRONG_KEY])
    expect(r.returncode == 3, r)
    expect(b"key mismatch" in r.stderr, r.stderr)
    r = c.client("get", u + "/hello", key_args=["--psk-key-hex", KEY.encode().hex().upper()])
    expect(r.returncode == 0 and r.stdout == b"2.05 Content\nHello, world!\n", r)


def our_client_our_server(c):
    u, _ = c.our_server(key_args=["--psk-key-hex", KEY.encode().hex()], log_level="trace")
    r = c.client("--log-level", "trace", "get", u + "/hello")
    expect(r.returncode == 0 and r.stdout == b"2.05 Content\nHello, world!\n", r)
    for bs in ("64", "1024"):
        out = os.path.join(c.tmp, "large" + bs)
        r = c.client("--log-level", "trace", "get", u + "/large", "--block-size", bs, "--output", out)
        expect(r.returncode == 0, r)
        expect(open(out, "rb").read() == large_reference(), f"/large with block size {bs} differs")
    r = c.client("put", u + "/echo", "--payload", "x" * 2000, "--block-size", "256", key_args=["--psk-key", KEY])
    expect(r.returncode == 0 and r.stdout.startswith(b"2.04"), r)
    r = c.client("get", u + "/echo")
    expect(r.stdout == b"2.05 Content\n" + b"x" * 2000 + b"\n", r.stdout[:100])
    # RFC 7641 over DTLS: notifications (NON and every 5th CON) go through the session too
    r = c.client("get", u + "/counter", "--observe", "3", "--timeout", "8", timeout=15)
    expect(r.returncode == 0, r)
    seqs = [int(x) for x in re.findall(rb"^2\.05 Content observe=(\d+)$", r.stdout, re.M)]
    expect(len(seqs) == 3 and seqs == sorted(seqs) and len(set(seqs)) == 3, r.stdout)


def credential_usage_errors(c):
    L = c.lwm2m
    u = "coaps://127.0.0.1:9/x"
    cases = [
        [L, "coap", "get", u, "--psk-key", KEY],                                    # no identity
        [L, "coap", "get", u, "--psk-identity", IDENTITY],                          # no key
        [L, "coap", "get", u, "--psk-identity", "a", "--psk-key-hex", KEY[:63]],    # odd hex
        [L, "coap", "get", u, "--psk-identity", "a", "--psk-key-hex", KEY],         # not hex
        [L, "coap", "get", u, "--psk-identity", "a", "--psk-key-file", c.tmp + "/none"],
        [L, "coap", "get", u],                                                      # coaps, no PSK
        [L, "coap", "get", "coap://127.0.0.1:9/x", "--psk-identity", "a", "--psk-key", KEY],
        [L, "coap", "get", u, "--psk-identity", "a", "--psk-key", KEY, "--psk-key-hex", "00"],
        [L, "coap", "get", u, "--psk-identity", "a", "--psk-key", KEY, "--psk-key", KEY],
        [L, "coap", "serve", "--psk-key", KEY, "--listen", "127.0.0.1:0"],          # no identity
        [L, "coap", "serve", "--psk-identity", "a", "--psk-key-hex", KEY, "--listen", "127.0.0.1:0"],
    ]
    for args in cases:
        r = run(args, timeout=10)
        expect(r.returncode == 2, f"{args[2:]} exited {r.returncode}")
        expect(r.stderr.startswith(b"error:") or b"Run with --help" in r.stderr or b"--" in r.stderr,
               f"{args[2:]}: no error message: {r.stderr!r}")
        c.outputs.append((" ".join(a if a != KEY else "KEY" for a in args[2:]), r.stdout + r.stderr))
    # the help texts describe the options
    for sub in ("get", "serve"):
        r = run([L, "coap", sub, "--help"], timeout=10)
        for word in (b"--psk-identity", b"--psk-identity-hex", b"--psk-key", b"--psk-key-hex", b"--psk-key-file"):
            expect(word in r.stdout, f"coap {sub} --help lacks {word}")
    expect(b"coaps://" in run([L, "coap", "get", "--help"]).stdout, "get --help does not mention coaps://")


# ---------------------------------------------------------------- X.509

def make_pki(c):
    """CA, server (CN/SAN 127.0.0.1) and client certificates, ECDSA P-256; plus an unrelated CA."""
    d = os.path.join(c.tmp, "pki")
    os.mkdir(d)
    P = lambda n: os.path.join(d, n)  # noqa: E731

    def certtool(*args):
        r = run(["certtool", *args], timeout=30)
        expect(r.returncode == 0, r.stderr[-500:])

    def tmpl(name, text):
        with open(P(name), "w") as f:
            f.write(text)
        return P(name)

    for k in ("ca", "ca2", "srv", "cli", "cli2"):
        certtool("--generate-privkey", "--ecc", "--curve", "secp256r1", "--outfile", P(k + ".key"))
    ca_t = tmpl("ca.tmpl", 'cn = "lwm2m-cpp test CA"\nca\ncert_signing_key\nexpiration_days = 2\n')
    for ca in ("ca", "ca2"):
        certtool("--generate-self-signed", "--load-privkey", P(ca + ".key"), "--template", ca_t,
                 "--outfile", P(ca + ".pem"))
    srv_t = tmpl("srv.tmpl", 'cn = "127.0.0.1"\nip_address = "127.0.0.1"\ndns_name = "localhost"\n'
                 'tls_www_server\nsigning_key\nexpiration_days = 2\n')
    cli_t = tmpl("cli.tmpl", 'cn = "urn:imei:123456789012345"\ntls_www_client\nsigning_key\n'
                 'expiration_days = 2\n')
    for name, t, ca in (("srv", srv_t, "ca"), ("cli", cli_t, "ca"), ("cli2", cli_t, "ca2")):
        certtool("--generate-certificate", "--load-privkey", P(name + ".key"), "--load-ca-certificate",
                 P(ca + ".pem"), "--load-ca-privkey", P(ca + ".key"), "--template", t,
                 "--outfile", P(name + ".pem"))
    # key material that must never be printed: the base64 lines of every private key
    c.secret_lines = []
    for k in ("srv", "cli", "cli2"):
        text = open(P(k + ".key")).read()
        body = text[text.index("-----BEGIN"):]
        c.secret_lines += [ln.strip().encode() for ln in body.splitlines()[1:-1] if len(ln.strip()) > 20]
    return P


def x509_server(c, P, log_level="info"):
    err = os.path.join(c.tmp, "serve.err")
    p = spawn([c.lwm2m, "--log-level", log_level, "coap", "serve", "--listen", "127.0.0.1:0",
               "--cert", P("srv.pem"), "--key", P("srv.key"), "--ca", P("ca.pem")],
              stdout=subprocess.PIPE, stderr=open(err, "wb"), text=True)
    r, _, _ = select.select([p.stdout], [], [], 5)
    expect(r, "server printed nothing within 5 s")
    m = re.match(r"listening on (\S+)$", p.stdout.readline().strip())
    expect(m, "no 'listening on' line")
    return "coaps://" + m.group(1), p


def x509_client(c, P, *args, cert="cli", ca="ca", key=None, timeout=20):
    r = run([c.lwm2m, "coap", *args, "--cert", P(cert + ".pem"), "--key", P((key or cert) + ".key"),
             "--ca", P(ca + ".pem")], timeout=timeout)
    c.outputs.append((" ".join(args[:2]), r.stdout + r.stderr))
    return r


def x509_libcoap_client(c, tls):
    P = make_pki(c)
    u, _ = x509_server(c, P, log_level="trace")
    out = os.path.join(c.tmp, "out")
    base = [f"coap-client-{tls}", "-B", "10", "-c", P("cli.pem"), "-j", P("cli.key"), "-C", P("ca.pem")]
    r = run([*base, "-m", "get", "-o", out, u + "/hello"])
    expect(r.returncode == 0 and open(out, "rb").read() == b"Hello, world!", r)
    r = run([*base, "-m", "get", "-b", "64", "-o", out, u + "/large"])
    expect(r.returncode == 0, r)
    expect(open(out, "rb").read() == large_reference(), "/large over X.509 DTLS differs")
    expect(b"session with 127.0.0.1" in c.server_log(), "server did not log the X.509 session")


def x509_libcoap_client_gnutls(c):
    x509_libcoap_client(c, "gnutls")


def x509_libcoap_client_openssl(c):
    x509_libcoap_client(c, "openssl")


def x509_client_libcoap_server(c, tls):
    P = make_pki(c)
    port = free_udp_port_pair()
    if port > 65000:
        port = 40000
    log = open(os.path.join(c.tmp, "libcoap-server.log"), "wb")
    spawn([f"coap-server-{tls}", "-A", "127.0.0.1", "-p", str(port), "-d", "10", "-c", P("srv.pem"),
           "-j", P("srv.key"), "-R", P("ca.pem")], stdout=log, stderr=subprocess.STDOUT)
    coap_ping("127.0.0.1", port)
    u = f"coaps://127.0.0.1:{port + 1}"
    r = x509_client(c, P, "get", u + "/")
    expect(r.returncode == 0 and r.stdout.startswith(b"2.05 Content\n") and b"libcoap" in r.stdout, r)
    body = os.urandom(1536).hex().encode()
    src = os.path.join(c.tmp, "in3k")
    open(src, "wb").write(body)
    r = x509_client(c, P, "put", u + "/big", "--payload-file", src, "--block-size", "64")
    expect(r.returncode == 0 and r.stdout.startswith(b"2.01"), r)
    out = os.path.join(c.tmp, "out")
    r = x509_client(c, P, "get", u + "/big", "--block-size", "64", "--output", out)
    expect(r.returncode == 0 and open(out, "rb").read() == body, "block-wise GET over X.509 differs")


def x509_client_libcoap_server_gnutls(c):
    x509_client_libcoap_server(c, "gnutls")


def x509_client_libcoap_server_openssl(c):
    x509_client_libcoap_server(c, "openssl")


def x509_untrusted(c):
    P = make_pki(c)
    u, srv = x509_server(c, P)
    r = x509_client(c, P, "get", u + "/hello", ca="ca2", timeout=20)
    expect(r.returncode == 3 and b"not trusted" in r.stderr, r)
    out = os.path.join(c.tmp, "out")
    r = run(["coap-client-gnutls", "-B", "3", "-c", P("cli2.pem"), "-j", P("cli2.key"), "-C", P("ca.pem"),
             "-m", "get", "-o", out, u + "/hello"])
    expect(not os.path.exists(out) or open(out, "rb").read() == b"", "client of another CA got a payload")
    expect(srv.poll() is None, "server exited")
    r = x509_client(c, P, "get", u + "/hello", key="cli2")  # key does not match the certificate
    expect(r.returncode in (2, 3) and r.stderr.startswith(b"error:"), r)
    r = x509_client(c, P, "get", u + "/hello")
    expect(r.returncode == 0 and r.stdout == b"2.05 Content\nHello, world!\n", r)
    r = run([c.lwm2m, "coap", "get", u + "/hello", "--cert", P("cli.pem"), "--key", P("cli.key")])
    expect(r.returncode == 2 and b"--ca" in r.stderr, r)


# ---------------------------------------------------------------- raw public keys

def make_rpk(c):
    P = make_pki(c)
    for k in ("srv", "cli", "cli2"):
        r = run(["certtool", "--load-privkey", P(k + ".key"), "--pubkey-info", "--outfile", P(k + ".pub")])
        expect(r.returncode == 0, r.stderr)
        with open(P(k + ".rpk"), "w") as f:
            f.write(open(P(k + ".pub")).read() + open(P(k + ".key")).read())
    return P


def rpk_server(c, P):
    err = os.path.join(c.tmp, "serve.err")
    p = spawn([c.lwm2m, "--log-level", "info", "coap", "serve", "--listen", "127.0.0.1:0",
               "--rpk", P("srv.rpk"), "--rpk-peer", P("cli.pub")],
              stdout=subprocess.PIPE, stderr=open(err, "wb"), text=True)
    r, _, _ = select.select([p.stdout], [], [], 5)
    expect(r, "server printed nothing within 5 s")
    m = re.match(r"listening on (\S+)$", p.stdout.readline().strip())
    expect(m, "no 'listening on' line")
    return "coaps://" + m.group(1)


def rpk_client(c, P, *args, me="cli", peer="srv"):
    r = run([c.lwm2m, "coap", *args, "--rpk", P(me + ".rpk"), "--rpk-peer", P(peer + ".pub")], timeout=20)
    c.outputs.append((" ".join(args[:2]), r.stdout + r.stderr))
    return r


def rpk_libcoap_client(c):
    P = make_rpk(c)
    u = rpk_server(c, P)
    out = os.path.join(c.tmp, "out")
    base = ["coap-client-gnutls", "-B", "10", "-M", P("cli.rpk")]
    r = run([*base, "-m", "get", "-o", out, u + "/hello"])
    expect(r.returncode == 0 and open(out, "rb").read() == b"Hello, world!", r)
    r = run([*base, "-m", "get", "-b", "64", "-o", out, u + "/large"])
    expect(r.returncode == 0 and open(out, "rb").read() == large_reference(), "/large over RPK DTLS differs")


def rpk_client_libcoap_server(c):
    P = make_rpk(c)
    port = free_udp_port_pair()
    if port > 65000:
        port = 40000
    log = open(os.path.join(c.tmp, "libcoap-server.log"), "wb")
    spawn(["coap-server-gnutls", "-A", "127.0.0.1", "-p", str(port), "-M", P("srv.rpk")],
          stdout=log, stderr=subprocess.STDOUT)
    coap_ping("127.0.0.1", port)
    r = rpk_client(c, P, "get", f"coaps://127.0.0.1:{port + 1}/")
    expect(r.returncode == 0 and r.stdout.startswith(b"2.05 Content\n") and b"libcoap" in r.stdout, r)


def rpk_wrong_keys(c):
    P = make_rpk(c)
    u = rpk_server(c, P)
    r = rpk_client(c, P, "get", u + "/hello", peer="cli")  # pins a key the server does not have
    expect(r.returncode == 3 and b"does not match" in r.stderr, r)
    r = rpk_client(c, P, "get", u + "/hello", me="cli2")  # not in the server's --rpk-peer
    expect(r.returncode == 3 and b"rejected" in r.stderr, r)
    r = run([c.lwm2m, "coap", "get", u + "/hello", "--rpk", P("cli.rpk")])
    expect(r.returncode == 2 and b"--rpk-peer" in r.stderr, r)
    c.outputs.append(("rpk usage", r.stdout + r.stderr))
    r = rpk_client(c, P, "get", u + "/hello")
    expect(r.returncode == 0 and r.stdout == b"2.05 Content\nHello, world!\n", r)


CASES = {f.__name__: f for f in [
    libcoap_client_gnutls, libcoap_client_openssl, libcoap_client_wrong_key,
    client_libcoap_server_gnutls, client_libcoap_server_openssl, client_wrong_key_libcoap_server,
    client_wrong_key_our_server, our_client_our_server, credential_usage_errors,
    x509_libcoap_client_gnutls, x509_libcoap_client_openssl, x509_client_libcoap_server_gnutls,
    x509_client_libcoap_server_openssl, x509_untrusted,
    rpk_libcoap_client, rpk_client_libcoap_server, rpk_wrong_keys]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lwm2m")
    ap.add_argument("--case", action="append")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    if not a.lwm2m:
        ap.error("--lwm2m is required")
    signal.signal(signal.SIGTERM, lambda *_: (kill_children(), sys.exit(3)))
    failed = 0
    for name in a.case or list(CASES):
        with tempfile.TemporaryDirectory(prefix="coaps-interop-") as tmp:
            t0 = time.monotonic()
            c = Ctx(os.path.abspath(a.lwm2m), tmp)
            try:
                CASES[name](c)
                kill_children()  # flushes the server's log before the key check
                c.check_no_key()
                print(f"PASS {name} ({time.monotonic() - t0:.2f} s)")
            except Exception as e:  # noqa: BLE001 - report every failure kind
                failed += 1
                print(f"FAIL {name}: {e}")
                for f in ("serve.err", "libcoap-server.log"):
                    p = os.path.join(tmp, f)
                    if os.path.exists(p):
                        print(f"--- {f} (tail)\n" + open(p, "rb").read()[-3000:].decode(errors="replace"))
            finally:
                kill_children()
    assert not CHILDREN
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
