#!/usr/bin/env python3
"""Fleet scale benchmark (issue #11): lwm2m-server (SQLite store) under K lwm2m-fleet processes.

  bench/fleet/scale.py --build build/release --devices 10000 --security nosec,psk \\
      --node-lib --out bench/fleet/results/scale-10k.json
  bench/fleet/scale.py --build build/release --devices 50000 --kill-at 0.5 --out kill.json
  bench/fleet/plot.py bench/fleet/results/scale-10k.json   # PNG next to the JSON

For each scenario (`--security` nosec and/or psk, then `--node-lib` for the npm lwm2m-node-lib
server, NoSec) it starts the server in a fresh temporary data directory, provisions one PSK
credential per device through the REST API for psk (concurrent keep-alive connections; the time
is reported), starts K fleet processes (`--processes`, default: devices / 18,000 rounded up, as
one process holds fewer than 20,000 sockets) that ramp the fleet at `--rate` devices/s, and samples
every `--sample` seconds: the server's registration count (REST `GET /api/clients?limit=1`, or the
node server's REGISTERED lines), the server's CPU (utime+stime from /proc) and RSS, the fleets'
CPU, the load average. Once every device is registered it keeps the fleet running `--steady`
seconds (devices send Updates every lifetime/2: choose `--lifetime` for the update rate wanted),
then stops the fleets (SIGINT: they de-register) and takes their --json summaries (registration
and update latency percentiles, failures).

`--kill-at F`: when the server counts F x devices, kill -9 it, read the fleets' --log-acks files
(every Register the server acknowledged with 2.01), restart it on the same ports and data
directory, list its registrations through the REST API and report every acknowledged endpoint
that is missing (must be none), then wait for the fleet to finish its ramp (the fleet carries
on). Exit code 1 when an acknowledged registration is missing or the fleet never completes.

Writes one JSON document (`--out`): the machine, the arguments, and per scenario the samples and
the derived figures. Needs python3 only (plot.py needs python3-matplotlib).
"""
import argparse
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "server"))
import procs  # noqa: E402
from server_test import Server  # noqa: E402

NODE_SERVER = os.path.join(ROOT, "tests", "interop", "lwm2m_node_server", "node_server.js")
PREFIX = "fleet-"
PER_PROCESS = 18000  # sockets per fleet process, under the 20,000 open-files limit


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def proc_cpu_rss(pid):
    """(CPU seconds, RSS MiB) of a process, or (None, None) once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(x.split()[1]) for x in f if x.startswith("VmRSS:")) / 1024.0
        return cpu, rss
    except (OSError, StopIteration, IndexError, ValueError):
        return None, None


class Api:
    """A keep-alive REST connection to lwm2m-server (one per thread)."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.c = None

    def call(self, method, path, body=None, timeout=30):
        for attempt in range(3):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                headers = {"Authorization": "Bearer " + self.token}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = "application/json"
                self.c.request(method, path, body=data, headers=headers)
                r = self.c.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
            except (OSError, http.client.HTTPException):
                self.c = None
                if attempt == 2:
                    raise
                time.sleep(0.2)
        return None, None


def provision_psk(server, n, key, batch=1000):
    """One PSK credential per device (identity = endpoint name), through the bulk route
    (POST /api/security/batch, 1,000 records per request). Returns seconds taken."""
    t0 = time.time()
    api = Api(server.http_port, server.token)
    for lo in range(0, n, batch):
        items = [{"endpoint": f"{PREFIX}{i}", "mode": "psk", "psk_identity": f"{PREFIX}{i}",
                  "psk_key_hex": key.hex()} for i in range(lo, min(n, lo + batch))]
        st, j = api.call("POST", "/api/security/batch", {"items": items}, timeout=120)
        if st != 200 or j.get("stored") != len(items):
            raise RuntimeError(f"provisioning {lo}..: {st} {j}")
    return time.time() - t0


def list_registered(api, n):
    """Endpoint names the server lists (REST, pages of 1,000)."""
    names = set()
    offset = 0
    while True:
        st, j = api.call("GET", f"/api/clients?ep_prefix={PREFIX}&offset={offset}&limit=1000")
        if st != 200:
            raise RuntimeError(f"GET /api/clients: {st} {j}")
        items = j.get("clients", j.get("items", []))
        names.update(c["endpoint"] for c in items)
        offset += len(items)
        if not items or offset >= j.get("total", 0):
            return names


