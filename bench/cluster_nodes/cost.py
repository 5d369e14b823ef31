#!/usr/bin/env python3
"""What one device costs a node and the Redis Cluster: the per-node CPU of the Redis store
against SQLite, Redis memory and Redis traffic per device (issue #13; figures and the 10^6
extrapolation in docs/performance.md "Cost per device" and docs/deployment.md).

  bench/cluster_nodes/cost.py --build build/dev [--devices 10000] [--lifetime 20] [--steady 30]

For each store (sqlite: the embedded default; redis: a local 3+3 cluster started here), one
lwm2m-server node and one lwm2m-fleet of N NoSec (or, with --security psk, DTLS-PSK) devices
(offered at --rate from 256 source addresses, lifetime L: an Update every ~L/2 s per device):
  - CPU seconds of the server process (utime + stime, /proc) from its start until the N-th
    registration, per Register, and over a steady window of Updates, per Update (the count
    from GET /api/stats);
  - redis only: used_memory of the primaries (INFO memory) per registered device (and per
    provisioned credential with --security psk, before the fleet starts), the bytes
    every Redis node received and sent (INFO stats, replication included) and the CPU of all
    six redis-server processes, per Register and per Update.
Prints one JSON object (and writes it with --out). CPU time, not wall time, is measured, so a
busy machine inflates the figures less than it does rates; nothing fails on time.
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "server"))
sys.path.insert(0, os.path.join(HERE, "..", "fleet"))
import procs  # noqa: E402
from redis_cluster import RedisCluster  # noqa: E402
from scale import Api, proc_cpu_rss, server_stats  # noqa: E402
from server_test import Server  # noqa: E402


def redis_info(c, section, field):
    """The sum of an INFO field over the cluster's live nodes (and per role)."""
    total, primaries = 0, 0
    prim = set(c.primaries())
    for p in c.live_ports():
        for line in c.cli_run(p, "INFO", section).splitlines():
            if line.startswith(field + ":"):
                v = int(line.split(":", 1)[1])
                total += v
                if p in prim:
                    primaries += v
    return total, primaries


def redis_traffic(c):
    i, _ = redis_info(c, "stats", "total_net_input_bytes")
    o, _ = redis_info(c, "stats", "total_net_output_bytes")
    return i + o


def redis_cpu(c):
    """CPU seconds of every redis-server process of the cluster (primaries and replicas)."""
    return sum(proc_cpu_rss(pr.pid)[0] or 0 for pr in c.procs.values())


def dm_counter(api, name):
    st = server_stats(api)
    return (st or {}).get("dm", {}).get(name, 0)


def provision_psk(api, prefix, n, key):
    for lo in range(0, n, 1000):
        items = [{"endpoint": f"{prefix}{i}", "mode": "psk", "psk_identity": f"{prefix}{i}",
                  "psk_key_hex": key.hex()} for i in range(lo, min(n, lo + 1000))]
        st, j = api.call("POST", "/api/security/batch", {"items": items}, timeout=120)
        if st != 200 or j.get("stored") != len(items):
            raise RuntimeError(f"provisioning {lo}..: {st} {j}")


