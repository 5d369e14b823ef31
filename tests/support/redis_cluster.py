"""A local Redis Cluster for the integration tests: 3 primaries + 3 replicas (redis-server 7) on
free 127.0.0.1 ports, in a folder of the test's temporary directory, appendonly yes,
cluster-node-timeout 1000 ms, a random password of its own (requirepass and masterauth): the
clients of another test's cluster that reach one of these ports (a port freed there and drawn
here) are refused instead of reading and writing this cluster. Every process is started with
procs.spawn() (own session, killed by procs.kill_children()).

  c = RedisCluster(tmp_dir)
  c.start()                  # 6 processes, `redis-cli --cluster create`, cluster_state:ok
  c.url()                    # "redis://:PASSWORD@127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
  c.primaries()              # ports of the live primaries
  c.kill(port)               # kill -9 one node
  c.wait_ok()                # bounded wait for cluster_state:ok seen by every live node
  c.restart_all()            # SIGTERM every node (AOF flushed), start them again, wait ok

As a program (for gtest integration cases): `redis_cluster.py [--standalone] -- CMD ARGS...`
starts a cluster (or, with --standalone, one redis-server without cluster support), runs CMD with
LWM2M_TEST_REDIS_URL (and LWM2M_TEST_REDIS_DIR, the nodes' folder) set, stops the processes and
exits with CMD's status.
"""
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procs  # noqa: E402
from procs import expect  # noqa: E402


def free_tcp_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port():
    """A TCP port P with P + 10000 free too (the cluster bus port)."""
    import socket
    for _ in range(100):
        p = free_tcp_port()
        if p + 10000 > 65535:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", p + 10000))
            return p
        except OSError:
            continue
    raise AssertionError("no free port pair for a Redis node and its cluster bus")