class Fleets:
    """K lwm2m-fleet processes splitting devices 0..n-1."""

    def __init__(self, a, uri, n, k, workdir, extra, rate):
        self.procs, self.outs, self.errs, self.acks = [], [], [], []
        per = (n + k - 1) // k
        first = 0
        for i in range(k):
            cnt = min(per, n - first)
            acks = os.path.join(workdir, f"acks-{i}.log")
            out = open(os.path.join(workdir, f"fleet-{i}.out"), "w+")
            err = open(os.path.join(workdir, f"fleet-{i}.err"), "w+")
            args = [a.fleet, "--server", uri, "-n", str(cnt), "--first-index", str(first),
                    "--endpoint-prefix", PREFIX, "--rate", f"{rate * cnt / n:.3f}",
                    "--duration", "100000", "--lifetime", str(a.lifetime), "--json",
                    "--log-acks", acks, "--shutdown-grace", "20",
                    "--source-addresses", str(a.source_addresses)] + extra
            self.procs.append(procs.spawn(args, stdout=out, stderr=err))
            self.outs.append(out)
            self.errs.append(err)
            self.acks.append(acks)
            first += cnt

    def cpu(self):
        total = 0.0
        for p in self.procs:
            c, _ = proc_cpu_rss(p.pid)
            total += c or 0.0
        return total

    def ack_lines(self):
        """(unix ms, endpoint) of every acknowledged Register, from the fleets' --log-acks."""
        out = []
        for path in self.acks:
            if os.path.exists(path):
                with open(path) as f:
                    for line in f:
                        parts = line.split()
                        if len(parts) == 3 and parts[1] == "registered":
                            out.append((int(parts[0]), parts[2]))
        return out

    def acked(self):
        return {ep for _, ep in self.ack_lines()}

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def stop(self, timeout=120):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        summaries = []
        for p, out in zip(self.procs, self.outs):
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            out.seek(0)
            text = "".join(x for x in out.read().splitlines(True) if not x.startswith("all "))
            try:
                summaries.append(json.loads(text))
            except ValueError:
                summaries.append({"error": text[-500:]})
        return summaries

    def stderr_tail(self):
        tails = []
        for e in self.errs:
            e.seek(0)
            tails.append(e.read()[-400:])
        return tails


def merge_summaries(summaries):
    keys = ("registrations", "never_registered", "updates", "deregistrations")
    m = {k: sum(s.get(k, 0) for s in summaries) for k in keys}
    for lat in ("register_latency_ms", "update_latency_ms"):
        # Percentiles of the parts: the worst part's (a conservative merge).
        m[lat] = {p: max(s.get(lat, {}).get(p, 0) for s in summaries)
                  for p in ("p50", "p90", "p99", "max")}
    failures = {}
    for s in summaries:
        for k, v in s.get("failures", {}).items():
            failures[k] = failures.get(k, 0) + v
    m["failures"] = failures
    return m


class NodeServer:
    """lwm2m-node-lib's server (tests/interop/lwm2m_node_server/node_server.js), NoSec."""

    def __init__(self, a, workdir):
        modules = procs.npm_install(a.npm_dir, "lwm2m-node-lib@1")
        self.port = procs.free_udp_port()
        env = dict(os.environ, NODE_PATH=modules, NODE_NO_WARNINGS="1")
        self.proc = procs.spawn(["node", NODE_SERVER, str(self.port)], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=open(os.path.join(workdir, "node.err"), "w"))
        self.registered = set()
        self.ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()
        if not self.ready.wait(30):
            raise RuntimeError("the lwm2m-node-lib server did not start")

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            if line.startswith("READY "):
                self.ready.set()
            elif line.startswith("REGISTERED "):
                self.registered.add(line.split(" ", 2)[1])
            elif line.startswith(("UNREGISTERED ", "EXPIRED ")):
                self.registered.discard(line.split()[1])

    def count(self):
        return len(self.registered)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def start_our_server(a, workdir, security):
    extra = ["--log-level", "warn"]
    if security == "nosec":
        extra += ["--nosec", "any"]
    s = Server(a.server, os.path.join(workdir, "server"), a.store, extra)
    os.makedirs(s.data_dir, exist_ok=True)
    s.start()
    return s


