#!/usr/bin/env python3
"""Several lwm2m-server nodes over one local Redis Cluster (docs/cluster.md "Several nodes");
label integration, everything on 127.0.0.1.

  routing_test.py --server PATH --client PATH-OF-lwm2m-client --case routing

Three nodes on different ports share a 3+3 cluster (tests/support/redis_cluster.py). NoSec
lwm2m-client processes register at node 1 and node 2. Checked: GET /api/nodes on every node;
a read of /3/0 of each device through EVERY node (the serial number, /3/0/2, is the endpoint
name); an SSE subscriber on node 2 sees the registration and the notifications of a device at
node 1 (the observation started through node 3); after kill -9 of node 1, a read of its device
through another node fails with the documented error within the request's timeout, and the
node list says node 1 is dead; the other devices are still served by every live node.

  routing_test.py ... --case listing

GET /api/clients and DELETE /api/clients/{ep} across three nodes (docs/cluster.md "Listing the
clients"): devices registered at n1, n2 and n3; the list through each node names every device
(total and items, in endpoint order, other nodes' devices with their node); pages of 2 through
one node put together give the whole list (no duplicate, no gap); the filters apply; offset +
limit above 10,000 is 400; DELETE through a node that does not hold the device removes the
registration at its holder; after kill -9 of n1 the list through a survivor answers within the
2 s deadline, partial and naming n1 (or without n1's devices once n1 is known dead).
Prints "PASS <case>" or "FAIL <case>: why".
"""
import argparse
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "support"))
sys.path.insert(0, os.path.join(here, "..", "server"))
import procs  # noqa: E402
from procs import expect  # noqa: E402
import server_test as st  # noqa: E402
from redis_cluster import RedisCluster  # noqa: E402


