"""Process and network helpers shared by the Python test scripts (coap_interop.py,
coaps_interop.py, cli_test.py): child processes in their own session, killed on exit; bounded
waits; free UDP ports; CoAP ping; npm packages installed into the build tree on first use; the
4096-byte /large reference body; a minimal CoAP message encoder/decoder (RFC 7252 §3) for tests
that craft datagrams themselves.

Import with:
  sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), <up>, "support"))
"""
import fcntl
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

CHILDREN = []


def large_reference() -> bytes:
    # Mirrors apps/lwm2m/demo_resources.cpp large_body().
    s = ""
    i = 0
    while len(s) < 4096:
        s += "%04d abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n" % i
        i += 1
    return s[:4096].encode()


def spawn(args, service=False, **kw):
    """Starts a process in its own session, stopped by kill_children(). `service`: a process
    others depend on (a Redis node), stopped after every other one."""
    p = subprocess.Popen(args, start_new_session=True, **kw)
    p.lwm2m_service = service
    CHILDREN.append(p)
    return p


def kill_children():
    """Stops every spawned process, the services last (lwm2m-server nodes before the Redis nodes
    they use, also a Redis node restarted after them). The other order left servers running on a
    dying cluster, reconnecting to its ports, where another test's Redis could start."""
    for p in sorted(reversed(CHILDREN), key=lambda c: getattr(c, "lwm2m_service", False)):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=3)
    CHILDREN.clear()


def run(args, timeout=20, check_rc=None):
    r = subprocess.run(args, capture_output=True, timeout=timeout)
    if check_rc is not None and r.returncode != check_rc:
        raise AssertionError(f"{args} exited {r.returncode}, wanted {check_rc}\n"
                             f"stdout: {r.stdout[-2000:]!r}\nstderr: {r.stderr[-2000:]!r}")
    return r


