#!/usr/bin/env python3
"""lwm2m-server on a local Redis Cluster (3 primaries + 3 replicas, tests/support/redis_cluster.py);
label integration, everything on 127.0.0.1.

  redis_test.py --server PATH --client PATH-OF-lwm2m-client --case NAME

Cases:
  server_restart   real clients register through `--store redis://...`; lwm2m-server restarts
                   and still has them (and reads one); the credentials survived too.
  primary_kill     raw registrations under load; kill -9 of a Redis primary; after its replica
                   takes over every ACKNOWLEDGED (2.01) registration is in Redis, and the server
                   answers again.
  cluster_restart  every Redis node stopped and started again: nothing acknowledged is lost.
Prints "PASS <case>" or "FAIL <case>: why".
"""
import argparse
import os
import socket
import sys
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "support"))
sys.path.insert(0, os.path.join(here, "..", "server"))
import procs  # noqa: E402
from procs import expect  # noqa: E402
import server_test as st  # noqa: E402
from redis_cluster import RedisCluster  # noqa: E402


def register(sock, addr, ep, mid, token, wait=8.0):
    """A raw Register (CON POST /rd?ep=..). Returns the code ("2.01") or None. Handles the
    separate response (empty ACK first, then a CON with our token, which we ACK: RFC 7252 §5.2.2)
    that a commit slower than the piggyback delay produces."""
    opts = sorted([(11, b"rd"), (15, f"ep={ep}".encode()), (15, b"lt=300"),
                   (15, b"lwm2m=1.1"), (12, bytes([40]))], key=lambda o: o[0])
    sock.sendto(procs.coap_encode(procs.CON, procs.POST, mid, token, opts, b"</3/0>"), addr)
    end = time.time() + wait
    while time.time() < end:
        sock.settimeout(max(0.05, end - time.time()))
        try:
            data, _ = sock.recvfrom(4096)
        except (socket.timeout, ConnectionRefusedError):
            continue
        m = procs.coap_decode(data)
        if not m or m["token"] != token and m["code"] != 0:
            continue
        if m["type"] == procs.CON:
            sock.sendto(procs.coap_encode(procs.ACK, 0, m["mid"]), addr)
        if m["code"] == 0:
            continue  # the empty ACK: the response follows
        return procs.coap_code(m["code"])
    return None


def listed(s):
    got, offset = set(), 0
    while True:
        code, j, _ = s.api("GET", f"/api/clients?limit=1000&offset={offset}")
        expect(code == 200, f"list: {code}")
        got |= {c["endpoint"] for c in j["items"]}
        offset += len(j["items"])
        if not j["items"] or offset >= j["total"]:
            return got


def register_many(s, prefix, n):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    dm = ("127.0.0.1", s.ports["coap"])
    for i in range(n):
        ep = f"{prefix}-{i:04d}"
        code = register(sock, dm, ep, 100 + i, i.to_bytes(4, "big"))
        expect(code == "2.01", f"register {ep}: {code}\n{s.stderr()}")
    sock.close()


def start_cluster(d):
    c = RedisCluster(d)
    t0 = time.time()
    c.start()
    print(f"redis cluster up in {time.time() - t0:.1f} s: {c.url()}")
    return c


