#!/usr/bin/env python3
"""Interop of OUR client daemon (lwm2m-client) with independent LwM2M servers on 127.0.0.1
(label interop, issue #8).

  client_interop.py --client PATH --case NAME [--npm-dir DIR]

The work directory (/tmp/lwm2m-client-interop-*: logs, the client's state with its keys) is
removed when the case passes and kept when it fails.

Cases:
  node_lib_server   lwm2m-node-lib 1.x's LwM2M 1.0 server (npm, NoSec), driven by
                    tests/interop/lwm2m_node_server/node_server.js.
  coap_shepherd     coap-shepherd 0.2.5 (npm, NoSec), driven by shepherd_server.js.
  libcoap_dtls_gnutls, libcoap_dtls_openssl
                    libcoap's coap-server-<tls> (Debian libcoap3-bin) as a stand-in LwM2M server
                    over DTLS PSK with a 128-byte identity and a 64-byte key.

The npm peers are installed into --npm-dir on first use (procs.npm_install); a missing npm or a
failed install FAILS the case (never a silent skip), like interop_server_lwm2m_node_lib.
Every case runs the client with --bind 127.0.0.1, bounded waits, and ends with SIGTERM (exit 0,
De-register seen by the peer). Prints "PASS <case>" or "FAIL <case>: why".
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "server"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "client"))
import procs  # noqa: E402
from procs import expect  # noqa: E402
from client_test import Daemon  # noqa: E402
from server_test import printable_id  # noqa: E402

NODE_DIR = os.path.join(HERE, "..", "lwm2m_node_server")


class Peer:
    """A line-oriented peer process (the Node drivers): stdout lines collected in a thread,
    commands on stdin answered by "OK <cmd> <json>" or "ERROR <cmd> ..."."""

    def __init__(self, args, env=None):
        self.proc = procs.spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env)
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            with self.lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def snapshot(self, start=0):
        with self.lock:
            return list(self.lines[start:])

    def mark(self):
        with self.lock:
            return len(self.lines)

    def wait(self, pred, timeout, start=0):
        end = time.time() + timeout
        while time.time() < end:
            for ln in self.snapshot(start):
                if pred(ln):
                    return ln
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        for ln in self.snapshot(start):
            if pred(ln):
                return ln
        return None

    def count(self, prefix, start=0):
        return sum(1 for ln in self.snapshot(start) if ln.startswith(prefix))

    def cmd(self, text, timeout=8):
        """Sends a command; returns (ok, parsed result or error text)."""
        name = text.split()[0]
        start = self.mark()
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        ln = self.wait(lambda s: s.startswith(("OK " + name + " ", "ERROR " + name + " ")),
                       timeout, start)
        expect(ln is not None, f"the peer did not answer '{text}' within {timeout} s; "
                               f"last lines: {self.snapshot()[-8:]}")
        if ln.startswith("OK "):
            return True, json.loads(ln[len("OK " + name + " "):])
        return False, ln[len("ERROR " + name + " "):]

    def ok(self, text, timeout=8):
        good, res = self.cmd(text, timeout)
        expect(good, f"'{text}': {res}")
        return res

    def tail(self):
        return "\n".join(self.snapshot()[-15:])


def daemon(a, d, ep, server_uri, *extra, log_level="debug"):
    args = ["-e", ep, "--server", server_uri, "--bind", "127.0.0.1",
            "-d", os.path.join(d, "state-" + ep), "--demo-interval", "0.3",
            "--log-level", log_level] + list(extra)
    return Daemon(a.client, args, os.path.join(d, ep + ".err"))


def stop_client(cl):
    rc = cl.stop()
    expect(rc == 0, f"client exited {rc} on SIGTERM\n{cl.stderr()}")
    expect(cl.wait_for("deregistered", 2), f"no 'deregistered' line: {cl.seen}\n{cl.stderr()}")


def node_env(modules):
    return dict(os.environ, NODE_PATH=modules, NODE_NO_WARNINGS="1")


# ---- lwm2m-node-lib --------------------------------------------------------------------------

def case_node_lib_server(a, d):
    """lwm2m-node-lib's LwM2M 1.0 server. Its limits, worked around here and not in our client:
    - it reads single Resources only (/O/I/R), without an Accept option, and cannot decode a TLV
      or JSON answer: our engine answers a Read without Accept on a single Resource in
      text/plain (TS 1.0 §6.4.1 / TS 1.1 §7.4.1), which it reads; our client runs with
      --lwm2m-version 1.0 (the version it knows);
    - its Writes and Executes default to Content-Format "lightweightm2m/text" (1541, a number
      from LwM2M drafts): our client rightly answers 4.15, so the driver writes text/plain (0);
    - its Register answer carries ONE Location-Path option "rd/<id>" (a '/' inside the option):
      our client must send it back as received (one Uri-Path option "rd/1") in its Updates and
      De-register; node-coap would join "rd","1" into the same URL, so the driver prints the
      raw options;
    - it sends its requests through its own socket as a CoAP proxy (Proxy-Uri), so they come
      from the address the client registered with;
    - its lifetime check drops a device whose Update is late (driver line EXPIRED).
    """
    expect(a.npm_dir, "--npm-dir is required")
    modules = procs.npm_install(a.npm_dir, "lwm2m-node-lib@1")
    port = procs.free_udp_port()
    peer = Peer(["node", os.path.join(NODE_DIR, "node_server.js"), str(port)], node_env(modules))
    expect(peer.wait(lambda s: s.startswith("READY "), 15),
           f"the node server did not start: {peer.tail()}")
    ep = "cpp-node-1"
    lifetime = 4  # an Update every ~2 s (margin capped at lifetime / 2)
    cl = daemon(a, d, ep, f"coap://127.0.0.1:{port}", "--lwm2m-version", "1.0",
                "--lifetime", str(lifetime), "--shutdown-grace", "5")
    reg = peer.wait(lambda s: s.startswith("REGISTERED " + ep + " "), 15)
    expect(reg is not None, f"no registration at the node server: {peer.tail()}\n{cl.stderr()}")
    f = reg.split(" ", 5)
    expect(f[2] == str(lifetime) and f[3] == "1.0" and f[4] == "U", f"register params: {reg}")
    links = json.loads(f[5])
    for p in ("</1/0>", "</3/0>", "</3303/0>"):
        expect(p in links, f"{p} missing from the Register payload {links!r}")
    expect(cl.wait_for("registered", 5), f"no 'registered' line: {cl.seen}")
    expect(cl.line("registered") == f"registered {ep} at coap://127.0.0.1:{port} location /rd/1",
           f"registered line: {cl.line('registered')!r}")

    # Reads of single Resources without Accept: text/plain.
    expect(peer.ok(f"read {ep} 3 0 0") == "lwm2m-cpp", "manufacturer")
    expect(peer.ok(f"read {ep} 3 0 2") == ep, "serial number")
    temp = float(peer.ok(f"read {ep} 3303 0 5700"))
    expect(-50.0 < temp < 100.0, f"temperature {temp}")
    good, err = peer.cmd(f"read {ep} 3303 0 9999")
    expect(not good and "4.04" in err, f"read of an absent resource: {good} {err}")
    # Write in text/plain, read back; the library's default pre-release format is refused (4.15)
    # and leaves the value alone; a Write of a read-only Resource is 4.05.
    peer.ok(f"write {ep} 3303 0 5750 boiler room")
    expect(peer.ok(f"read {ep} 3303 0 5750") == "boiler room", "write not read back")
    peer.ok("format lightweightm2m/text")
    good, err = peer.cmd(f"write {ep} 3303 0 5750 other")
    expect(not good and "4.15" in err, f"write in Content-Format 1541: {good} {err}")
    peer.ok("format text/plain")
    expect(peer.ok(f"read {ep} 3303 0 5750") == "boiler room", "a refused write changed it")
    good, err = peer.cmd(f"write {ep} 3 0 0 evil")
    expect(not good and "4.05" in err, f"write of a read-only resource: {good} {err}")
    # Discover (link-format) and Write-Attributes.
    disc = peer.ok(f"discover {ep} 3303 0")
    for p in ("</3303/0>", "</3303/0/5700>", "</3303/0/5750>"):
        expect(p in disc, f"{p} not discovered: {disc!r}")
    peer.ok(f"attributes {ep} 3303 0 5700 pmin=0&pmax=2")
    disc = peer.ok(f"discover {ep} 3303 0 5700")
    expect("pmax=2" in disc, f"the attributes are not discovered: {disc!r}")
    # Observe: the first value, then notifications with changed values.
    mark = peer.mark()
    first = float(peer.ok(f"observe {ep} 3303 0 5700"))
    n = peer.wait(lambda s: s.startswith(f"NOTIFY {ep} /3303/0/5700 ")
                  and float(json.loads(s.split(" ", 3)[3])) != first, 10, mark)
    expect(n is not None, f"no notification with a changed value: {peer.tail()}")
    # Updates over more than one lifetime: each one echoes the Location-Path as received (ONE
    # Uri-Path option "rd/1") and the node server keeps the device (no EXPIRED).
    mark = peer.mark()
    end = time.time() + 3 * lifetime
    while time.time() < end and peer.count("UPDATED " + ep, mark) < 2:
        time.sleep(0.1)
    expect(peer.count("UPDATED " + ep, mark) >= 2, f"fewer than 2 Updates: {peer.tail()}")
    updates = [s for s in peer.snapshot() if s.startswith("REQUEST POST ")]
    expect(len(updates) >= 3, f"requests seen: {updates}")
    expect(json.loads(updates[0].split(" ", 3)[2]) == ["rd"], f"register path: {updates[0]}")
    for u in updates[1:]:
        expect(json.loads(u.split(" ", 3)[2]) == ["rd/1"],
               f"the Update does not echo the Location-Path 'rd/1' as received: {u}")
    expect(peer.count("EXPIRED") == 0, f"the node server expired the device: {peer.tail()}")
    expect(peer.ok(f"device {ep}")["name"] == ep, "device gone")
    expect(peer.ok(f"read {ep} 3 0 0") == "lwm2m-cpp", "read after the updates")
    # Execute Reboot: 2.04, the daemon restarts from its state directory and updates; the
    # observation survives the reboot (notifications keep coming).
    mark = peer.mark()
    peer.ok(f"execute {ep} 3 0 4")
    expect(peer.wait(lambda s: s.startswith("UPDATED " + ep), 10, mark) is not None,
           f"no Update after the reboot: {peer.tail()}")
    expect(cl.count("started") == 2, f"the daemon did not restart: {cl.seen}\n{cl.stderr()}")
    expect(cl.count("registered") == 1, f"registered again after the reboot: {cl.seen}")
    mark = peer.mark()
    expect(peer.wait(lambda s: s.startswith(f"NOTIFY {ep} /3303/0/5700 "), 5, mark) is not None,
           f"no notification after the reboot: {peer.tail()}")
    # (The demo sensor keeps /3303/0/5750 in RAM only: a reboot resets it.)
    expect(peer.ok(f"read {ep} 3 0 2") == ep, "read after the reboot")
    # SIGTERM: De-register (DELETE with the same single option), the node server drops it.
    mark = peer.mark()
    stop_client(cl)
    expect(peer.wait(lambda s: s == "UNREGISTERED " + ep, 5, mark) is not None,
           f"the node server saw no De-register: {peer.tail()}")
    dels = [s for s in peer.snapshot(mark) if s.startswith("REQUEST DELETE ")]
    expect(dels and json.loads(dels[0].split(" ", 3)[2]) == ["rd/1"], f"De-register: {dels}")
    expect(peer.count("EXPIRED") == 0, f"the node server expired the device: {peer.tail()}")
    good, _ = peer.cmd(f"device {ep}")
    expect(not good, "the node server still lists the device")
    peer.ok("quit")


# ---- coap-shepherd ---------------------------------------------------------------------------

SHEPHERD = "coap-shepherd@0.2.5"
CODEC = "lwm2m-codec@0.1.1"


def shepherd(a, d, modules, name, with_codec):
    port = procs.free_udp_port()
    db = os.path.join(d, "db-" + name)
    os.makedirs(db)
    args = ["node", os.path.join(NODE_DIR, "shepherd_server.js"), str(port), db]
    if with_codec:
        args.append(os.path.join(modules, "lwm2m-codec"))
    peer = Peer(args, node_env(modules))
    expect(peer.wait(lambda s: s.startswith("READY "), 15),
           f"coap-shepherd did not start: {peer.tail()}")
    return peer, port


def case_coap_shepherd(a, d):
    """coap-shepherd 0.2.5 (the newest release the npm registry can install: 0.2.11 depends on
    node-coap from GitHub). What it does and does not do with a standard client:
    - Register: accepted (2.01, Location-Path "rd","<id>"); it then reads EVERY registered
      Object in TLV (11542) before it calls the device online;
    - with the lwm2m-codec 0.0.8 it pins, that TLV decoding throws "TypeError: Cannot set
      properties of undefined" on an Object holding a Multiple Resource (our /3 has the
      mandatory /3/0/11 Error Code, /3/0/6, /3/0/7) and the exception kills the server
      process: checked below, then the driver substitutes lwm2m-codec 0.1.1 (coap-shepherd
      0.2.11's codec, which fixes it);
    - its TLV float decoder reads 4 bytes whatever the length: our 8-byte Floats (TS 1.0
      §6.4.3.1 allows 4 or 8) come out wrong, so the test only checks that a number comes;
      Resources unknown to its lwm2m-id tables (e.g. /3303/0/5750, a String) come back as hex;
    - Observe: it sends the request from a NEW socket (another port) instead of the one the
      client registered with; our client drops requests from an unknown source (NoSec: the
      server is known by its address), so coap-shepherd's Observe never succeeds. The driver's
      observe-via-server sends the same Observe through coap-shepherd's server socket: 2.05 in
      TLV and notifications, which shows the port is the only problem. Reads, Writes,
      Discover, Write-Attributes and Execute go through its server socket and work;
    - Update (POST /rd/<id>) and De-register (DELETE) work (devUpdate / devLeaving).
    """
    expect(a.npm_dir, "--npm-dir is required")
    modules = procs.npm_install(a.npm_dir, SHEPHERD)
    procs.npm_install(a.npm_dir, CODEC)

    # 1. With its own codec: registration accepted, then the server process dies decoding our
    #    (standard) TLV Device object.
    peer, port = shepherd(a, d, modules, "pinned", with_codec=False)
    ep = "cpp-shepherd-0"
    cl = daemon(a, d, ep, f"coap://127.0.0.1:{port}", "--lwm2m-version", "1.0",
                "--shutdown-grace", "1")
    expect(cl.wait_for("registered", 15), f"not registered: {cl.seen}\n{cl.stderr()}")
    crash = peer.wait(lambda s: s.startswith("CRASH "), 10)
    expect(crash is not None and "Cannot set properties of undefined" in crash,
           f"coap-shepherd 0.2.5 + lwm2m-codec 0.0.8 did not fail as documented: {peer.tail()}")
    expect(peer.proc.wait(timeout=5) != 0, "the shepherd process survived its exception")
    cl.stop()

    # 2. With lwm2m-codec 0.1.1.
    peer, port = shepherd(a, d, modules, "codec", with_codec=True)
    ep = "cpp-shepherd-1"
    lifetime = 4
    cl = daemon(a, d, ep, f"coap://127.0.0.1:{port}", "--lwm2m-version", "1.0",
                "--lifetime", str(lifetime), "--shutdown-grace", "5")
    expect(peer.wait(lambda s: s.startswith("IND devIncoming " + ep), 15) is not None,
           f"the device did not come online (its TLV reads of every object): {peer.tail()}\n"
           f"{cl.stderr()}")
    expect(cl.line("registered") == f"registered {ep} at coap://127.0.0.1:{port} location /rd/1",
           f"registered line: {cl.line('registered')!r}")
    expect(peer.count("CRASH") == 0 and peer.count("SHEPHERD-ERROR") == 0, peer.tail())
    lst = peer.ok("list")
    expect(len(lst) == 1 and lst[0]["clientName"] == ep and lst[0]["status"] == "online"
           and lst[0]["version"] == "1.0", f"list: {lst}")
    for oid in ("1", "3", "4", "5", "3303"):
        expect(lst[0]["objList"].get(oid) == ["0"], f"object {oid} instances: {lst[0]['objList']}")
    # Reads: an Object Instance in TLV (with Multiple Resources), single Resources.
    r = peer.ok(f"read {ep} /3/0")
    expect(r["status"] == "2.05" and r["data"]["manuf"] == "lwm2m-cpp"
           and r["data"]["serial"] == ep and r["data"]["model"] == "lwm2m-client", f"/3/0: {r}")
    expect(len(r["data"]["errCode"]) >= 1, f"/3/0/11: {r}")
    r = peer.ok(f"read {ep} /3/0/0")
    expect(r == {"status": "2.05", "data": "lwm2m-cpp"}, f"/3/0/0: {r}")
    r = peer.ok(f"read {ep} /3/0/9")
    expect(r["status"] == "2.05" and isinstance(r["data"], int) and 0 <= r["data"] <= 100,
           f"/3/0/9: {r}")
    r = peer.ok(f"read {ep} /3303/0/5700")
    expect(r["status"] == "2.05" and isinstance(r["data"], (int, float)), f"/3303/0/5700: {r}")
    r = peer.ok(f"read {ep} /3303/0/9999")
    expect(r["status"] == "4.04", f"absent resource: {r}")
    # Write (TLV) and read back; Discover; Write-Attributes.
    r = peer.ok(f"write {ep} /3303/0/5750 kitchen")
    expect(r["status"] == "2.04", f"write: {r}")
    r = peer.ok(f"read {ep} /3303/0/5750")
    expect(r["status"] == "2.05" and r["data"] in ("kitchen", b"kitchen".hex()), f"read back: {r}")
    r = peer.ok(f"discover {ep} /3303/0")
    expect(r["status"] == "2.05" and "/3303/0/5700" in r["data"]["resrcList"], f"discover: {r}")
    r = peer.ok(f"attributes {ep} /3303/0/5700 pmin=0&pmax=2")
    expect(r["status"] == "2.04", f"attributes: {r}")
    r = peer.ok(f"discover {ep} /3303/0/5700")
    expect(r["status"] == "2.05" and r["data"].get("attrs", {}).get("pmax") == 2,
           f"attributes not discovered: {r}")
    # Observe from a foreign port: dropped by our client; the server socket still works.
    mark = peer.mark()
    peer.proc.stdin.write(f"observe {ep} /3303/0/5700\n".encode())
    peer.proc.stdin.flush()
    time.sleep(3)
    obs = [s for s in peer.snapshot(mark) if s.startswith(("OK observe", "IND devNotify"))]
    expect(not any('"2.05"' in s or "devNotify" in s for s in obs),
           f"an Observe from an unknown port was answered: {obs}")
    expect(peer.ok(f"read {ep} /3/0/0")["status"] == "2.05", "read after the observe")
    # The same Observe sent from coap-shepherd's server socket: 2.05 in TLV, then notifications
    # (TLV hex: the payloads change with the sensor).
    mark = peer.mark()
    r = peer.ok(f"observe-via-server {ep} /3303/0/5700")
    expect(r == {"status": "2.05", "format": "application/tlv"}, f"observe via server: {r}")
    got = set()
    end = time.time() + 10
    while time.time() < end and len(got) < 2:
        got = {s for s in peer.snapshot(mark) if s.startswith(f"NOTIFY {ep} /3303/0/5700 ")}
        time.sleep(0.05)
    expect(len(got) >= 2, f"no changing notifications via the server socket: {peer.tail()}")
    # Updates keep it registered (the Location-Path "rd","1" echoed as two options).
    mark = peer.mark()
    end = time.time() + 3 * lifetime
    while time.time() < end and peer.count("IND devUpdate " + ep, mark) < 2:
        time.sleep(0.1)
    expect(peer.count("IND devUpdate " + ep, mark) >= 2, f"fewer than 2 Updates: {peer.tail()}")
    ups = [s for s in peer.snapshot(mark) if s.startswith("REQUEST POST ")]
    expect(ups and all(json.loads(s.split(" ", 3)[2]) == ["rd", "1"] for s in ups),
           f"Update paths: {ups}")
    # Execute Reboot: 2.04, restart, Update accepted, still online.
    mark = peer.mark()
    r = peer.ok(f"execute {ep} /3/0/4")
    expect(r["status"] == "2.04", f"execute: {r}")
    expect(peer.wait(lambda s: s.startswith("IND devUpdate " + ep), 10, mark) is not None,
           f"no Update after the reboot: {peer.tail()}")
    expect(cl.count("started") == 2 and cl.count("registered") == 1, f"reboot: {cl.seen}")
    expect(peer.ok("list")[0]["status"] == "online", "offline after the reboot")
    # SIGTERM: De-register; coap-shepherd removes the device.
    mark = peer.mark()
    stop_client(cl)
    expect(peer.wait(lambda s: s.startswith("IND devLeaving " + ep), 5, mark) is not None,
           f"coap-shepherd saw no De-register: {peer.tail()}")
    expect(peer.ok("list") == [], "coap-shepherd still lists the device")
    expect(peer.count("CRASH") == 0, peer.tail())
    peer.ok("quit")


# ---- libcoap over DTLS -----------------------------------------------------------------------

def libcoap_dtls(a, d, tls):
    """coap-server-<tls> as a stand-in LwM2M server over DTLS PSK: its -d option creates the
    unknown resource "rd" on the POST (2.01, Location-Path "rd", plus Location-Query options
    our client ignores), answers the Updates (POST /rd) 2.04 and deletes it on the DELETE
    (2.02). It is no LwM2M server: it sends no requests (no Read, Observe...) itself.
    Identity 128 bytes (sent with --psk-identity-hex), key 64 bytes: coap-server takes the key
    as one command-line string of at most 64 bytes, so it is printable; any identity is
    accepted (no -i file)."""
    identity = printable_id(128)
    key = printable_id(64)
    key_file = os.path.join(d, "psk.key")
    with open(key_file, "wb") as f:
        f.write(key)
    os.chmod(key_file, 0o600)
    port = procs.free_udp_port_pair()
    log_path = os.path.join(d, "coap-server.log")
    log = open(log_path, "wb")
    # stdbuf: its packet dumps go to a fully buffered stdout otherwise.
    srv = procs.spawn(["stdbuf", "-oL", "-eL", f"coap-server-{tls}", "-A", "127.0.0.1",
                       "-p", str(port), "-v", "8", "-d", "4", "-k", key.decode(), "-h", "lwm2m"],
                      stdout=log, stderr=subprocess.STDOUT)
    procs.coap_ping("127.0.0.1", port)

    def server_log(want=None, timeout=5):
        end = time.time() + timeout
        while True:
            with open(log_path, "rb") as f:
                text = f.read().decode(errors="replace")
            if want is None or all(w in text for w in want) or time.time() > end:
                return text
            time.sleep(0.05)

    ep = f"cpp-dtls-{tls}"
    uri = f"coaps://127.0.0.1:{port + 1}"
    cl = daemon(a, d, ep, uri, "--psk-identity-hex", identity.hex(), "--psk-key-file", key_file,
                "--lifetime", "2", "--shutdown-grace", "5", log_level="trace")
    expect(cl.wait_for("registered", 15), f"not registered over DTLS: {cl.seen}\n{cl.stderr()}\n"
                                          f"{server_log()[-3000:]}")
    expect(cl.line("registered") == f"registered {ep} at {uri} location /rd",
           f"registered line: {cl.line('registered')!r}")
    text = server_log(["c:2.01"])
    expect(f"got psk_identity: '{identity.decode()}'" in text,
           f"coap-server-{tls} did not get the 128-byte identity:\n{text[-3000:]}")
    post = [ln for ln in text.splitlines() if "c:POST" in ln and "Uri-Path:rd" in ln]
    expect(post and f"Uri-Query:ep={ep}" in post[0] and "Uri-Query:lt=2" in post[0]
           and "</3/0>" in post[0], f"no decrypted Register in the server log: {post}")
    expect(any("c:2.01" in ln and "Location-Path:rd" in ln for ln in text.splitlines()),
           "no 2.01 Created in the server log")
    # Updates (lifetime 2 s: one a second) to the same location, answered 2.04 by the existing
    # resource, over the same DTLS session (one handshake).
    expect(cl.wait_for("updated", 5), f"no Update: {cl.seen}\n{cl.stderr()}")
    text = server_log(["c:2.04"])
    lines = text.splitlines()
    ups = [i for i, ln in enumerate(lines) if "c:POST" in ln and "Uri-Path:rd" in ln
           and "Uri-Query:ep=" not in ln]
    expect(ups and any("c:2.04" in ln for ln in lines[ups[0]:]), f"Update not answered: {ups}")
    with open(cl.err_path, "rb") as f:
        hs = f.read().decode(errors="replace").count("handshake with 127.0.0.1")
    expect(hs == 1, f"{hs} DTLS handshakes for a Register and its Updates")
    stop_client(cl)
    text = server_log(["c:DELETE", "c:2.02"])
    expect(any("c:DELETE" in ln and "Uri-Path:rd" in ln for ln in text.splitlines()),
           f"no De-register in the server log:\n{text[-2000:]}")
    expect(any("c:2.02" in ln for ln in text.splitlines()), "the De-register was not answered")
    # The key never appears in our client's trace log, in any spelling.
    err = open(os.path.join(d, ep + ".err"), "rb").read()
    for spelling in (key, key.hex().encode(), key.hex().upper().encode(),
                     base64.b64encode(key)):
        expect(spelling not in err, "the PSK appears in the client's log")
    srv.terminate()
    srv.wait(timeout=5)


def case_libcoap_dtls_gnutls(a, d):
    libcoap_dtls(a, d, "gnutls")


def case_libcoap_dtls_openssl(a, d):
    libcoap_dtls(a, d, "openssl")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--client", required=True)
    p.add_argument("--npm-dir", default="")
    return procs.run_case_main(p, CASES, "lwm2m-client-interop-")


if __name__ == "__main__":
    sys.exit(main())