def npm_install(npm_dir, package, timeout=240):
    """Installs an npm package (e.g. "lwm2m-node-lib@1") into npm_dir/node_modules on first use
    and returns that node_modules directory (for NODE_PATH). Tests sharing npm_dir may run in
    parallel: an flock on npm_dir/.install-lock serialises their installs. Raises AssertionError
    (the test FAILS, never skips) when npm is missing or the install fails."""
    at = package.rfind("@")
    name, version = (package[:at], package[at + 1:]) if at > 0 else (package, "")
    modules = os.path.join(npm_dir, "node_modules")
    mod = os.path.join(modules, name)
    os.makedirs(npm_dir, exist_ok=True)

    def installed():
        # The top-level copy, in the requested version ("1" matches 1.x.y; another package's
        # dependency may have put a different version there first).
        try:
            with open(os.path.join(mod, "package.json")) as f:
                v = json.load(f).get("version", "")
        except (OSError, ValueError):
            return False
        return not version or v == version or v.startswith(version + ".")

    with open(os.path.join(npm_dir, ".install-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed():
            expect(shutil.which("npm") is not None, "npm is not installed (scripts/install-deps)")
            expect(shutil.which("node") is not None, "node is not installed (scripts/install-deps)")
            r = run(["npm", "install", "--no-audit", "--no-fund", "--prefix", npm_dir, package],
                    timeout=timeout)
            expect(r.returncode == 0 and installed(),
                   f"cannot install {package} from npm (network?): {r.stderr[-500:]!r}")
    return modules


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


class LineProc:
    """A child process (spawn(): own session, killed by kill_children()) whose stdout is read line
    by line on a thread, so that a test can wait, bounded, for a line matching a pattern."""

    def __init__(self, args, **kw):
        self.proc = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", **kw)
        self.lines = []
        self.eof = False
        self._queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)  # end of output

    def _drain(self, timeout):
        """Moves one line to self.lines (waiting at most `timeout`); False when none came."""
        if self.eof:
            return False
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            return False
        if line is None:
            self.eof = True
            return False
        self.lines.append(line)
        return True

    def wait_for(self, pattern, timeout=10.0, start=0):
        """The first match of `pattern` (re.search) in the lines from index `start` on, waiting at
        most `timeout` seconds for more output; None when none came (or the output ended)."""
        end = time.time() + timeout
        i = start
        while True:
            while i < len(self.lines):
                m = re.search(pattern, self.lines[i])
                if m:
                    return m
                i += 1
            left = end - time.time()
            if left <= 0 or (not self._drain(min(left, 0.2)) and self.eof):
                return None

    def text(self):
        """Every line read so far (after draining what is already available)."""
        while self._drain(0):
            pass
        return "\n".join(self.lines)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Sends `sig` and returns the exit code (bounded wait); the rest of the output is read."""
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        end = time.time() + 2
        while time.time() < end and self._drain(0.1):
            pass
        return rc


class OutErrLines:
    """A child process (spawn()) whose stdout and stderr are collected apart, line by line, on
    threads (`out`, `err`: decoded lines with their newlines), so that a test can wait, bounded,
    for a stdout line and still parse stdout alone afterwards (e.g. a JSON summary)."""

    def __init__(self, args, **kw):
        self.proc = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        self.out, self.err = [], []
        for f, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(f, into), daemon=True).start()

    @staticmethod
    def _pump(f, into):
        for line in f:
            into.append(line.decode(errors="replace"))

    def wait_line(self, prefix, timeout):
        """True once a stdout line starts with `prefix` (at most `timeout` seconds, less when
        the process ends first)."""
        end = time.time() + timeout
        while time.time() < end:
            if any(x.startswith(prefix) for x in self.out):
                return True
            if self.proc.poll() is not None:
                time.sleep(0.2)
                return any(x.startswith(prefix) for x in self.out)
            time.sleep(0.05)
        return False


def free_udp_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_udp_port_pair(host="127.0.0.1"):
    """A UDP port P with P+1 free too (libcoap's coap-server takes P for coap://, P+1 for
    coaps://): a free P alone lets another process hold P+1 and the server fail to start."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        p = free_udp_port(host)
        if p >= 65535:
            continue
        try:
            with socket.socket(fam, socket.SOCK_DGRAM) as s:
                s.bind((host, p + 1))
            return p
        except OSError:
            continue
    raise AssertionError("no free UDP port pair")


def coap_ping(host, port, timeout=5.0):
    """Waits until a CoAP endpoint answers a CoAP ping (empty CON -> RST, RFC 7252 §4.3)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(0.1)
        mid = 0x1234
        while time.monotonic() < deadline:
            s.sendto(bytes([0x40, 0x00, mid >> 8, mid & 0xFF]), (host, port))
            try:
                data, _ = s.recvfrom(64)
                if len(data) >= 4 and (data[0] >> 4) & 0x3 == 3 and data[2:4] == bytes([mid >> 8, mid & 0xFF]):
                    return
            except (socket.timeout, ConnectionRefusedError):
                pass
            mid += 1
    raise AssertionError(f"no CoAP ping answer from {host}:{port} within {timeout} s")


# CoAP message types and a few codes/options (RFC 7252 §3, §12.1, §12.2; RFC 9175 Echo).
CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST, PUT = 0x01, 0x02, 0x03
OPT_URI_PATH, OPT_CONTENT_FORMAT, OPT_BLOCK2, OPT_BLOCK1, OPT_SIZE1, OPT_ECHO = 11, 12, 23, 27, 60, 252


def coap_code(c):
    """0x45 -> "2.05"."""
    return f"{c >> 5}.{c & 0x1F:02d}"


def _ext(v):
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, (v - 269).to_bytes(2, "big")


def coap_encode(mtype, code, mid, token=b"", options=(), payload=b""):
    """options: iterable of (number, bytes), any order (sorted stably here); no registry checks,
    so a test can send what a non-conformant peer sends."""
    out = bytearray([0x40 | (mtype << 4) | len(token), code, mid >> 8, mid & 0xFF]) + token
    prev = 0
    for num, val in sorted(options, key=lambda o: o[0]):
        dn, dx = _ext(num - prev)
        ln, lx = _ext(len(val))
        out += bytes([(dn << 4) | ln]) + dx + lx + val
        prev = num
    if payload:
        out += b"\xff" + payload
    return bytes(out)


def coap_decode(data):
    """-> dict(type, code, mid, token, options=[(number, bytes)], payload) or None."""
    if len(data) < 4 or data[0] >> 6 != 1:
        return None
    tkl = data[0] & 0x0F
    if tkl > 8 or len(data) < 4 + tkl:
        return None
    m = {"type": (data[0] >> 4) & 3, "code": data[1], "mid": (data[2] << 8) | data[3],
         "token": data[4:4 + tkl], "options": [], "payload": b""}
    i, num = 4 + tkl, 0
    while i < len(data):
        if data[i] == 0xFF:
            m["payload"] = data[i + 1:]
            break
        d, ln = data[i] >> 4, data[i] & 0x0F
        i += 1
        vals = []
        for nib in (d, ln):
            if nib == 13:
                vals.append(data[i] + 13)
                i += 1
            elif nib == 14:
                vals.append(int.from_bytes(data[i:i + 2], "big") + 269)
                i += 2
            elif nib == 15:
                return None
            else:
                vals.append(nib)
        num += vals[0]
        m["options"].append((num, data[i:i + vals[1]]))
        i += vals[1]
    return m


def coap_option(m, number):
    """First value of an option in a decoded message, or None."""
    for n, v in m["options"]:
        if n == number:
            return v
    return None


def coap_uint(v):
    return int.from_bytes(v, "big") if v is not None else None


def run_case_main(parser, cases, tmp_prefix):
    """main() of the integration scripts: adds --case, runs that case with the parsed arguments and
    a fresh temporary folder, prints "PASS <case>" or "FAIL <case>: why" (ctest matches "FAIL "),
    and always kills the processes the case spawned. The folder is removed after a pass and kept
    after a failure (logs, state). Returns the exit status."""
    parser.add_argument("--case", required=True, choices=sorted(cases))
    a = parser.parse_args()
    d = tempfile.mkdtemp(prefix=tmp_prefix)
    try:
        cases[a.case](a, d)
        print(f"PASS {a.case}")
        kill_children()
        shutil.rmtree(d, ignore_errors=True)
        return 0
    except AssertionError as e:
        print(f"FAIL {a.case}: {e}")
        return 1
    except Exception as e:  # noqa: BLE001 - any error fails the case
        print(f"FAIL {a.case}: {type(e).__name__}: {e}")
        return 1
    finally:
        kill_children()
