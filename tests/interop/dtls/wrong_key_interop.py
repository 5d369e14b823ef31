#!/usr/bin/env python3
"""A wrong PSK against independent DTLS servers (issue #7): `lwm2m coap get coaps://` with a
wrong key against libcoap's coap-server-openssl (which silently drops the Finished it cannot
decrypt, RFC 6347 §4.1.2.7) and coap-server-gnutls (which ends the handshake with close_notify).
The error must name the likely cause and arrive within --timeout; the key is never printed.
A control run with the right key gets 2.05 from the same server.

  wrong_key_interop.py --lwm2m build/.../lwm2m --case openssl|gnutls
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import coap_ping, expect, free_udp_port, kill_children, run, spawn  # noqa: E402

IDENTITY = "lwm2m-cpp-wrong-key"
KEY = "right-key-0123456789abcdef"
WRONG = "wrong-key-0123456789abcdef"
TIMEOUT = 20.0  # --timeout of the request: the error must come before it (our client gives up
#                on a silent server after ~15 s: four Finished flights without any reply)

EXPECTED = {
    # OpenSSL says nothing at all: our Finished is retransmitted without any reply.
    "openssl": b"no reply to our Finished: wrong PSK key or identity?",
    # GnuTLS (libcoap) sends close_notify in answer to our Finished.
    "gnutls": b"the server ended the handshake in answer to our Finished: wrong PSK key or identity?",
}


def case(lwm2m, tls):
    port = free_udp_port()
    if port > 65000:
        port = 40000
    spawn([f"coap-server-{tls}", "-A", "127.0.0.1", "-p", str(port), "-k", KEY, "-h", "hint"],
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    coap_ping("127.0.0.1", port)  # plain CoAP on -p, CoAPS on -p + 1
    uri = f"coaps://127.0.0.1:{port + 1}/"
    t0 = time.monotonic()
    r = run([lwm2m, "coap", "get", uri, "--psk-identity", IDENTITY, "--psk-key", WRONG,
             "--timeout", str(TIMEOUT)], timeout=TIMEOUT + 10)
    took = time.monotonic() - t0
    expect(r.returncode == 3, f"exit {r.returncode}: {r.stderr!r}")  # 3: network or DTLS failure
    expect(took < TIMEOUT, f"the error came after {took:.1f} s (--timeout {TIMEOUT})")
    expect(EXPECTED[tls] in r.stderr, f"stderr does not name the cause: {r.stderr!r}")
    expect(b"timeout: no response" not in r.stderr, f"reported as a plain timeout: {r.stderr!r}")
    for secret in (KEY, WRONG):
        expect(secret.encode() not in r.stdout + r.stderr, "key printed")
        expect(secret.encode().hex().encode() not in (r.stdout + r.stderr).lower(), "key printed in hex")
    ok = run([lwm2m, "coap", "get", uri, "--psk-identity", IDENTITY, "--psk-key", KEY,
              "--timeout", str(TIMEOUT)], timeout=TIMEOUT + 10)
    expect(ok.returncode == 0 and ok.stdout.startswith(b"2.05"), f"right key failed: {ok!r}")
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lwm2m", required=True)
    ap.add_argument("--case", choices=["openssl", "gnutls"], required=True)
    a = ap.parse_args()
    try:
        took = case(os.path.abspath(a.lwm2m), a.case)
        print(f"PASS wrong_key_{a.case} (error after {took:.2f} s)")
        return 0
    except Exception as e:  # noqa: BLE001 - report every failure kind
        print(f"FAIL wrong_key_{a.case}: {e}")
        return 1
    finally:
        kill_children()


if __name__ == "__main__":
    sys.exit(main())
