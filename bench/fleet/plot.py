#!/usr/bin/env python3
"""Plots of a bench/fleet/scale.py JSON (issue #11), with matplotlib (Debian python3-matplotlib,
scripts/install-deps).

  bench/fleet/plot.py RESULT.json [--out PREFIX]

Writes PREFIX-rate.png (registrations per second against the number registered, one line per
scenario: nosec, psk, node-lib) and PREFIX-server.png (server CPU % and RSS over time). PREFIX
defaults to RESULT without .json. Prints the figures the plots show, for docs/performance.md.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    # Debian's package is in the system interpreter; another python3 (pyenv, venv) may be first
    # on PATH.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != \
            os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("plot.py needs matplotlib: apt-get install python3-matplotlib (scripts/install-deps)")

LABELS = {"nosec": "lwm2m-server, NoSec", "psk": "lwm2m-server, DTLS-PSK",
          "node-lib": "lwm2m-node-lib 1.x server, NoSec"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("result")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    with open(a.result) as f:
        doc = json.load(f)
    prefix = a.out or os.path.splitext(a.result)[0]
    runs = doc["runs"]
    from scale import binned, derive  # noqa: E402 (python3 only: the figures as scale.py)
    for r in runs:
        derive(r)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in runs:
        pts = [c for c in binned(r["curve"]) if c["rate"] is not None]
        if not pts:
            continue
        ax.plot([c["registered"] for c in pts], [c["rate"] for c in pts], marker=".",
                label=f"{LABELS.get(r['scenario'], r['scenario'])} "
                      f"(offered {r['rate_offered']:.0f}/s)")
    ax.set_xlabel("devices registered")
    ax.set_ylabel("registrations / s")
    n = max(r["devices"] for r in runs)
    if n >= 10000:
        ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    def load_range(r):
        v = [x["loadavg1"] for x in r["samples"]] or [r["loadavg_start"][0]]
        return f"{r['scenario']} {min(v):.0f}-{max(v):.0f}"
    loads = ", ".join(load_range(r) for r in runs)
    ax.set_title(f"Registration rate while the fleet grows to {n:,} (2 cores; load avg {loads})",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(prefix + "-rate.png", dpi=100)
    print(f"wrote {prefix}-rate.png")

    fig, ax1 = plt.subplots(figsize=(8, 4.5))
    ax2 = ax1.twinx()
    for r in runs:
        s = [x for x in r["samples"] if x["server_cpu_pct"] is not None]
        lab = LABELS.get(r["scenario"], r["scenario"])
        ax1.plot([x["t"] for x in s], [x["server_cpu_pct"] for x in s], label=f"CPU %, {lab}")
        ax2.plot([x["t"] for x in s], [x["server_rss_mib"] for x in s], linestyle="--",
                 label=f"RSS MiB, {lab}")
    ax1.set_xlabel("seconds since the fleet started")
    ax1.set_ylabel("server CPU % (100 = one core)")
    ax2.set_ylabel("server RSS, MiB (dashed)")
    ax1.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    ax1.grid(True, alpha=0.3)
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper right")
    ax1.set_title(f"Server CPU and memory, {n:,} devices", fontsize=9)
    fig.tight_layout()
    fig.savefig(prefix + "-server.png", dpi=100)
    print(f"wrote {prefix}-server.png")

    for r in runs:
        fl = r["fleet"]
        st = r.get("steady", {})
        print(f"{r['scenario']}: {r['devices']} devices, {r['processes']} fleet process(es), "
              f"offered {r['rate_offered']:.0f}/s; all registered at {r.get('all_registered_s')} "
              f"s; rate at {r['rate_at']}; register p50/p99 {fl['register_latency_ms']['p50']:.1f}"
              f"/{fl['register_latency_ms']['p99']:.1f} ms; updates {fl['updates']}, p50/p99 "
              f"{fl['update_latency_ms']['p50']:.1f}/{fl['update_latency_ms']['p99']:.1f} ms; "
              f"steady {st}; provision {r.get('provision_s')}; failures {fl['failures']}; "
              f"load {r['loadavg_start']} -> {r['loadavg_end']}"
              + (f"; kill {r['kill']}" if r.get("kill") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