class RedisCluster:
    def __init__(self, tmp_dir, nodes=6, replicas=1):
        self.dir = os.path.join(tmp_dir, "redis-cluster")
        self.n = nodes
        self.replicas = replicas
        self.ports = []
        self.procs = {}
        self.server = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        self.password = secrets.token_hex(12)
        self.cli_env = dict(os.environ, REDISCLI_AUTH=self.password)
        expect(self.server and self.cli, "redis-server / redis-cli not found (scripts/install-deps)")

    def _start_node(self, port, cluster=True):
        d = os.path.join(self.dir, str(port))
        os.makedirs(d, exist_ok=True)
        mode = (["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", "1000"] if cluster else [])
        args = [self.server, "--port", str(port), "--bind", "127.0.0.1", "--dir", d] + mode + [
                "--appendonly", "yes",
                "--appendfsync", "everysec", "--save", "", "--protected-mode", "no",
                "--repl-diskless-sync-delay", "0",
                "--requirepass", self.password, "--masterauth", self.password,
                "--daemonize", "no", "--logfile", os.path.join(d, "redis.log")]
        self.procs[port] = procs.spawn(args, service=True, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)

    def cli_run(self, port, *args, timeout=10):
        r = subprocess.run([self.cli, "-h", "127.0.0.1", "-p", str(port)] + list(args),
                           capture_output=True, timeout=timeout, env=self.cli_env)
        return r.stdout.decode(errors="replace").strip()

    def _wait_ping(self, port, timeout=10):
        """Waits until OUR redis-server on `port` answers (INFO's process_id is its pid). False
        when it exited instead: the port was taken between free_cluster_port() and its bind,
        e.g. by another test's Redis under ctest -j, and a bare PING would then have been
        answered by that other test's node."""
        pr = self.procs[port]
        end = time.time() + timeout
        while time.time() < end:
            if pr.poll() is not None:
                return False
            try:
                if f"process_id:{pr.pid}" in self.cli_run(port, "INFO", "server", timeout=2):
                    return True
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.05)
        raise AssertionError(f"redis-server on 127.0.0.1:{port} did not start")

    def _start_fresh(self, pick, cluster=True):
        """Starts one node on a port from pick(), drawing another while the port is lost."""
        for _ in range(5):
            port = pick()
            self._start_node(port, cluster)
            if self._wait_ping(port):
                return port
            del self.procs[port]
        raise AssertionError("no port kept for a redis-server in 5 attempts")

    def _restart_node(self, port):
        self._start_node(port)
        expect(self._wait_ping(port), f"redis-server on 127.0.0.1:{port} exited on restart "
                                      "(its port was taken meanwhile)")

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.ports = [self._start_fresh(free_cluster_port) for _ in range(self.n)]
        r = subprocess.run([self.cli, "--cluster", "create"] +
                           [f"127.0.0.1:{p}" for p in self.ports] +
                           ["--cluster-replicas", str(self.replicas), "--cluster-yes"],
                           capture_output=True, timeout=60, env=self.cli_env)
        expect(r.returncode == 0, f"redis-cli --cluster create: {r.stdout[-1500:]!r}"
                                  f" {r.stderr[-500:]!r}")
        self.wait_ok()

    def start_standalone(self):
        """One redis-server without cluster support (development setups)."""
        os.makedirs(self.dir, exist_ok=True)
        self.ports = [self._start_fresh(free_tcp_port, cluster=False)]

    def live_ports(self):
        return [p for p, pr in self.procs.items() if pr.poll() is None]

    def wait_ok(self, timeout=20):
        """Every live node says cluster_state:ok, the nodes agree on the primaries, and every
        primary with a live replica has it online (initial sync done)."""
        end = time.time() + timeout
        while time.time() < end:
            good = True
            for p in self.live_ports():
                try:
                    info = self.cli_run(p, "CLUSTER", "INFO", timeout=2)
                except subprocess.TimeoutExpired:
                    info = ""
                if "cluster_state:ok" not in info:
                    good = False
                    break
            if good and len(self.primaries()) == self.n // (1 + self.replicas):
                if all(self._replicas_synced(p) for p in self.primaries()):
                    return
            time.sleep(0.1)
        raise AssertionError(f"the cluster did not reach cluster_state:ok within {timeout} s")

    def _replicas_synced(self, primary):
        live = [p for p, role, master, flags in self.nodes()
                if role == "slave" and master == primary and p in self.live_ports()
                and "fail" not in flags]
        try:
            info = self.cli_run(primary, "INFO", "replication", timeout=2)
        except subprocess.TimeoutExpired:
            return False
        return info.count("state=online") >= len(live)

    def nodes(self):
        """[(port, role, master_port or None, flags)] from CLUSTER NODES of a live node."""
        for p in self.live_ports():
            try:
                text = self.cli_run(p, "CLUSTER", "NODES", timeout=2)
            except subprocess.TimeoutExpired:
                continue
            if not text:
                continue
            out, ids = [], {}
            rows = [line.split() for line in text.splitlines() if line.strip()]
            for f in rows:
                ids[f[0]] = int(f[1].split("@")[0].rsplit(":", 1)[1])
            for f in rows:
                port = ids[f[0]]
                flags = f[2]
                out.append((port, "master" if "master" in flags else "slave",
                            ids.get(f[3]), flags))
            return out
        return []

    def primaries(self):
        return sorted(p for p, role, _, flags in self.nodes()
                      if role == "master" and "fail" not in flags and p in self.live_ports())

    def url(self):
        return f"redis://:{self.password}@" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])

    def kill(self, port):
        pr = self.procs[port]
        os.killpg(pr.pid, signal.SIGKILL)
        pr.wait(timeout=5)

    def start_node(self, port):
        self._restart_node(port)

    def stop_all(self):
        for p, pr in self.procs.items():
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
        for pr in self.procs.values():
            try:
                pr.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pr.pid, signal.SIGKILL)
                pr.wait(timeout=5)

    def restart_all(self):
        self.stop_all()
        for p in self.ports:
            self._restart_node(p)
        self.wait_ok()


def main():
    if "--" not in sys.argv:
        print("usage: redis_cluster.py -- CMD ARGS...", file=sys.stderr)
        return 2
    cmd = sys.argv[sys.argv.index("--") + 1:]
    standalone = "--standalone" in sys.argv[:sys.argv.index("--")]
    import tempfile
    d = tempfile.mkdtemp(prefix="lwm2m-redis-")
    try:
        c = RedisCluster(d)
        if standalone:
            c.start_standalone()
        else:
            c.start()
        env = dict(os.environ, LWM2M_TEST_REDIS_URL=c.url(), LWM2M_TEST_REDIS_DIR=c.dir,
                   LWM2M_TEST_REDIS_STANDALONE="1" if standalone else "0",
                   LWM2M_TEST_REDIS_PORTS=",".join(str(p) for p in c.ports))
        rc = subprocess.run(cmd, env=env, timeout=300).returncode
    except AssertionError as e:
        print(f"FAIL redis cluster: {e}")
        rc = 1
    finally:
        procs.kill_children()
    if rc == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"redis cluster files kept in {d}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