def start_node(a, d, name, url, key):
    nd = os.path.join(d, name)
    os.makedirs(nd, mode=0o700)
    # Every node of a deployment shares the SecretBox key (docs/store.md "Redis").
    with open(os.open(os.path.join(nd, "secret.key"), os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(key)
    s = st.Server(a.server, nd, url, ["--nosec", "any", "--node-id", name])
    s.start()
    return s


def three_nodes(a, d):
    """A local 3+3 Redis Cluster and nodes n1, n2, n3 on it sharing one SecretBox key."""
    c = RedisCluster(d)
    c.start()
    key = os.urandom(32)
    return c, key, [start_node(a, d, name, c.url(), key) for name in ("n1", "n2", "n3")]


def nodes_of(s):
    code, j, _ = s.api("GET", "/api/nodes")
    expect(code == 200, f"GET /api/nodes: {code} {j}")
    return {n["id"]: n for n in j["nodes"]}


def wait_nodes(s, pred, what, timeout=8):
    end = time.time() + timeout
    while True:
        ns = nodes_of(s)
        if pred(ns):
            return ns
        expect(time.time() < end, f"{what}: {ns}")
        time.sleep(0.2)


def read_device(s, ep, timeout=5):
    code, j, _ = s.api("GET", f"/api/clients/{ep}/read/3/0?timeout={timeout}")
    return code, j


def case_routing(a, d):
    _, key, nodes = three_nodes(a, d)
    n1, n2, n3 = nodes

    # Liveness: every node lists the three, alive, itself marked.
    for s, name in zip(nodes, ("n1", "n2", "n3")):
        ns = wait_nodes(s, lambda ns: all(ns.get(k, {}).get("alive") for k in ("n1", "n2", "n3")),
                        f"{name} does not list three live nodes")
        expect(ns[name]["self"] and sum(1 for n in ns.values() if n["self"]) == 1,
               f"self flag on {name}: {ns}")

    sse = st.Sse(n2)  # before the registrations
    time.sleep(0.3)
    dev_a = st.start_client(a, d, ["-e", "rt-a", "--server",
                                   f"coap://127.0.0.1:{n1.ports['coap']}"])
    dev_b = st.start_client(a, d, ["-e", "rt-b", "--server",
                                   f"coap://127.0.0.1:{n2.ports['coap']}"])
    expect(dev_a.wait_for("registered"), f"rt-a did not register at n1: {dev_a.seen}")
    expect(dev_b.wait_for("registered"), f"rt-b did not register at n2: {dev_b.seen}")

    # SSE fan-out: the registration at n1 reaches n2's subscriber, naming n1.
    ev = sse.wait(lambda e: e["type"] == "registration" and e.get("ep") == "rt-a")
    expect(ev is not None, f"n2's SSE did not see rt-a register at n1: {sse.items}")
    expect(ev["data"].get("node") == "n1", f"registration event of rt-a: {ev}")
    ev = sse.wait(lambda e: e["type"] == "registration" and e.get("ep") == "rt-b")
    expect(ev is not None and ev["data"].get("node") == "n2", f"rt-b's own registration: {ev}")
    with sse.lock:
        dup = sum(1 for e in sse.items if e["type"] == "registration" and e.get("ep") == "rt-b")
    expect(dup == 1, f"n2's own event delivered {dup} times")

    # Routing: each device read through every node, with its own values.
    t0 = time.time()
    for s, name in zip(nodes, ("n1", "n2", "n3")):
        for ep in ("rt-a", "rt-b"):
            code, j = read_device(s, ep)
            expect(code == 200 and j.get("code") == "2.05",
                   f"read {ep} through {name}: {code} {j}\n{s.stderr()}")
            serial = st.find_resource(j["content"], 2)
            expect(serial is not None and serial["value"] == ep,
                   f"read {ep} through {name}: serial {serial}")
    print(f"6 reads (2 devices x 3 nodes) in {time.time() - t0:.2f} s")
    code, j = read_device(n3, "rt-none")
    expect(code == 404 and j["error"]["code"] == "unknown_client", f"unknown device: {code} {j}")

    # Registrations held, per the heartbeats.
    wait_nodes(n3, lambda ns: ns["n1"]["registrations"] >= 1 and ns["n2"]["registrations"] >= 1
               and ns["n3"]["registrations"] == 0, "registrations per node")

    # An observation of rt-a (at n1) started through n3; its notifications reach n2's SSE.
    code, j, _ = n3.api("PUT", "/api/clients/rt-a/attributes/3/0/13", {"pmin": 0, "pmax": 1})
    expect(code in (200, 204), f"write-attributes through n3: {code} {j}")
    code, j, _ = n3.api("POST", "/api/clients/rt-a/observe/3/0/13")
    expect(code == 200 and j.get("code") == "2.05", f"observe through n3: {code} {j}")
    ev = sse.wait(lambda e: e["type"] == "notification" and e.get("ep") == "rt-a"
                  and "seq" in e["data"], timeout=10)
    expect(ev is not None, f"no notification of rt-a at n2's SSE: {sse.items[-5:]}")
    expect(ev["data"].get("node") == "n1" and ev["data"].get("path") == "/3/0/13",
           f"notification event: {ev}")
    code, j, _ = n2.api("DELETE", "/api/clients/rt-a/observe/3/0/13")
    expect(code in (200, 204), f"cancel the observation through n2: {code} {j}")

    # The owner dies: a read through another node fails clearly, within the timeout.
    n1.kill9()
    t0 = time.time()
    code, j = read_device(n2, "rt-a", timeout=2)
    took = time.time() - t0
    print(f"read of rt-a after kill -9 of n1: {code} {j and j.get('error', {}).get('code')} "
          f"in {took:.2f} s")
    expect(code in (502, 504) and j["error"]["code"] in ("owner_unavailable", "owner_timeout"),
           f"read after the owner died: {code} {j}")
    expect(took < 2 + 1 + 1.5, f"the read took {took:.2f} s")
    # Once its heartbeat expired: dead in the list, 502 at once.
    wait_nodes(n3, lambda ns: not ns["n1"]["alive"] and ns["n2"]["alive"], "n1 still alive")
    t0 = time.time()
    code, j = read_device(n3, "rt-a", timeout=2)
    took = time.time() - t0
    expect(code == 502 and j["error"]["code"] == "owner_unavailable" and "n1" in
           j["error"]["message"], f"read with the owner dead: {code} {j}")
    expect(took < 1.0, f"the owner_unavailable answer took {took:.2f} s")
    # rt-b (at n2) is still served by every live node.
    for s, name in ((n2, "n2"), (n3, "n3")):
        code, j = read_device(s, "rt-b")
        expect(code == 200 and st.find_resource(j["content"], 2)["value"] == "rt-b",
               f"read rt-b through {name} after n1 died: {code} {j}")
    sse.close()
    dev_a.stop()
    dev_b.stop()
    n2.stop()
    n3.stop()
    for s in (n2, n3):
        err = s.stderr()
        expect(key.hex() not in err.lower(), "the SecretBox key was logged")


def clients(s, query=""):
    t0 = time.time()
    code, j, _ = s.api("GET", "/api/clients" + query)
    return code, j, time.time() - t0


def case_listing(a, d):
    _, _, (n1, n2, n3) = three_nodes(a, d)
    nodes = {"n1": n1, "n2": n2, "n3": n3}
    for name, s in nodes.items():
        wait_nodes(s, lambda ns: all(ns.get(k, {}).get("alive") for k in nodes),
                   f"{name} does not list three live nodes")
    where = {"la-1": "n1", "la-2": "n1", "lb-3": "n1", "la-4": "n2", "lb-5": "n2", "la-6": "n3"}
    devs = []
    for ep, name in where.items():
        devs.append(st.start_client(a, d, ["-e", ep, "--server",
                                           f"coap://127.0.0.1:{nodes[name].ports['coap']}"]))
    for dev, ep in zip(devs, where):
        expect(dev.wait_for("registered"), f"{ep} did not register: {dev.seen}")
    everyone = sorted(where)

    # The whole list through every node: every device once, in endpoint order.
    for name, s in nodes.items():
        code, j, took = clients(s, "?limit=100")
        expect(code == 200, f"list through {name}: {code} {j}")
        eps = [i["endpoint"] for i in j["items"]]
        expect(eps == everyone and j["total"] == 6 and not j.get("partial"),
               f"list through {name}: {eps} total {j['total']} partial {j.get('partial')}")
        for i in j["items"]:
            holder = where[i["endpoint"]]
            expect(i.get("node") == (None if holder == name else holder),
                   f"node of {i['endpoint']} listed by {name}: {i.get('node')}")
        times = sorted([took] + [clients(s, "?limit=100")[2] for _ in range(4)])
        print(f"list of 6 devices on 3 nodes through {name}: "
              f"{', '.join(f'{t * 1000:.0f}' for t in times)} ms")

    # Paging across nodes: no duplicate, no gap.
    got = []
    for off in (0, 2, 4, 6):
        code, j, _ = clients(n3, f"?offset={off}&limit=2")
        expect(code == 200 and j["total"] == 6 and j["offset"] == off,
               f"page at {off}: {code} {j}")
        got += [i["endpoint"] for i in j["items"]]
    expect(got == everyone, f"pages of 2 through n3: {got}")
    code, j, _ = clients(n2, "?offset=5&limit=1")
    expect(code == 200 and [i["endpoint"] for i in j["items"]] == everyone[5:], f"last: {j}")

    # Filters.
    for query, want in (("?ep_prefix=la-", [e for e in everyone if e.startswith("la-")]),
                        ("?ep=b-", ["lb-3", "lb-5"]), ("?security=psk", []),
                        ("?security=nosec&binding=U", everyone),
                        ("?ep=-4", ["la-4"])):
        code, j, _ = clients(n1, query)
        eps = [i["endpoint"] for i in j.get("items", [])]
        expect(code == 200 and eps == want and j["total"] == len(want),
               f"list {query} through n1: {code} {eps} total {j.get('total')}")

    # The fan-out is bounded.
    code, j, _ = clients(n1, "?offset=9500&limit=1000")
    expect(code == 400 and j["error"]["code"] == "bad_request" and "10000" in
           j["error"]["message"], f"offset + limit > 10000: {code} {j}")
    code, j, _ = clients(n1, "?offset=9000&limit=1000")
    expect(code == 200 and j["items"] == [] and j["total"] == 6, f"offset 9000: {code} {j}")

    # DELETE through a node that does not hold the device: the holder removes it.
    code, j, _ = n3.api("DELETE", "/api/clients/la-1")
    expect(code == 204, f"DELETE la-1 (at n1) through n3: {code} {j}")
    # The engine answers at once; the store's record (GET's fallback) follows the holder's
    # asynchronous store write within milliseconds: a bounded wait.
    end = time.time() + 3
    while True:
        code, j, _ = n1.api("GET", "/api/clients/la-1")
        if code == 404 or time.time() > end:
            break
        expect(code == 200 and j.get("node") in ("n1", ""), f"la-1 after the DELETE: {code} {j}")
        time.sleep(0.05)
    expect(code == 404, f"la-1 still registered at n1: {code} {j}")
    code, j, _ = clients(n1, "?limit=100")
    eps = [i["endpoint"] for i in j["items"]]
    expect("la-1" not in eps and j["total"] == 5, f"list after the DELETE: {eps} {j['total']}")
    code, j, _ = n2.api("DELETE", "/api/clients/la-none")
    expect(code == 404 and j["error"]["code"] == "unknown_client", f"DELETE unknown: {code} {j}")

    # n1 dies: a survivor answers within the deadline, partial, or without n1's devices.
    n1.kill9()
    code, j, took = clients(n2, "?limit=100")
    eps = [i["endpoint"] for i in j.get("items", [])]
    print(f"list through n2 after kill -9 of n1: {code} partial={j.get('partial')} "
          f"missing={j.get('missing_nodes')} {eps} in {took:.2f} s")
    expect(code == 200 and took < 2 + 1.5, f"list after kill -9: {code} {j} in {took:.2f} s")
    survivors = [e for e in everyone if where[e] != "n1"]
    expect(all(e in eps for e in survivors), f"survivors' devices missing: {eps}")
    if any(where[e] == "n1" for e in eps):
        expect(False, f"n1's devices listed after its death: {eps}")
    expect(j.get("partial") is True and j.get("missing_nodes") == ["n1"] or j["total"] == 3,
           f"list after kill -9 of n1: {j}")
    wait_nodes(n3, lambda ns: not ns["n1"]["alive"], "n1 still alive")
    code, j, took = clients(n3, "?limit=100")
    expect(code == 200 and [i["endpoint"] for i in j["items"]] == survivors and
           j["total"] == 3 and not j.get("partial") and took < 1.5,
           f"list once n1 is dead: {code} {j} in {took:.2f} s")
    for dev in devs:
        dev.stop()
    n2.stop()
    n3.stop()


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--client", required=True)
    return procs.run_case_main(p, CASES, "lwm2m-routing-test-")


if __name__ == "__main__":
    sys.exit(main())