def case_server_restart(a, d):
    c = start_cluster(d)
    # A wrong password in the URL: the server exits at once with the node and Redis's reason,
    # and never shows the password (the test cluster has requirepass).
    wrong = "redis://:not-the-password@" + c.url().rsplit("@", 1)[1]
    bad_dir = os.path.join(d, "wrong-password")
    os.makedirs(bad_dir)
    r = procs.run([a.server, "--data-dir", bad_dir, "--store", wrong, "--http-port", "0",
                   "--coap-port", "0", "--coaps-port", "0", "--bs-coap-port", "0",
                   "--bs-coaps-port", "0"], timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace")
    expect(r.returncode != 0, f"the server started with a wrong Redis password: {out[-500:]}")
    expect("authentication refused: WRONGPASS" in out, f"no clear reason: {out[-500:]}")
    expect("not-the-password" not in out, f"the password was printed: {out[-500:]}")
    expect("redis://:***@" in out, f"the store URL is not shown redacted: {out[-500:]}")
    print("wrong Redis password: refused at start, the password not shown")

    s = st.Server(a.server, d, c.url())
    s.start()
    clients = [st.register_nosec(a, s, f"rs-{i}") for i in range(3)]
    got = listed(s)
    expect({"rs-0", "rs-1", "rs-2"} <= got, f"registered: {got}")
    code, j, _ = s.api("POST", "/api/security", {"endpoint": "rs-psk", "mode": "psk",
                                                   "psk_identity": "rs-psk-id",
                                                   "psk_key_hex": "00112233445566778899aabbccddeeff"})
    expect(code == 201, f"security psk: {code} {j}")
    s.stop()
    s.start()
    got = listed(s)
    expect({"rs-0", "rs-1", "rs-2"} <= got, f"after the restart: {got}\n{s.stderr()}")
    code, j, _ = s.api("GET", "/api/clients/rs-1/read/3/0/0")
    expect(code == 200 and j["code"] == "2.05", f"read after restart: {code} {j}")
    code, j, _ = s.api("GET", "/api/security/rs-psk")
    expect(code == 200 and j.get("mode") == "psk", f"credentials after restart: {code} {j}")
    expect("00112233445566778899aabbccddeeff" not in str(j), "the PSK key came back")
    for cl in clients:
        expect(cl.count("registered") == 1, f"a client registered again: {cl.seen}")
        cl.stop()
    s.stop()
    err = s.stderr()
    expect("00112233445566778899aabbccddeeff" not in err.lower(), "the PSK key was logged")


def case_primary_kill(a, d):
    c = start_cluster(d)
    s = st.Server(a.server, d, c.url(), ["--nosec", "any"])
    s.start()
    dm = ("127.0.0.1", s.ports["coap"])
    acked, after_kill, stop = [], [], threading.Event()
    ack_times = []
    killed_at = [None]
    lock = threading.Lock()

    def load(worker):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        n = 0
        while not stop.is_set():
            ep = f"pk-{worker}-{n:05d}"
            code = register(sock, dm, ep, (worker * 10000 + n) & 0xFFFF,
                            bytes([worker]) + n.to_bytes(4, "big"))
            if code == "2.01":
                with lock:
                    acked.append(ep)
                    ack_times.append(time.time())
                    if killed_at[0] is not None:
                        after_kill.append(ep)
            n += 1
        sock.close()
    threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    victim = c.primaries()[0]
    c.kill(victim)
    killed_at[0] = time.time()
    with lock:
        before = len(acked)
    # Load continues through the failover (node timeout 1 s + the election).
    end = time.time() + 20
    while time.time() < end:
        with lock:
            if len(after_kill) >= 50:
                break
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(15)
    print(f"kill -9 of primary 127.0.0.1:{victim}: {before} registrations acknowledged before, "
          f"{len(after_kill)} after; {len(acked)} in all")
    times = sorted(t for t in ack_times if t >= killed_at[0])
    first = times[0] - killed_at[0] if times else None
    gaps = [b - a for a, b in zip(times, times[1:])]
    stall = max([first or 0.0] + gaps)
    print(f"longest time without an acknowledgement after the kill: {stall:.2f} s")
    expect(before > 20, f"load too small before the kill: {before}")
    expect(len(after_kill) >= 50, f"the server did not recover: {len(after_kill)} acknowledged "
                                  f"after the kill\n{s.stderr()}")
    c.wait_ok(timeout=60)  # the failover settles later on a loaded machine (CI: sanitizers)
    expect(victim not in c.primaries(), "the killed node is still a primary")
    # What Redis holds: a restarted server loads it.
    s.stop()
    s.start()
    got = listed(s)
    lost = [ep for ep in acked if ep not in got]
    expect(not lost, f"acknowledged but lost: {lost[:5]} ({len(lost)}/{len(acked)})")
    print(f"every one of the {len(acked)} acknowledged registrations is in Redis")
    s.stop()


def case_cluster_restart(a, d):
    c = start_cluster(d)
    s = st.Server(a.server, d, c.url(), ["--nosec", "any"])
    s.start()
    register_many(s, "cr", 200)
    s.stop()
    t0 = time.time()
    c.restart_all()
    print(f"cluster restarted in {time.time() - t0:.1f} s")
    s.start()
    got = listed(s)
    lost = [f"cr-{i:04d}" for i in range(200) if f"cr-{i:04d}" not in got]
    expect(not lost, f"lost after the cluster restart: {lost[:5]} ({len(lost)})")
    s.stop()


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--client", required=True)
    return procs.run_case_main(p, CASES, "lwm2m-redis-test-")


if __name__ == "__main__":
    sys.exit(main())
