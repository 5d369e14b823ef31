#!/usr/bin/env python3
"""lwm2m-client integration tests: the real daemon against the real lwm2m-server on 127.0.0.1
(label integration).

  client_test.py --client PATH --server PATH [--lwm2m PATH] --case NAME

Cases: usage, dm_nosec, kill9_restart, bootstrap_psk, bootstrap_purge, firmware, firmware_pull,
factory_reset, admin_cli (the `lwm2m` admin commands against both).
Prints "PASS <case>" or "FAIL <case>: why".
"""
import argparse
import base64
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import procs  # noqa: E402
from procs import expect  # noqa: E402
from server_test import Client, Server, Sse, bootstrap_body, find_resource, printable_id  # noqa: E402,E501


def start_server(a, d, extra=("--nosec", "any")):
    s = Server(a.server, os.path.join(d, "server"), "sqlite", list(extra))
    os.makedirs(s.data_dir, exist_ok=True)
    s.start()
    return s


class Daemon(Client):
    """lwm2m-client with its stderr kept in a file (searched for secrets)."""

    def __init__(self, binary, args, err_path):
        self.err_path = err_path
        self.err = open(err_path, "ab")
        super().__init__(binary, args, stderr=self.err)

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=5)

    def line(self, word):
        self.count(word)
        for s in self.seen:
            if s.split(" ")[0] == word:
                return s
        return None


def nosec_args(s, d, ep, *extra):
    return ["-e", ep, "--server", f"coap://127.0.0.1:{s.ports['coap']}",
            "-d", os.path.join(d, "state-" + ep), "--demo-interval", "0.3",
            "--log-level", "debug", "--shutdown-grace", "5"] + list(extra)


def read(s, ep, path, fmt=None):
    q = f"?format={fmt}" if fmt else ""
    st, j, _ = s.api("GET", f"/api/clients/{ep}/read{path}{q}")
    expect(st == 200, f"read {path}: HTTP {st} {j}")
    return j


def read_until(s, ep, path, want, timeout):
    """Reads `path` as text until its value is `want` or `timeout` seconds passed; the last
    value read."""
    end = time.time() + timeout
    value = None
    while time.time() < end:
        value = read(s, ep, path, "text")["content"].get("value")
        if value == want:
            break
        time.sleep(0.2)
    return value


def stop_and_check_deregistered(s, cl, ep):
    rc = cl.stop()
    expect(rc == 0, f"client exited {rc} on SIGTERM\n{cl.stderr()}")
    expect(cl.wait_for("deregistered", 2), f"no 'deregistered' line: {cl.seen}")
    st, j, _ = s.api("GET", f"/api/clients/{ep}")
    expect(st == 404, f"the server still lists {ep} after the De-register: {st} {j}")


# ---- cases -----------------------------------------------------------------------------------

def run_text(args, env=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=10, env=env)


