#!/usr/bin/env python3
"""Coherence between lwm2m-server nodes sharing one local Redis Cluster (docs/cluster.md
"Credentials and bootstrap configurations"); label integration, everything on 127.0.0.1.

  coherence_test.py --server PATH --client PATH-OF-lwm2m-client --case credentials

Three nodes on different ports share a 3+3 cluster (tests/support/redis_cluster.py), all started
before any credential exists. Checked: a DTLS-PSK credential added through node 0's REST API
shows at node 1 within a bound (the invalidation channel) and an lwm2m-client with that PSK
registers through node 1's coaps port; the same PSK identity bound to two endpoints through two
nodes at the same moment: exactly one 201, the other 409, and every node then shows only the
winner (rounds with fresh identities); deleting the credential through node 0 makes node 1 refuse
a new handshake; a bootstrap configuration added through node 0 reads back at node 2, and its
deletion too. No key in any log. Prints "PASS <case>" or "FAIL <case>: why".
"""
import argparse
import os
import secrets
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

# How long a change may take to show at another node (it takes milliseconds; the bound is for a
# loaded machine).
PROPAGATION_S = 3.0


def start_node(a, d, name, url, key):
    nd = os.path.join(d, name)
    os.makedirs(nd, mode=0o700)
    # Every node of a deployment shares the SecretBox key (docs/store.md "Redis").
    with open(os.open(os.path.join(nd, "secret.key"), os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(key)
    s = st.Server(a.server, nd, url, ["--nosec", "any", "--node-id", name])
    s.start()
    return s


def wait_status(s, path, want, timeout=PROPAGATION_S):
    """Polls GET `path` until it answers `want`; returns the seconds it took (None: never)."""
    t0 = time.time()
    while True:
        code, _, _ = s.api("GET", path)
        if code == want:
            return time.time() - t0
        if time.time() - t0 > timeout:
            return None
        time.sleep(0.02)


def case_credentials(a, d):
    c = RedisCluster(d)
    c.start()
    url = c.url()
    box_key = os.urandom(32)
    nodes = [start_node(a, d, f"n{i}", url, box_key) for i in range(3)]
    n0, n1, n2 = nodes

    # 1. A credential added through n0 after n1 and n2 started: usable at n1.
    ep, ident, psk = "co-psk", b"co-psk-identity", secrets.token_bytes(32)
    code, j, _ = n0.api("POST", "/api/security", {"endpoint": ep, "mode": "psk",
                                                  "psk_identity": ident.decode(),
                                                  "psk_key_hex": psk.hex()})
    expect(code == 201, f"security at n0: {code} {j}")
    took = wait_status(n1, f"/api/security/{ep}", 200)
    expect(took is not None, f"the credential added at n0 is not at n1 after {PROPAGATION_S} s")
    print(f"credential added at n0 seen at n1 after {took * 1000:.0f} ms")
    uri = f"coaps://127.0.0.1:{n1.ports['coaps']}"
    cl = st.start_client(a, d, ["-e", ep, "--server", uri, "--psk-identity-hex", ident.hex(),
                                "--psk-key-hex", psk.hex()])
    expect(cl.wait_for("registered", 15), f"{ep} did not register at n1: {cl.seen}\n"
           f"{n1.stderr()[-2000:]}")
    code, j, _ = n1.api("GET", f"/api/clients/{ep}")
    expect(code == 200, f"{ep} not registered at n1: {code} {j}")
    cl.stop()

    # 2. One PSK identity bound to two endpoints through two nodes at the same moment.
    rounds = 8
    for r in range(rounds):
        shared = f"co-shared-{r}"
        answers = {}
        go = threading.Barrier(2)

        def put(node, name):
            go.wait()
            code, j, _ = node.api("POST", "/api/security", {
                "endpoint": name, "mode": "psk", "psk_identity": shared,
                "psk_key_hex": secrets.token_bytes(16).hex()})
            answers[name] = (code, j)

        names = (f"co-a-{r}", f"co-b-{r}")
        ts = [threading.Thread(target=put, args=(n, name)) for n, name in zip((n1, n2), names)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        codes = sorted(v[0] for v in answers.values())
        expect(codes == [201, 409], f"round {r}: answers {answers}\nn1: {n1.stderr()[-1500:]}\n"
               f"n2: {n2.stderr()[-1500:]}")
        winner = next(k for k, v in answers.items() if v[0] == 201)
        loser = next(k for k, v in answers.items() if v[0] == 409)
        for s in nodes:
            expect(wait_status(s, f"/api/security/{winner}", 200) is not None,
                   f"round {r}: winner {winner} missing at {s.data_dir}")
            code, _, _ = s.api("GET", f"/api/security/{loser}")
            expect(code == 404, f"round {r}: loser {loser} stored at {s.data_dir}: {code}")
    print(f"{rounds} rounds of one PSK identity bound through two nodes at once: one 201 and "
          "one 409 each")
    # The identity is free again once its endpoint is deleted (through another node).
    code, _, _ = n0.api("DELETE", f"/api/security/{winner}")
    expect(code == 204, f"delete {winner}: {code}")
    code, j, _ = n2.api("POST", "/api/security", {"endpoint": loser, "mode": "psk",
                                                  "psk_identity": shared,
                                                  "psk_key_hex": secrets.token_bytes(16).hex()})
    expect(code == 201, f"the freed identity refused: {code} {j}")

    # 3. Deleted through n0: n1 refuses a new handshake.
    code, _, _ = n0.api("DELETE", f"/api/security/{ep}")
    expect(code == 204, f"delete {ep}: {code}")
    took = wait_status(n1, f"/api/security/{ep}", 404)
    expect(took is not None, f"the credential deleted at n0 is still at n1 after {PROPAGATION_S} s")
    print(f"credential deleted at n0 gone at n1 after {took * 1000:.0f} ms")
    cl = st.start_client(a, d, ["-e", ep, "--server", uri, "--psk-identity-hex", ident.hex(),
                                "--psk-key-hex", psk.hex()])
    expect(not cl.wait_for("registered", 6), f"{ep} registered at n1 after its deletion")
    cl.stop()

    # A figure (printed, not asserted): sequential credential puts through one node (claim,
    # record + WAIT, confirm + notice), REST round trip included.
    n_put = 50
    t0 = time.time()
    for i in range(n_put):
        code, j, _ = n0.api("POST", "/api/security", {"endpoint": f"co-f-{i}", "mode": "psk",
                                                      "psk_identity": f"co-f-{i}",
                                                      "psk_key_hex": secrets.token_bytes(16).hex()})
        expect(code == 201, f"security co-f-{i}: {code} {j}")
    per = (time.time() - t0) / n_put
    expect(wait_status(n2, f"/api/security/co-f-{n_put - 1}", 200) is not None,
           "the last credential is not at n2")
    print(f"{n_put} credential puts through n0: {per * 1000:.1f} ms each (REST included; "
          f"load {os.getloadavg()[0]:.1f})")

    # 4. Bootstrap configurations: added and deleted through n0, seen at n2.
    bs_ep = "co-bs"
    body = st.bootstrap_body(bs_ep, n0, st.printable_id(32), secrets.token_bytes(32))
    code, j, _ = n0.api("POST", "/api/bootstrap", body)
    expect(code == 201, f"bootstrap config at n0: {code} {j}")
    took = wait_status(n2, f"/api/bootstrap/{bs_ep}", 200)
    expect(took is not None, "the bootstrap configuration added at n0 is not at n2")
    code, _, _ = n0.api("DELETE", f"/api/bootstrap/{bs_ep}")
    expect(code == 204, f"delete the bootstrap configuration: {code}")
    expect(wait_status(n2, f"/api/bootstrap/{bs_ep}", 404) is not None,
           "the bootstrap configuration deleted at n0 is still at n2")

    for s in nodes:
        s.stop()
        err = s.stderr().lower()
        expect(psk.hex() not in err and box_key.hex() not in err, "a key in a server log")


def case_takeover(a, d):
    """Three nodes sharing the CoAP ports (--reuse-port); a NoSec device observed through a node
    that does not hold it; GET /api/clients/{ep} on every node; kill -9 of the node holding it:
    its next Update reaches a survivor, which takes the registration over with the observation,
    and the notifications arrive as events of the survivor."""
    c = RedisCluster(d)
    c.start()
    url = c.url()
    box_key = os.urandom(32)
    ports = {k: procs.free_udp_port() for k in ("coap", "coaps", "bs_coap", "bs_coaps")}
    nodes = {}
    for name in ("t0", "t1", "t2"):
        nd = os.path.join(d, name)
        os.makedirs(nd, mode=0o700)
        with open(os.open(os.path.join(nd, "secret.key"), os.O_WRONLY | os.O_CREAT, 0o600),
                  "wb") as f:
            f.write(box_key)
        s = st.Server(a.server, nd, url, ["--nosec", "any", "--node-id", name, "--reuse-port",
                                          "true", "--bootstrap", "false", "--log-level", "info"])
        s.ports = ports
        s.start()
        nodes[name] = s
    ep = "co-obs"
    dev = st.start_client(a, d, ["-e", ep, "--server", f"coap://127.0.0.1:{ports['coap']}",
                                 "--lifetime", "10"])
    expect(dev.wait_for("registered"), f"{ep} did not register: {dev.seen}")

    # GET /api/clients/{ep} on every node: the holder from its engine, the others from the
    # store's record naming the holder.
    answers = {}
    end = time.time() + PROPAGATION_S
    while time.time() < end:
        answers = {n: s.api("GET", f"/api/clients/{ep}")[:2] for n, s in nodes.items()}
        if all(code == 200 for code, _ in answers.values()):
            break
        time.sleep(0.05)
    owners = [n for n, (code, j) in answers.items() if code == 200 and "node" not in j]
    expect(len(owners) == 1, f"GET /api/clients/{ep} on every node: {answers}")
    owner = owners[0]
    mine = answers[owner][1]
    for n, (code, j) in answers.items():
        expect(code == 200, f"GET on {n}: {code} {j}")
        if n == owner:
            continue
        expect(j.get("node") == owner, f"GET on {n} does not name the holder {owner}: {j}")
        for field in ("registration_id", "lifetime", "address", "lwm2m_version", "binding",
                      "objects", "registered_at"):
            expect(j.get(field) == mine.get(field), f"GET on {n}: {field} {j.get(field)} "
                   f"!= {mine.get(field)} at the holder")
    expect(len(mine["objects"]) > 0 and mine["lifetime"] == 10, f"the record: {mine}")
    code, j, _ = nodes[owner].api("GET", "/api/clients/co-none")
    expect(code == 404, f"an unknown client: {code} {j}")
    print(f"GET /api/clients/{ep}: held by {owner}, the two others answer from the store")

    # An observation of the device started through another node; its events come from owner.
    others = [n for n in nodes if n != owner]
    via = nodes[others[0]]
    sse = st.Sse(via)
    time.sleep(0.3)
    code, j, _ = via.api("PUT", f"/api/clients/{ep}/attributes/3/0/13", {"pmin": 0, "pmax": 1})
    expect(code in (200, 204), f"write-attributes through {others[0]}: {code} {j}")
    code, j, _ = via.api("POST", f"/api/clients/{ep}/observe/3/0/13")
    expect(code == 200 and j.get("code") == "2.05", f"observe through {others[0]}: {code} {j}")
    ev = sse.wait(lambda e: e["type"] == "notification" and e.get("ep") == ep
                  and e["data"].get("node") == owner, timeout=10)
    expect(ev is not None, f"no notification from {owner}: {sse.items[-5:]}")
    time.sleep(0.5)  # the observation's commit (group commit, milliseconds)

    nodes[owner].kill9()
    t_kill = time.time()
    ev = sse.wait(lambda e: e["type"] == "notification" and e.get("ep") == ep
                  and e["data"].get("node") in others, timeout=30)
    expect(ev is not None, f"no notification from a survivor after kill -9 of {owner}: "
           f"{sse.items[-5:]}\n" + "\n".join(nodes[n].stderr()[-1500:] for n in others))
    took = time.time() - t_kill
    taker = ev["data"]["node"]
    log = nodes[taker].stderr()
    expect("taken over from the store with 1 observation(s)" in log,
           f"{taker} did not take the observation over:\n{log[-2000:]}")
    print(f"kill -9 of {owner}: notifications of the observation arrive from {taker} after "
          f"{took:.1f} s (lifetime 10 s)")
    sse.close()
    dev.stop()
    for n in others:
        nodes[n].stop()
        expect(box_key.hex() not in nodes[n].stderr().lower(), "the SecretBox key was logged")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--client", required=True)
    return procs.run_case_main(p, CASES, "lwm2m-coherence-test-")


if __name__ == "__main__":
    sys.exit(main())
