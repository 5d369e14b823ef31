#!/usr/bin/env python3
"""Registrations/s with 1, 2 and 3 lwm2m-server nodes sharing the DM ports (--reuse-port) over a
local 3+3 Redis Cluster (docs/cluster-nodes.md, figures in docs/performance.md).

  bench/cluster_nodes/nodes.py --build build/dev [--devices 5000] [--nodes 1,2,3]

For each node count: fresh nodes on fresh ports, one lwm2m-fleet of N NoSec devices offered at
20,000/s from 256 source addresses; prints the fleet's "all N registered in S s" and the load
average before and after. Everything on 127.0.0.1; nothing fails on time.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "server"))
import procs  # noqa: E402
from redis_cluster import RedisCluster  # noqa: E402
from server_test import Server  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True)
    p.add_argument("--devices", type=int, default=5000)
    p.add_argument("--nodes", default="1,2,3")
    a = p.parse_args()
    server = os.path.join(a.build, "apps", "lwm2m-server", "lwm2m-server")
    fleet = os.path.join(a.build, "apps", "lwm2m-fleet", "lwm2m-fleet")
    d = tempfile.mkdtemp(prefix="lwm2m-bench-nodes-")
    c = RedisCluster(os.path.join(d, "redis"))
    c.start()
    try:
        for k in [int(x) for x in a.nodes.split(",")]:
            ports = {x: procs.free_udp_port() for x in ("coap", "coaps", "bs_coap", "bs_coaps")}
            nodes = []
            for i in range(k):
                dd = os.path.join(d, f"k{k}n{i}")
                os.makedirs(dd)
                s = Server(server, dd, c.url(), ["--reuse-port", "true", "--bootstrap", "false",
                                                 "--nosec", "any", "--log-level", "warn"])
                s.ports = ports
                s.start()
                nodes.append(s)
            load0 = os.getloadavg()[0]
            r = subprocess.run([fleet, "--server", f"coap://127.0.0.1:{ports['coap']}",
                                "-n", str(a.devices), "--rate", "20000", "--duration", "60",
                                "--lifetime", "600", "--endpoint-prefix", f"k{k}-",
                                "--source-addresses", "256", "--json", "--shutdown-grace", "1"],
                               capture_output=True, text=True, timeout=300)
            line = [x for x in r.stdout.splitlines() if x.startswith("all ")]
            print(f"{k} node(s): {line[0] if line else r.stdout[-300:]}; load average "
                  f"{load0:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)
            for s in nodes:
                s.stop()
    finally:
        c.stop_all()
        procs.kill_children()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