def case_usage(a, d):
    r = run_text([a.client, "--help"])
    expect(r.returncode == 0, f"--help exit {r.returncode}")
    for opt in ("--endpoint", "--bootstrap", "--server", "--ssid", "--psk-identity",
                "--psk-identity-hex", "--psk-key-file", "--cert", "--key", "--ca", "--rpk",
                "--rpk-peer", "--hold-off", "--bootstrap-jitter", "--bootstrap-account-timeout",
                "--state-dir", "--reset-state", "--bind", "--port", "--lifetime", "--binding",
                "--queue-mode", "--notification-storing", "--lwm2m-version", "--objects", "--ddf",
                "--manufacturer", "--model", "--serial", "--firmware-version", "--firmware-fail",
                "--demo-interval", "--log-level", "--shutdown-grace", "--config", "--version"):
        expect(opt in r.stdout, f"--help does not explain {opt}")
    r = run_text([a.client, "--version"])
    expect(r.returncode == 0 and r.stdout.startswith("lwm2m-client "), f"--version: {r.stdout!r}")
    state = os.path.join(d, "st")
    bad_config = os.path.join(d, "bad.json")
    with open(bad_config, "w") as f:
        f.write("[1, 2")
    unknown_key = os.path.join(d, "unknown.json")
    with open(unknown_key, "w") as f:
        f.write('{"endpoint": "x", "server": "coap://127.0.0.1:1", "no-such-option": 1}')
    a_file = os.path.join(d, "a-file")
    with open(a_file, "w") as f:
        f.write("x")
    key_hex = secrets.token_bytes(16).hex()
    for args, code, words in (
            ([], 2, "--endpoint is required"),
            (["-e", "x"], 2, "exactly one of --bootstrap and --server"),
            (["-e", "x", "--server", "http://127.0.0.1"], 2, "not a coap:// or coaps://"),
            (["-e", "x", "--server", "coap://h:1", "--bootstrap", "coap://h:2"], 2, "excludes"),
            (["-e", "x", "--server", "coaps://127.0.0.1:1", "-d", state], 2, "needs credentials"),
            (["-e", "x", "--server", "coaps://127.0.0.1:1", "--psk-identity", "id", "-d", state],
             2, "needs --psk-key"),
            (["-e", "x", "--server", "coaps://127.0.0.1:1", "--psk-identity", "id",
              "--psk-key-hex", "abc", "-d", state], 2, "hex"),
            (["-e", "x", "--server", "coap://127.0.0.1:1", "--objects", "3,7"], 2, "objects"),
            (["-e", "x", "--server", "coap://127.0.0.1:1", "--lifetime", "0"], 2, "lifetime"),
            (["--config", bad_config], 2, "JSON"),
            (["--config", unknown_key], 2, "no-such-option"),
            (["-e", "x", "--server", "coap://127.0.0.1:1", "-d", a_file], 1, "state directory"),
            (["-e", "x", "--server", "coap://127.0.0.1:1", "--bind", "nowhere"], 2, "--bind")):
        env = dict(os.environ, LWM2M_PSK_KEY_HEX=key_hex) if "--psk-key-hex" in args else None
        r = run_text([a.client] + args, env)
        out = r.stdout + r.stderr
        expect(r.returncode == code, f"{args}: exit {r.returncode}, expected {code}: {out!r}")
        expect(words.lower() in out.lower(), f"{args}: no '{words}' in {out!r}")
        expect(key_hex not in out, f"{args}: the key appears in the output")