def run_scenario(a, name, workdir):
    n = a.devices
    k = a.processes or max(1, -(-n // PER_PROCESS))
    rate = a.psk_rate if name == "psk" and a.psk_rate else a.rate
    res = {"scenario": name, "devices": n, "processes": k, "rate_offered": rate,
           "lifetime_s": a.lifetime, "loadavg_start": loadavg()}
    server = node = None
    extra = []
    if name == "node-lib":
        node = NodeServer(a, workdir)
        uri = f"coap://127.0.0.1:{node.port}"
        extra = ["--lwm2m-version", "1.0"]
        pid = node.proc.pid

        def count():
            return node.count()
    else:
        server = start_our_server(a, workdir, name)
        api = Api(server.http_port, server.token)
        if name == "psk":
            key = secrets.token_bytes(16)
            key_file = os.path.join(workdir, "fleet.key")
            with open(key_file, "wb") as f:
                f.write(key)
            res["provision_s"] = provision_psk(server, n, key)
            res["provision_per_s"] = n / res["provision_s"]
            log(f"{name}: provisioned {n} PSK credentials in {res['provision_s']:.1f} s")
            uri = f"coaps://127.0.0.1:{server.ports['coaps']}"
            extra = ["--psk-key-file", key_file]
        else:
            uri = f"coap://127.0.0.1:{server.ports['coap']}"

        def count():
            st, j = api.call("GET", f"/api/clients?ep_prefix={PREFIX}&limit=1")
            return j["total"] if st == 200 else None
        pid = server.proc.pid
    fleets = Fleets(a, uri, n, k, workdir, extra, rate)
    samples = []
    t0 = time.time()
    cpu0, _ = proc_cpu_rss(pid)
    fcpu0 = 0.0
    all_at = None
    steady_end = None
    killed = None
    deadline = t0 + a.timeout
    prev = (t0, cpu0 or 0.0, 0.0)
    while time.time() < deadline:
        time.sleep(a.sample)
        now = time.time()
        try:
            c = count()
        except (OSError, RuntimeError, http.client.HTTPException, ValueError, KeyError):
            c = None
        cpu, rss = proc_cpu_rss(pid)
        fcpu = fleets.cpu()
        dt = now - prev[0]
        samples.append({"t": round(now - t0, 3), "registered": c,
                        "server_cpu_pct": None if cpu is None else
                        round(100 * (cpu - prev[1]) / dt, 1),
                        "server_rss_mib": None if rss is None else round(rss, 1),
                        "fleet_cpu_pct": round(100 * (fcpu - prev[2]) / dt, 1),
                        "loadavg1": loadavg()[0]})
        prev = (now, cpu if cpu is not None else prev[1], fcpu)
        if c is not None and int(now - t0) % 5 == 0:
            log(f"{name}: {now - t0:6.1f} s registered {c}/{n} server cpu "
                f"{samples[-1]['server_cpu_pct']}% rss {samples[-1]['server_rss_mib']} MiB "
                f"load {samples[-1]['loadavg1']}")
        if a.kill_at and killed is None and c is not None and c >= a.kill_at * n and server:
            killed = kill_and_restart(a, server, fleets, n, now - t0)
            api = Api(server.http_port, server.token)
            res["kill"] = killed
            pid = server.proc.pid
            prev = (time.time(), proc_cpu_rss(pid)[0] or 0.0, fleets.cpu())
            continue
        if c == n and all_at is None:
            all_at = now - t0
            steady_end = now + a.steady
            if server:
                res["stats_at_all_registered"] = server_stats(api)
            log(f"{name}: all {n} registered at {all_at:.1f} s")
        if steady_end is not None and now >= steady_end:
            break
        if not fleets.alive():
            log(f"{name}: a fleet process ended early: {fleets.stderr_tail()}")
            break
    res["all_registered_s"] = all_at
    res["samples"] = samples
    if server:
        res["stats_at_end"] = server_stats(api)
    res["fleet"] = merge_summaries(fleets.stop())
    res["curve"] = ack_curve(fleets.ack_lines(), n, t0)
    res["loadavg_end"] = loadavg()
    if server:
        res["server_stderr_tail"] = server.stderr()[-1500:]
        try:
            server.stop()
        except AssertionError as e:
            res["server_stop_error"] = str(e)[:500]
    if node:
        node.stop()
    derive(res)
    return res


def kill_and_restart(a, server, fleets, n, at):
    log(f"kill -9 of the server at {at:.1f} s")
    server.kill9()
    time.sleep(1.0)  # answers in flight reach the fleets (or are lost with the server)
    acked = fleets.acked()
    t = time.time()
    server.start()
    restart_s = time.time() - t
    listed = list_registered(Api(server.http_port, server.token), n)
    missing = sorted(acked - listed)
    log(f"restarted in {restart_s:.2f} s: {len(acked)} acknowledged before the kill, "
        f"{len(listed)} listed after the restart, {len(missing)} missing")
    return {"at_s": round(at, 2), "acknowledged": len(acked), "listed_after_restart": len(listed),
            "missing": len(missing), "missing_sample": missing[:20],
            "restart_s": round(restart_s, 3)}


def ack_curve(lines, n, t0):
    """Registrations per second against the number registered, from the fleets' own log of
    acknowledged Registers (millisecond stamps): the first registration of each endpoint, in
    time order, every n/500 registrations (at least 20)."""
    first = {}
    for ms, ep in sorted(lines):
        first.setdefault(ep, ms)
    stamps = sorted(first.values())
    w = max(20, n // 500)
    pts = []
    for k in range(w, len(stamps) + 1, w):
        span = (stamps[k - 1] - stamps[k - w]) / 1000.0
        pts.append({"registered": k, "t": round(stamps[k - 1] / 1000.0 - t0, 3),
                    "rate": round(w / span, 1) if span > 0 else None})
    return pts


def binned(curve, min_dt=None):
    """Registrations per second between successive curve points at least min_dt seconds apart
    (default: 1/20 of the ramp, at least 0.25 s; the fleets log acknowledgements in bursts, one
    stamp per loop iteration)."""
    if min_dt is None:
        min_dt = max(0.25, (curve[-1]["t"] - curve[0]["t"]) / 20) if curve else 0.5
    out = []
    prev = None
    for c in curve:
        if prev is None:
            prev = c
            continue
        dt = c["t"] - prev["t"]
        if dt >= min_dt:
            out.append({"registered": c["registered"], "t": c["t"],
                        "rate": round((c["registered"] - prev["registered"]) / dt, 1)})
            prev = c
    return out


def rate_between(curve, lo, hi):
    """Mean registrations per second while the fleet went from lo to hi registered."""
    a = next((c for c in curve if c["registered"] >= lo), None)
    b = next((c for c in curve if c["registered"] >= hi), None)
    if a is None or b is None or b["t"] <= a["t"]:
        return None
    return round((b["registered"] - a["registered"]) / (b["t"] - a["t"]), 1)


def server_stats(api):
    """GET /api/stats, or None (a stopped or older server)."""
    try:
        st, j = api.call("GET", "/api/stats")
    except (OSError, http.client.HTTPException, ValueError):
        return None
    return j if st == 200 else None


def window_latency(before, after, kind):
    """Percentiles of `kind` ("update", "register") between two /api/stats snapshots: the
    difference of the cumulative histograms (bucket upper bounds, within 12.5%)."""
    if not after or kind not in after.get("latency", {}):
        return None
    b0 = dict(map(tuple, before["latency"][kind]["buckets_us"])) if before else {}
    diff = sorted((ub, n - b0.get(ub, 0)) for ub, n in after["latency"][kind]["buckets_us"])
    diff = [(ub, n) for ub, n in diff if n > 0]
    total = sum(n for _, n in diff)
    if total == 0:
        return {"count": 0}
    out = {"count": total}
    for q in (0.5, 0.9, 0.99):
        rank, seen = max(1, math.ceil(q * total)), 0
        for ub, n in diff:
            seen += n
            if seen >= rank:
                out[f"p{round(q * 100)}_ms"] = ub / 1000
                break
    out["max_bucket_ms"] = diff[-1][0] / 1000
    return out


def derive(res):
    """Registration rate at 1k/10k/100k registered and the steady-state figures."""
    n = res["devices"]
    marks = [m for m in (1000, 10000, 100000) if m <= n]
    # The rate while the fleet grows from mark/2 to mark (first 1,000: from 100).
    res["rate_at"] = {str(m): rate_between(res["curve"], max(100, m // 2), m) for m in marks}
    res["curve_binned"] = binned(res["curve"])
    if res.get("all_registered_s"):
        steady = [s for s in res["samples"] if s["t"] > res["all_registered_s"] + 2]
        if steady:
            cpu = [s["server_cpu_pct"] for s in steady if s["server_cpu_pct"] is not None]
            rss = [s["server_rss_mib"] for s in steady if s["server_rss_mib"] is not None]
            res["steady"] = {"seconds": round(steady[-1]["t"] - steady[0]["t"], 1),
                             "server_cpu_pct_mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
                             "server_rss_mib_max": max(rss) if rss else None,
                             "loadavg1_mean": round(sum(s["loadavg1"] for s in steady) /
                                                    len(steady), 2),
                             "update_rate_per_s": round(2 * n / res["lifetime_s"], 1),
                             # In the server: from the Update's arrival to its 2.04 (the wait
                             # for the store's commit), GET /api/stats over the steady window.
                             "server_update_latency": window_latency(
                                 res.get("stats_at_all_registered"), res.get("stats_at_end"),
                                 "update")}
    if res.get("stats_at_end"):
        res["server_register_latency"] = window_latency(None, res["stats_at_end"], "register")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build", "release"),
                   help="build tree holding apps/lwm2m-server and apps/lwm2m-fleet")
    p.add_argument("--devices", type=int, default=10000)
    p.add_argument("--processes", type=int, default=0, help="fleet processes (0: automatic)")
    p.add_argument("--rate", type=float, default=2000, help="devices started per second, total")
    p.add_argument("--psk-rate", type=float, default=0,
                   help="devices started per second in the psk scenario (0: --rate)")
    p.add_argument("--lifetime", type=int, default=300,
                   help="registration lifetime, s (an Update every lifetime/2)")
    p.add_argument("--steady", type=float, default=30, help="seconds after all registered")
    p.add_argument("--security", default="nosec", help="comma list of nosec, psk ('' for none)")
    p.add_argument("--node-lib", action="store_true",
                   help="also run the fleet (NoSec) against the npm lwm2m-node-lib server")
    p.add_argument("--npm-dir", default=None, help="where npm installs lwm2m-node-lib")
    p.add_argument("--kill-at", type=float, default=0,
                   help="kill -9 the server when this fraction of the fleet is registered")
    p.add_argument("--source-addresses", type=int, default=4096,
                   help="loopback addresses the devices are spread over (lwm2m-fleet "
                        "--source-addresses): the server's DTLS caps handshakes per address")
    p.add_argument("--store", default="sqlite", choices=("sqlite", "memory"),
                   help="the server's store (memory: a kill -9 loses every registration, "
                        "which --kill-at must report)")
    p.add_argument("--sample", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=900, help="seconds per scenario")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    a.server = os.path.join(a.build, "apps", "lwm2m-server", "lwm2m-server")
    a.fleet = os.path.join(a.build, "apps", "lwm2m-fleet", "lwm2m-fleet")
    a.npm_dir = a.npm_dir or os.path.join(a.build, "npm-server")
    scenarios = [s for s in a.security.split(",") if s]
    if a.node_lib:
        scenarios.append("node-lib")
    doc = {"machine": {"cpus": os.cpu_count(), "uname": os.uname().release,
                       "open_files_hard": __import__("resource").getrlimit(
                           __import__("resource").RLIMIT_NOFILE)[1]},
           "args": {k: v for k, v in vars(a).items() if k not in ("server", "fleet")},
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": []}
    ok = True
    for name in scenarios:
        workdir = tempfile.mkdtemp(prefix=f"lwm2m-scale-{name}-")
        log(f"{name}: {a.devices} devices, workdir {workdir}")
        try:
            res = run_scenario(a, name, workdir)
        finally:
            procs.kill_children()
        doc["runs"].append(res)
        fl = res["fleet"]
        log(f"{name}: all registered at {res.get('all_registered_s')} s; rate at "
            f"{res['rate_at']}; never registered {fl['never_registered']}; "
            f"update p99 {fl['update_latency_ms']['p99']} ms at the fleet, "
            f"{(res.get('steady') or {}).get('server_update_latency')} in the server; "
            f"failures {fl['failures']}")
        if a.kill_at and name != "node-lib":
            k = res.get("kill")
            if not k or k["missing"] or not k["acknowledged"]:
                log(f"{name}: FAIL kill -9: {k}")
                ok = False
        if fl["never_registered"] or res.get("all_registered_s") is None:
            ok = False
        shutil.rmtree(workdir, ignore_errors=True)
        with open(a.out, "w") as f:
            json.dump(doc, f, indent=1)
    log(f"wrote {a.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
