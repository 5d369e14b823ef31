#!/usr/bin/env python3
"""Heap of the lwm2m-client daemon with one server and ten observations (issue #8 footprint).

  bench/client_engine/daemon_heap.py BUILD_DIR [CLIENT_BUILD_DIR]   (e.g. build/release or build/dev)

CLIENT_BUILD_DIR: take lwm2m-client from another build (e.g. one configured with
-DLWM2M_DM_TEXTS=OFF) and lwm2m-server from BUILD_DIR.

Starts lwm2m-server and lwm2m-client (NoSec, so no GnuTLS session is in the figure) on
127.0.0.1, registers, asks the daemon for its statistics (SIGUSR1: mallinfo2 heap in use, and the
part allocated since main() started, i.e. without the C++ runtime's and GnuTLS's global
initialisation) before
and after the server observes ten resources, and prints both figures. A figure, not a test.
"""
import os
import re
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "server"))
import procs  # noqa: E402
from server_test import Client, Server  # noqa: E402

OBSERVED = ["/3/0/9", "/3/0/13", "/3/0/10", "/3/0/20", "/3/0/7", "/4/0/0", "/4/0/2",
            "/5/0/3", "/3303/0/5700", "/3303/0/5601"]


def heap(err_path, before):
    end = time.time() + 5
    while time.time() < end:
        with open(err_path) as f:
            found = re.findall(r"heap-in-use (\d+) bytes \((\d+) since start\)", f.read())
        if len(found) > before:
            return int(found[-1][0]), int(found[-1][1])
        time.sleep(0.05)
    raise SystemExit("no statistics line from the daemon")


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/dev"))
    client_build = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else build
    d = tempfile.mkdtemp(prefix="lwm2m-heap-")
    s = Server(os.path.join(build, "apps/lwm2m-server/lwm2m-server"), d, "memory",
               ["--nosec", "any", "--log-level", "warn"])
    s.start()
    err = os.path.join(d, "client.err")
    ep = "heap-1"
    with open(err, "wb") as f:
        cl = Client(os.path.join(client_build, "apps/lwm2m-client/lwm2m-client"),
                    ["-e", ep, "--server", f"coap://127.0.0.1:{s.ports['coap']}",
                     "-d", os.path.join(d, "state"), "--demo-interval", "1"], stderr=f)
    try:
        if not cl.wait_for("registered", 15):
            raise SystemExit("the client did not register")
        time.sleep(0.5)
        cl.proc.send_signal(signal.SIGUSR1)
        registered = heap(err, 0)
        for p in OBSERVED:
            st, j, _ = s.api("POST", f"/api/clients/{ep}/observe{p}")
            if st != 200 or j["code"] != "2.05":
                raise SystemExit(f"observe {p}: {st} {j}")
        time.sleep(3)  # a few notifications out (the demo values change every second)
        cl.proc.send_signal(signal.SIGUSR1)
        observing = heap(err, 1)
        for what, (total, own) in (("registered", registered),
                                   ("with 10 observations", observing)):
            print(f"lwm2m-client {what}: heap in use {total / 1024:.1f} KiB, of which "
                  f"{own / 1024:.1f} KiB allocated since main() (the rest is the C++ runtime's "
                  f"and GnuTLS's global initialisation)")
    finally:
        cl.stop()
        s.stop()
        procs.kill_children()


if __name__ == "__main__":
    main()