def case_dm_nosec(a, d):
    s = start_server(a, d)
    sse = Sse(s)
    ep = "cl-nosec-1"
    cl = Daemon(a.client, nosec_args(s, d, ep), os.path.join(d, "client.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}\n{cl.stderr()}")
    reg = cl.line("registered")
    expect(reg.startswith(f"registered {ep} at coap://127.0.0.1:{s.ports['coap']} location /rd/"),
           f"registered line: {reg!r}")
    st, j, _ = s.api("GET", f"/api/clients/{ep}")
    expect(st == 200 and j["lwm2m_version"] == "1.1", f"client: {st} {j}")
    paths = [o["path"] for o in j["objects"]]
    for p in ("/1/0", "/3/0", "/4/0", "/5/0", "/3303/0"):
        expect(p in paths, f"{p} not registered: {paths}")
    expect(not any(p.startswith("/0") for p in paths), f"Object 0 registered: {paths}")
    # Reads: the Device object in every multi-value format, single resources as text.
    for fmt in ("tlv", "senml-json", "senml-cbor", "lwm2m-cbor"):
        j = read(s, ep, "/3/0", fmt)
        expect(j["code"] == "2.05", f"/3/0 {fmt}: {j}")
        expect(find_resource(j["content"], 0)["value"] == "lwm2m-cpp", f"/3/0/0 {fmt}: {j}")
        expect(find_resource(j["content"], 2)["value"] == ep, f"serial {fmt}: {j}")
    j = read(s, ep, "/3/0/3", "text")
    expect(j["content"]["value"] == "1.0.0", f"firmware version: {j}")
    j = read(s, ep, "/3303/0/5700", "senml-json")
    expect(j["code"] == "2.05" and isinstance(j["content"]["value"], float), f"sensor: {j}")
    # Object 0 is never readable by a DM server (4.01), and no key byte leaves.
    for path in ("/0", "/0/0", "/0/0/5"):
        j = read(s, ep, path)
        expect(j["code"] == "4.01", f"read {path}: {j}")
    # Write + read back (a RW resource of the demo sensor), Discover, Execute with a wrong
    # target.
    st, j, _ = s.api("PUT", f"/api/clients/{ep}/write/3303/0/5750",
                     {"id": 5750, "type": "string", "value": "boiler room"})
    expect(st == 200 and j["code"] == "2.04", f"write /3303/0/5750: {j}")
    j = read(s, ep, "/3303/0/5750", "text")
    expect(j["content"]["value"] == "boiler room", f"read back: {j}")
    st, j, _ = s.api("PUT", f"/api/clients/{ep}/write/3/0/0",
                     {"id": 0, "type": "string", "value": "evil"})
    expect(st == 200 and j["code"] == "4.05", f"write of a R resource: {j}")
    st, j, _ = s.api("GET", f"/api/clients/{ep}/discover/3303/0")
    expect(st == 200 and j["code"] == "2.05" and "5700" in str(j), f"discover: {j}")
    # Observe the sensor with pmin 0: notifications follow the demo's changes.
    st, j, _ = s.api("PUT", f"/api/clients/{ep}/attributes/3303/0/5700", {"pmin": 0, "pmax": 30})
    expect(st == 200 and j["code"] == "2.04", f"attributes: {j}")
    st, j, _ = s.api("POST", f"/api/clients/{ep}/observe/3303/0/5700?format=senml-json")
    expect(st == 200 and j["code"] == "2.05", f"observe: {j}")
    first = sse.wait(lambda e: e["type"] == "notification" and e["ep"] == ep
                     and e["data"].get("path") == "/3303/0/5700" and "content" in e["data"], 10)
    expect(first is not None, "no notification of /3303/0/5700")
    v1 = first["data"]["content"]["value"]
    second = sse.wait(lambda e: e["type"] == "notification" and e["ep"] == ep
                      and e["data"].get("path") == "/3303/0/5700" and "content" in e["data"]
                      and e["data"]["content"]["value"] != v1, 10)
    expect(second is not None, "the sensor's value did not change in the notifications")
    # Reboot (/3/0/4): 2.04, then the daemon restarts from its state directory and comes back
    # with an Update of the registration it kept (a reboot does not de-register).
    st, j, _ = s.api("POST", f"/api/clients/{ep}/execute/3/0/4")
    expect(st == 200 and j["code"] == "2.04", f"execute reboot: {j}")
    expect(cl.wait_for("updated", 15), f"no Update after the reboot: {cl.seen}\n{cl.stderr()}")
    expect(cl.count("started") == 2, f"the daemon did not restart: {cl.seen}")
    j = read(s, ep, "/3303/0/5750", "text")
    expect(j["code"] == "2.05", f"read after reboot: {j}")
    stop_and_check_deregistered(s, cl, ep)
    sse.close()
    s.stop()


def case_kill9_restart(a, d):
    s = start_server(a, d)
    ep = "cl-kill9"
    # The options come from a JSON configuration file this time (arrays for list options).
    config = os.path.join(d, "client.json")
    with open(config, "w") as f:
        json.dump({"endpoint": ep, "server": f"coap://127.0.0.1:{s.ports['coap']}",
                   "state-dir": os.path.join(d, "state-" + ep), "objects": [3, 5, 3303],
                   "demo-interval": 0.3, "log-level": "debug"}, f)
    args = ["--config", config]
    cl = Daemon(a.client, args, os.path.join(d, "client.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}\n{cl.stderr()}")
    st, j, _ = s.api("GET", f"/api/clients/{ep}")
    expect(st == 200, f"client: {st}")
    paths = [o["path"] for o in j["objects"]]
    expect("/5/0" in paths and "/3303/0" in paths and "/4/0" not in paths and "/2" not in paths,
           f"objects from the configuration file: {paths}")
    reg_id = j["registration_id"]
    # Let the demo write state a few times, then kill -9 in the middle of it.
    time.sleep(1.0)
    cl.kill9()
    state = os.path.join(d, "state-" + ep)
    for f in ("accounts.bin", "engine.bin"):
        p = os.path.join(state, f)
        expect(os.path.exists(p), f"{f} missing after kill -9")
        expect(stat.S_IMODE(os.stat(p).st_mode) == 0o600, f"{f} mode {oct(os.stat(p).st_mode)}")
    cl2 = Daemon(a.client, args, os.path.join(d, "client2.err"))
    # The registration is still valid: the restart continues it with an Update, not a Register.
    expect(cl2.wait_for("updated", 15), f"no Update after the restart: {cl2.seen}\n{cl2.stderr()}")
    expect(cl2.count("registered") == 0, f"registered again instead of updating: {cl2.seen}")
    st, j, _ = s.api("GET", f"/api/clients/{ep}")
    expect(st == 200 and j["registration_id"] == reg_id,
           f"registration id changed: {reg_id} -> {j}")
    j = read(s, ep, "/3/0/0", "text")
    expect(j["code"] == "2.05", f"read after restart: {j}")
    stop_and_check_deregistered(s, cl2, ep)
    s.stop()


def case_bootstrap_psk(a, d):
    s = start_server(a, d, extra=())
    sse = Sse(s)
    ep = "cl-bs-psk"
    bs_id, bs_key = printable_id(128), secrets.token_bytes(64)
    st, j, _ = s.api("POST", "/api/bootstrap", bootstrap_body(ep, s, bs_id, bs_key))
    expect(st == 201, f"bootstrap config: {st} {j}")
    key_file = os.path.join(d, "bs.key")
    with open(key_file, "wb") as f:
        f.write(bs_key + b"\n")  # one trailing newline is removed (a random key may end in 0x0a)
    os.chmod(key_file, 0o600)
    state = os.path.join(d, "state")
    args = ["-e", ep, "--bootstrap", f"coaps://127.0.0.1:{s.ports['bs_coaps']}",
            "--psk-identity", bs_id.decode(), "--psk-key-file", key_file, "-d", state,
            "--bootstrap-jitter", "0.2", "--log-level", "trace", "--demo-interval", "1"]
    cl = Daemon(a.client, args, os.path.join(d, "client.err"))
    expect(cl.wait_for("bootstrapped", 25), f"no bootstrap: {cl.seen}\n{cl.stderr()}")
    expect(cl.line("bootstrapped") ==
           f"bootstrapped {ep} from coaps://127.0.0.1:{s.ports['bs_coaps']}",
           f"line: {cl.line('bootstrapped')!r}")
    expect(cl.wait_for("registered", 25), f"no registration: {cl.seen}\n{cl.stderr()}")
    expect(f"at coaps://127.0.0.1:{s.ports['coaps']} " in cl.line("registered"),
           f"registered over DTLS: {cl.line('registered')!r}")
    st, j, _ = s.api("GET", f"/api/security/{ep}")
    expect(st == 200 and j["mode"] == "psk" and len(bytes.fromhex(j["psk_identity_hex"])) == 128,
           f"generated DM credentials: {j}")
    j = read(s, ep, "/3/0")
    expect(j["code"] == "2.05", f"read over DTLS-PSK: {j}")
    # The bootstrap server's Bootstrap-Delete "/" leaves the device's own sensor instance.
    j = read(s, ep, "/3303/0/5700", "senml-json")
    expect(j["code"] == "2.05", f"read of the sensor after the bootstrap: {j}")
    ev = sse.wait(lambda e: e["type"] == "bootstrap" and e["ep"] == ep
                  and e["data"]["state"] == "finished")
    expect(ev is not None, "no bootstrap event")
    stop_and_check_deregistered(s, cl, ep)
    # The bootstrapped accounts are in the state directory (0600): a restart without any key
    # option registers at once, without a new bootstrap.
    p = os.path.join(state, "accounts.bin")
    expect(stat.S_IMODE(os.stat(p).st_mode) == 0o600, "accounts.bin mode")
    cl2 = Daemon(a.client, ["-e", ep, "--bootstrap", f"coaps://127.0.0.1:{s.ports['bs_coaps']}",
                            "--psk-identity", "unused", "--psk-key-file", key_file, "-d", state,
                            "--log-level", "trace"], os.path.join(d, "client2.err"))
    expect(cl2.wait_for("registered", 25), f"no registration after restart: {cl2.seen}")
    expect(cl2.count("bootstrapped") == 0, f"bootstrapped again: {cl2.seen}")
    stop_and_check_deregistered(s, cl2, ep)
    sse.close()
    s.stop()
    # No key byte in any output of either program (trace level), in hex, base64 or raw.
    outputs = ""
    for f in ("client.err", "client2.err"):
        with open(os.path.join(d, f), "rb") as fh:
            outputs += fh.read().decode(errors="replace")
    outputs += "\n".join(cl.seen + cl2.seen) + s.stderr()
    for needle in (bs_key.hex(), bs_key.hex().upper(), base64.b64encode(bs_key).decode()):
        expect(needle not in outputs, "the bootstrap key appears in a log")


def case_bootstrap_purge(a, d):
    """Object 0 Resource 12 (TS 1.1 E.1): the Bootstrap-Server account is purged that many seconds
    after a successful bootstrap; afterwards a Bootstrap-Request Trigger (/1/0/9) starts nothing."""
    s = start_server(a, d, extra=())
    sse = Sse(s, "?type=bootstrap")
    ep = "cl-bs-purge"
    bs_id, bs_key = printable_id(32), secrets.token_bytes(32)
    st, j, _ = s.api("POST", "/api/bootstrap", bootstrap_body(ep, s, bs_id, bs_key))
    expect(st == 201, f"bootstrap config: {st} {j}")
    key_file = os.path.join(d, "bs.key")
    with open(key_file, "wb") as f:
        f.write(bs_key + b"\n")  # one trailing newline is removed (a random key may end in 0x0a)
    cl = Daemon(a.client, ["-e", ep, "--bootstrap", f"coaps://127.0.0.1:{s.ports['bs_coaps']}",
                           "--psk-identity", bs_id.decode(), "--psk-key-file", key_file,
                           "-d", os.path.join(d, "state"), "--bootstrap-jitter", "0.1",
                           "--bootstrap-account-timeout", "4", "--log-level", "debug"],
                os.path.join(d, "client.err"))
    expect(cl.wait_for("registered", 25), f"no registration: {cl.seen}\n{cl.stderr()}")

    def finished():
        with sse.lock:
            return sum(1 for e in sse.items if e["ep"] == ep and e["data"]["state"] == "finished")
    expect(sse.wait(lambda e: e["ep"] == ep and e["data"]["state"] == "finished") is not None,
           "no bootstrap event")
    # Before the timeout the trigger bootstraps again (and restarts the timer).
    st, j, _ = s.api("POST", f"/api/clients/{ep}/execute/1/0/9")
    expect(st == 200 and j["code"] == "2.04", f"execute /1/0/9: {j}")
    end = time.time() + 15
    while time.time() < end and finished() < 2:
        time.sleep(0.1)
    expect(finished() == 2, f"the trigger did not bootstrap again: {finished()} sessions")
    expect(cl.wait_for("registered", 15), f"no registration after the second bootstrap: {cl.seen}")
    end = time.time() + 15
    purged = False
    while time.time() < end and not purged:
        purged = "Bootstrap-Server account purged" in cl.stderr()
        time.sleep(0.1)
    expect(purged, f"no purge within 15 s\n{cl.stderr()}")
    # After the purge: the trigger is accepted (2.04) but no Bootstrap-Request reaches the server.
    st, j, _ = s.api("POST", f"/api/clients/{ep}/execute/1/0/9")
    expect(st == 200 and j["code"] == "2.04", f"execute /1/0/9 after the purge: {j}")
    time.sleep(3)
    expect(finished() == 2, f"a bootstrap after the purge: {finished()} sessions")
    expect(cl.count("bootstrapped") == 2, f"bootstrapped after the purge: {cl.seen}")
    j = read(s, ep, "/3/0/0", "text")
    expect(j["code"] == "2.05", f"the DM account still works: {j}")
    stop_and_check_deregistered(s, cl, ep)
    sse.close()
    s.stop()


def case_firmware(a, d):
    s = start_server(a, d)
    ep = "cl-fw"
    cl = Daemon(a.client, nosec_args(s, d, ep), os.path.join(d, "client.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}\n{cl.stderr()}")
    package = secrets.token_bytes(20000)  # block-wise (RFC 7959 Block1) push
    st, j, _ = s.api("PUT", f"/api/clients/{ep}/write/5/0/0",
                     {"id": 0, "type": "opaque", "value": base64.b64encode(package).decode()},
                     timeout=60)
    expect(st == 200 and j["code"] == "2.04", f"write package: {st} {j}")
    j = read(s, ep, "/5/0/3", "text")
    expect(j["content"]["value"] == 2, f"state after the push (2 = Downloaded): {j}")
    stored = os.path.join(d, "state-" + ep, "firmware.bin")
    with open(stored, "rb") as f:
        expect(f.read() == package, "firmware.bin is not the package")
    st, j, _ = s.api("POST", f"/api/clients/{ep}/execute/5/0/2")
    expect(st == 200 and j["code"] == "2.04", f"execute update: {j}")
    want = f"fw-{len(package)}-{zlib.crc32(package):08x}"
    version = read_until(s, ep, "/3/0/3", want, 10)
    expect(version == want, f"firmware version {version!r}, expected {want!r}")
    j = read(s, ep, "/5/0/5", "text")
    expect(j["content"]["value"] == 1, f"Update Result (1 = success): {j}")
    # The version survives a restart (firmware.json).
    stop_and_check_deregistered(s, cl, ep)
    cl = Daemon(a.client, nosec_args(s, d, ep), os.path.join(d, "client2.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}")
    j = read(s, ep, "/3/0/3", "text")
    expect(j["content"]["value"] == want, f"version after restart: {j}")
    stop_and_check_deregistered(s, cl, ep)
    # --firmware-fail update: the apply fails, the package is kept (Downloaded, Result 8).
    ep2 = "cl-fw-fail"
    cl = Daemon(a.client, nosec_args(s, d, ep2, "--firmware-fail", "update"),
                os.path.join(d, "client3.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}")
    st, j, _ = s.api("PUT", f"/api/clients/{ep2}/write/5/0/0",
                     {"id": 0, "type": "opaque", "value": base64.b64encode(b"tiny").decode()})
    expect(st == 200 and j["code"] == "2.04", f"write package: {j}")
    st, j, _ = s.api("POST", f"/api/clients/{ep2}/execute/5/0/2")
    expect(st == 200 and j["code"] == "2.04", f"execute update: {j}")
    j = read(s, ep2, "/5/0/5", "text")
    expect(j["content"]["value"] == 8, f"Update Result (8 = update failed): {j}")
    j = read(s, ep2, "/5/0/3", "text")
    expect(j["content"]["value"] == 2, f"state (2 = Downloaded, package kept): {j}")
    j = read(s, ep2, "/3/0/3", "text")
    expect(j["content"]["value"] == "1.0.0", f"version unchanged: {j}")
    stop_and_check_deregistered(s, cl, ep2)
    s.stop()


def case_firmware_pull(a, d):
    """Firmware pull (TS 1.1 E.6, Delivery Method pull): a Package URI the client fetches with
    Block2 from an independent CoAP server process (`lwm2m coap serve`'s /large, 4,096 bytes)."""
    expect(a.lwm2m, "--lwm2m is required for firmware_pull")
    port = procs.free_udp_port()
    procs.spawn([a.lwm2m, "coap", "serve", "--listen", f"127.0.0.1:{port}", "--duration", "60"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.coap_ping("127.0.0.1", port)  # raises when it does not answer
    s = start_server(a, d)
    ep = "cl-fw-pull"
    cl = Daemon(a.client, nosec_args(s, d, ep), os.path.join(d, "client.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}\n{cl.stderr()}")
    st, j, _ = s.api("PUT", f"/api/clients/{ep}/write/5/0/1",
                     {"id": 1, "type": "string", "value": f"coap://127.0.0.1:{port}/large"})
    expect(st == 200 and j["code"] == "2.04", f"write Package URI: {j}")
    state = read_until(s, ep, "/5/0/3", 2, 15)
    expect(state == 2, f"state {state} (2 = Downloaded)\n{cl.stderr()}")
    package = procs.large_reference()
    with open(os.path.join(d, "state-" + ep, "firmware.bin"), "rb") as f:
        expect(f.read() == package, "firmware.bin is not the served /large body")
    st, j, _ = s.api("POST", f"/api/clients/{ep}/execute/5/0/2")
    expect(st == 200 and j["code"] == "2.04", f"execute update: {j}")
    want = f"fw-{len(package)}-{zlib.crc32(package):08x}"
    version = read_until(s, ep, "/3/0/3", want, 10)
    expect(version == want, f"firmware version {version!r}, expected {want!r}")
    # A URI with a scheme the client cannot fetch: 2.04, then Update Result 9 (TS 1.1 E.6).
    st, j, _ = s.api("PUT", f"/api/clients/{ep}/write/5/0/1",
                     {"id": 1, "type": "string", "value": "http://127.0.0.1/fw.bin"})
    expect(st == 200 and j["code"] == "2.04", f"write http URI: {j}")
    j = read(s, ep, "/5/0/5", "text")
    expect(j["content"]["value"] == 9, f"Update Result (9 = unsupported protocol): {j}")
    stop_and_check_deregistered(s, cl, ep)
    s.stop()


def case_factory_reset(a, d):
    s = start_server(a, d)
    ep = "cl-reset"
    cl = Daemon(a.client, nosec_args(s, d, ep), os.path.join(d, "client.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}\n{cl.stderr()}")
    first = cl.line("registered")
    st, j, _ = s.api("PUT", f"/api/clients/{ep}/write/3303/0/5750",
                     {"id": 5750, "type": "string", "value": "changed"})
    expect(st == 200 and j["code"] == "2.04", f"write: {j}")
    st, j, _ = s.api("POST", f"/api/clients/{ep}/execute/3/0/5")
    expect(st == 200 and j["code"] == "2.04", f"execute factory reset: {j}")
    # De-register first (TS 1.1 E.4 allows it), then a fresh Register from the factory state.
    expect(cl.wait_for("deregistered", 15), f"no De-register: {cl.seen}\n{cl.stderr()}")
    end = time.time() + 15
    while time.time() < end and cl.count("registered") < 2:
        time.sleep(0.1)
    regs = [x for x in cl.seen if x.startswith("registered ")]
    expect(len(regs) == 2 and regs[1] != first, f"no new registration after the reset: {cl.seen}")
    stop_and_check_deregistered(s, cl, ep)
    s.stop()


def case_admin_cli(a, d):
    """The `lwm2m` admin commands against the real lwm2m-server with a real lwm2m-client (#11):
    --json parsed and checked, human output sampled, bad input with the documented exit codes."""
    expect(a.lwm2m, "--lwm2m is required for admin_cli")
    s = start_server(a, d, extra=("--nosec", "any"))
    ep = "cl-admin"
    cl = Daemon(a.client, nosec_args(s, d, ep), os.path.join(d, "client.err"))
    expect(cl.wait_for("registered", 15), f"no registration: {cl.seen}\n{cl.stderr()}")
    base = [a.lwm2m, "--server", f"http://127.0.0.1:{s.http_port}", "--token-file",
            os.path.join(s.data_dir, "api-token")]

    def cli(*args, rc=0, timeout=20):
        r = subprocess.run(base + list(args), capture_output=True, text=True, timeout=timeout)
        expect(r.returncode == rc, f"lwm2m {' '.join(args)}: exit {r.returncode} (wanted {rc})"
                                   f"\n{r.stdout}\n{r.stderr}")
        return r.stdout, r.stderr

    def cli_json(*args, rc=0):
        out, _ = cli("--json", *args, rc=rc)
        return json.loads(out)

    j = cli_json("clients")
    expect(j["total"] == 1 and j["items"][0]["endpoint"] == ep, f"clients: {j}")
    out, _ = cli("clients")
    expect(ep in out and "1 of 1 client" in out, f"clients table: {out}")
    j = cli_json("client", ep)
    expect(any(o["path"] == "/3303/0" for o in j["objects"]), f"client: {j}")
    out, _ = cli("client", ep)
    # Names come from the server's models (3303 has none without --objects-dir: listed unnamed).
    expect("Device" in out and "Firmware Update" in out and "/3303/0" in out,
           f"objects in the table: {out}")
    # read: human output with names from the model; --json in several formats.
    out, _ = cli("read", ep, "/3/0")
    expect(out.startswith("2.05 Content") and "Manufacturer" in out and "lwm2m-cpp" in out,
           f"read /3/0: {out}")
    for fmt in ("tlv", "senml-cbor", "lwm2m-cbor"):
        j = cli_json("read", ep, "/3/0/2", "--format", fmt)
        expect(j["code"] == "2.05" and j["content"]["value"] == ep, f"read {fmt}: {j}")
    j = cli_json("read", ep, "/3303/0/5700", "--format", "senml-json")
    expect(isinstance(j["content"]["value"], float), f"sensor: {j}")
    # write typed by the model, read back; exec; discover; attrs; composite read.
    cli("write", ep, "/3303/0/5750", "attic", "--type", "string")  # no model on the server
    j = cli_json("read", ep, "/3303/0/5750", "--format", "text")
    expect(j["content"]["value"] == "attic", f"read back: {j}")
    out, _ = cli("write", ep, "/3/0/0", "evil", rc=1)
    expect("4.05" in out, f"write of a read-only resource: {out}")
    j = cli_json("discover", ep, "/3303/0")
    expect(j["code"] == "2.05" and "5700" in json.dumps(j), f"discover: {j}")
    cli("attrs", ep, "/3303/0/5700", "--pmin", "0", "--pmax", "5")
    j = cli_json("composite", "read", ep, "/3/0/0", "/3303/0/5701", "--format", "senml-cbor")
    vals = {r["path"]: r.get("value") for r in j.get("records", [])}
    expect(vals.get("/3/0/0") == "lwm2m-cpp" and vals.get("/3303/0/5701") == "Cel",
           f"composite read: {j}")
    # observe streams notifications: three lines with --count 3 (the sensor changes every 0.3 s).
    out, _ = cli("--json", "observe", ep, "/3303/0/5700", "--count", "3", timeout=30)
    lines = [json.loads(x) for x in out.splitlines() if x.strip()]
    expect(len(lines) >= 3, f"observe --count 3: {out}")
    # Object 0: refused by the device, exit 1 with the code.
    out, _ = cli("read", ep, "/0/0", rc=1)
    expect(out.startswith("4.01"), f"read /0/0: {out}")
    # security: add a PSK for another endpoint from stdin, list (key never shown), delete.
    key = secrets.token_bytes(64)
    key_file = os.path.join(d, "other.key")
    with open(key_file, "wb") as f:
        f.write(key + b"\n")  # one trailing newline is removed (a random key may end in 0x0a)
    cli("security", "add-psk", "other-dev", "--identity", "x" * 128, "--psk-key-file", key_file)
    j = cli_json("security", "list")
    items = j["items"] if isinstance(j, dict) else j
    entry = [e for e in items if e["endpoint"] == "other-dev"]
    expect(entry and entry[0]["psk_key"] == "<set>", f"security list: {j}")
    expect(key.hex() not in json.dumps(j), "the key in the listing")
    cli("security", "delete", "other-dev")
    # exec: Reboot; the daemon comes back with an Update.
    cli("exec", ep, "/3/0/4")
    expect(cl.wait_for("updated", 15), f"no Update after the reboot: {cl.seen}")
    # Bad input: unknown endpoint (HTTP 404: exit 5), bad path (2), bad value for the type (2),
    # no token (5).
    cli("read", "no-such-device", "/3/0", rc=5)
    cli("read", ep, "/3/x", rc=2)
    cli("write", ep, "/3/0/9", "not-a-number", rc=2)
    r = subprocess.run([a.lwm2m, "--server", f"http://127.0.0.1:{s.http_port}", "--token-file",
                        "/nonexistent", "clients"], capture_output=True, text=True, timeout=20)
    expect(r.returncode in (2, 5), f"missing token: exit {r.returncode} {r.stderr}")
    stop_and_check_deregistered(s, cl, ep)
    s.stop()


CASES = {f.__name__[5:]: f for f in (case_usage, case_dm_nosec, case_kill9_restart,
                                     case_bootstrap_psk, case_bootstrap_purge, case_firmware,
                                     case_firmware_pull, case_factory_reset, case_admin_cli)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--client", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--lwm2m", default="", help="the lwm2m admin CLI (admin_cli, firmware_pull)")
    return procs.run_case_main(p, CASES, "lwm2m-client-test-")

if __name__ == "__main__":
    sys.exit(main())