def run_store(a, d, store, cluster):
    dd = os.path.join(d, "node-" + store)
    os.makedirs(dd)
    s = Server(a.server, dd, cluster.url() if cluster else "sqlite",
               ["--bootstrap", "false", "--nosec", "any", "--log-level", "warn"])
    s.start()
    api = Api(s.http_port, s.token)
    prefix = f"{store}-"
    mem_cred = redis_info(cluster, "memory", "used_memory")[1] if cluster else 0
    if a.security == "psk":
        key = secrets.token_bytes(16)
        key_file = os.path.join(dd, "fleet.key")
        with open(key_file, "wb") as f:
            f.write(key)
        provision_psk(api, prefix, a.devices, key)
        target = ["--server", f"coaps://127.0.0.1:{s.ports['coaps']}", "--psk-key-file", key_file]
    else:
        target = ["--server", f"coap://127.0.0.1:{s.ports['coap']}"]
    cpu0, _ = proc_cpu_rss(s.proc.pid)
    mem0 = redis_info(cluster, "memory", "used_memory")[1] if cluster else 0
    net0 = redis_traffic(cluster) if cluster else 0
    rcpu0 = redis_cpu(cluster) if cluster else 0
    fleet = procs.spawn([a.fleet] + target + ["-n", str(a.devices), "--rate", str(a.rate),
                         "--duration", str(int(a.steady + 120)), "--lifetime", str(a.lifetime),
                         "--endpoint-prefix", prefix, "--source-addresses", "256",
                         "--json", "--shutdown-grace", "5"],
                        stdout=subprocess.DEVNULL, stderr=open(os.path.join(dd, "fleet.err"), "w"))
    t0 = time.time()
    while dm_counter(api, "registrations") < a.devices:
        if time.time() - t0 > 120 or fleet.poll() is not None:
            with open(os.path.join(dd, "fleet.err")) as f:
                why = f.read()[-500:]
            raise RuntimeError(f"{store}: {dm_counter(api, 'registrations')} of {a.devices} "
                               f"registered; the fleet said: {why}")
        time.sleep(0.05)
    ramp_s = time.time() - t0
    cpu1, _ = proc_cpu_rss(s.proc.pid)
    registers = dm_counter(api, "registers")
    mem1 = redis_info(cluster, "memory", "used_memory")[1] if cluster else 0
    net1 = redis_traffic(cluster) if cluster else 0
    rcpu1 = redis_cpu(cluster) if cluster else 0
    # Steady state: the first Updates come at ~lifetime/2 after each Register.
    time.sleep(a.lifetime / 2 + 2)
    cpu2, rss2 = proc_cpu_rss(s.proc.pid)
    upd2 = dm_counter(api, "updates")
    net2 = redis_traffic(cluster) if cluster else 0
    rcpu2 = redis_cpu(cluster) if cluster else 0
    time.sleep(a.steady)
    cpu3, rss3 = proc_cpu_rss(s.proc.pid)
    upd3 = dm_counter(api, "updates")
    net3 = redis_traffic(cluster) if cluster else 0
    rcpu3 = redis_cpu(cluster) if cluster else 0
    fleet.send_signal(signal.SIGINT)
    try:
        fleet.wait(timeout=60)
    except subprocess.TimeoutExpired:
        fleet.kill()
    s.stop()
    updates = max(upd3 - upd2, 1)
    out = {
        "ramp_s": round(ramp_s, 2),
        "registers": registers,
        "cpu_us_per_register": round((cpu1 - cpu0) * 1e6 / max(registers, 1), 1),
        "updates_in_window": upd3 - upd2,
        "updates_per_s": round((upd3 - upd2) / a.steady, 1),
        "cpu_us_per_update": round((cpu3 - cpu2) * 1e6 / updates, 1),
        "server_cpu_percent_steady": round(100 * (cpu3 - cpu2) / a.steady, 1),
        "server_rss_mib": round(rss3, 1),
    }
    if cluster:
        out.update({
            "redis_primary_bytes_per_device": round((mem1 - mem0) / a.devices, 1),
            "redis_primary_bytes_per_credential": round((mem0 - mem_cred) / a.devices, 1),
            "redis_traffic_bytes_per_register": round((net1 - net0) / max(registers, 1), 1),
            "redis_traffic_bytes_per_update": round((net3 - net2) / updates, 1),
            "redis_cpu_us_per_register": round((rcpu1 - rcpu0) * 1e6 / max(registers, 1), 1),
            "redis_cpu_us_per_update": round((rcpu3 - rcpu2) * 1e6 / updates, 1),
        })
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True)
    p.add_argument("--devices", type=int, default=10000,
                   help="at most ~18,000 (one lwm2m-fleet process: a socket per device)")
    p.add_argument("--rate", type=int, default=5000)
    p.add_argument("--lifetime", type=int, default=20)
    p.add_argument("--steady", type=float, default=30)
    p.add_argument("--stores", default="sqlite,redis")
    p.add_argument("--security", choices=("nosec", "psk"), default="nosec",
                   help="psk: DTLS-PSK devices (credentials provisioned first, not measured)")
    p.add_argument("--out")
    a = p.parse_args()
    a.server = os.path.join(a.build, "apps", "lwm2m-server", "lwm2m-server")
    a.fleet = os.path.join(a.build, "apps", "lwm2m-fleet", "lwm2m-fleet")
    d = tempfile.mkdtemp(prefix="lwm2m-bench-cost-")
    res = {"devices": a.devices, "security": a.security, "rate": a.rate, "lifetime_s": a.lifetime,
           "steady_s": a.steady, "loadavg_before": os.getloadavg()[0]}
    cluster = None
    try:
        for store in a.stores.split(","):
            if store == "redis":
                cluster = RedisCluster(os.path.join(d, "redis"))
                cluster.start()
            res[store] = run_store(a, d, store, cluster)
            print(f"{store}: {json.dumps(res[store])}", file=sys.stderr, flush=True)
        res["loadavg_after"] = os.getloadavg()[0]
    finally:
        if cluster:
            cluster.stop_all()
        procs.kill_children()
        shutil.rmtree(d, ignore_errors=True)
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
