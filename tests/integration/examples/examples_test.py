#!/usr/bin/env python3
"""Installs the build into a temporary prefix, then configures, builds and runs every example
project (examples/*) against that installed package, as a user of the package would, and runs
minimal_client against embedded_server on 127.0.0.1. Also checks the pkg-config file with a
one-line compile, and the use as a sub-project (add_subdirectory, only the libraries, without the
CLI's, tests' or benchmarks' packages). Bounded: every command has a timeout.

  examples_test.py --build-dir BUILD --source-dir SRC --lwm2m BUILD/apps/lwm2m/lwm2m
                   [--generator Ninja] [--cxx g++]
"""
import argparse
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from procs import LineProc, expect, kill_children, spawn  # noqa: E402


def run(args, timeout=300, env=None):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise AssertionError(f"{args} exited {r.returncode}\nstdout: {r.stdout[-3000:]}\n"
                             f"stderr: {r.stderr[-3000:]}")
    return r


def build_example(a, prefix, tmp, name):
    src = os.path.join(a.source_dir, "examples", name)
    out = os.path.join(tmp, "build-" + name)
    cfg = ["cmake", "-S", src, "-B", out, f"-DCMAKE_PREFIX_PATH={prefix}",
           "-DCMAKE_BUILD_TYPE="]
    if a.generator:
        cfg += ["-G", a.generator]
    if a.cxx:
        cfg += [f"-DCMAKE_CXX_COMPILER={a.cxx}"]
    run(cfg)
    run(["cmake", "--build", out])
    return os.path.join(out, name)


def client_meets_server(tmp, server_exe, client_exe):
    """minimal_client registers with embedded_server on 127.0.0.1: over DTLS-PSK, stopped by
    SIGTERM (client first: the server must see its de-registration), then over NoSec with the
    server's --count 2 ending it by itself. Every wait is bounded."""
    key = os.urandom(16).hex()
    key_file = os.path.join(tmp, "psk.hex")
    with open(key_file, "w") as f:
        f.write(key + "\n")
    os.chmod(key_file, 0o600)
    ep = "example-client-psk"
    srv = LineProc([server_exe, "--listen", "127.0.0.1:0", "--psk-endpoint", ep, "--psk-identity",
                    "example-identity", "--psk-key-file", key_file])
    m = srv.wait_for(r"^listening on coaps://127\.0\.0\.1:(\d+)$", 10)
    expect(m, f"embedded_server: no 'listening' line:\n{srv.text()}")
    cli = LineProc([client_exe, "--server", f"coaps://127.0.0.1:{m.group(1)}", "--ep", ep,
                    "--psk-identity", "example-identity", "--psk-key-file", key_file])
    expect(srv.wait_for(rf"^registered {ep} \(lwm2m 1\.1, lifetime 300s\) from 127\.0\.0\.1:\d+$", 20),
           f"the server saw no registration:\nserver:\n{srv.text()}\nclient:\n{cli.text()}")
    expect(cli.wait_for(r"^registered with coaps://", 5), f"client:\n{cli.text()}")
    # The Read of /3/0 answered with the Device object's values the client set.
    read = srv.wait_for(rf"^read {ep}: 2\.05$", 10)
    expect(read, f"no Read /3/0 answer:\n{srv.text()}")
    start = srv.lines.index(read.string)
    for line in (r"^  /3/0/0 = lwm2m-cpp examples$", r"^  /3/0/1 = minimal_client$",
                 r"^  /3/0/2 = 0001$", r"^  /3/0/3 = 1\.0\.0$", r"^  /3/0/16 = U$"):
        expect(srv.wait_for(line, 5, start), f"Read /3/0 lacks {line}:\n{srv.text()}")
    # At least one notification of the custom object (a new temperature each second).
    n = srv.wait_for(rf"^notification {ep} #\d+:$", 10)
    expect(n, f"no notification:\n{srv.text()}")
    expect(srv.wait_for(r"^  /3303/0/5700 = 2[1-4](\.5)?$", 5, srv.lines.index(n.string)),
           f"the notification carries no temperature:\n{srv.text()}")
    # SIGTERM: the client de-registers and exits 0; the server saw it and exits 0 on SIGTERM.
    rc = cli.stop()
    expect(rc == 0, f"minimal_client exited {rc} on SIGTERM:\n{cli.text()}")
    expect(re.search(r"^deregistered$", cli.text(), re.M), f"client:\n{cli.text()}")
    expect(srv.wait_for(rf"^deregistered {ep} \(deregistered\)$", 10),
           f"the server saw no de-registration:\n{srv.text()}")
    rc = srv.stop()
    expect(rc == 0, f"embedded_server exited {rc} on SIGTERM:\n{srv.text()}")
    expect(srv.wait_for(r"^stopped after \d+ notifications$", 2), f"server:\n{srv.text()}")
    for text in (srv.text(), cli.text()):
        expect(key not in text and key.upper() not in text, "the PSK was printed")

    # NoSec, and the server's own end: --count 2 stops it after two notifications, exit 0.
    srv = LineProc([server_exe, "--listen", "127.0.0.1:0", "--count", "2"])
    m = srv.wait_for(r"^listening on coap://127\.0\.0\.1:(\d+)$", 10)
    expect(m, f"embedded_server (NoSec): no 'listening' line:\n{srv.text()}")
    cli = LineProc([client_exe, "--server", f"coap://127.0.0.1:{m.group(1)}", "--ep", "example-client"])
    expect(srv.wait_for(r"^registered example-client \(lwm2m 1\.1", 20), f"server:\n{srv.text()}")
    try:
        rc = srv.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    expect(rc == 0, f"embedded_server --count 2 exited {rc}:\n{srv.text()}")
    expect(srv.wait_for(r"^stopped after 2 notifications$", 2), f"server:\n{srv.text()}")
    expect(len([s for s in srv.lines if s.startswith("notification example-client #")]) == 2,
           f"server:\n{srv.text()}")
    rc = cli.stop()  # its De-register gets no answer now: bounded by the client's 5 s wait
    expect(rc == 0, f"minimal_client exited {rc}:\n{cli.text()}")


def subproject(a):
    """lwm2m-cpp through add_subdirectory: only the libraries, no CLI/test/benchmark packages."""
    tmp = tempfile.mkdtemp(prefix="lwm2m-subproject-")
    try:
        sub = os.path.join(tmp, "build")
        cfg = ["cmake", "-S", os.path.join(os.path.dirname(os.path.abspath(__file__)), "subproject"), "-B", sub,
               f"-DLWM2M_SOURCE_DIR={a.source_dir}", "-DCMAKE_BUILD_TYPE="]
        for pkg in ("CLI11", "spdlog", "fmt", "GTest", "benchmark"):
            cfg.append(f"-DCMAKE_DISABLE_FIND_PACKAGE_{pkg}=ON")
        if a.generator:
            cfg += ["-G", a.generator]
        if a.cxx:
            cfg += [f"-DCMAKE_CXX_COMPILER={a.cxx}"]
        run(cfg)
        run(["cmake", "--build", sub, "--target", "decode_payload"], timeout=1500)
        r = run([os.path.join(sub, "decode_payload")], timeout=30)
        expect(r.stdout.count("/3/0/9 = 100 (Integer)") == 2, f"sub-project build:\n{r.stdout}")
        print("PASS subproject_build")
    except Exception as e:  # noqa: BLE001
        print(f"FAIL subproject_build: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--lwm2m", required=True)
    ap.add_argument("--generator", default="")
    ap.add_argument("--cxx", default="")
    ap.add_argument("--case", choices=["installed", "subproject"], default="installed")
    a = ap.parse_args()
    if a.case == "subproject":
        return subproject(a)
    tmp = tempfile.mkdtemp(prefix="lwm2m-examples-")
    try:
        prefix = os.path.join(tmp, "prefix")
        run(["cmake", "--install", a.build_dir, "--prefix", prefix])
        for f in ("include/lwm2m/version.hpp", "include/lwm2m/format/codec.hpp",
                  "lib/cmake/lwm2m/lwm2mConfig.cmake", "lib/cmake/lwm2m/lwm2mConfigVersion.cmake",
                  "lib/pkgconfig/lwm2m.pc", "bin/lwm2m"):
            expect(os.path.exists(os.path.join(prefix, f)), f"install lacks {f}")
        # The installed program reports the project version.
        r = run([os.path.join(prefix, "bin", "lwm2m"), "--version"])
        expect(re.fullmatch(r"lwm2m \d+\.\d+\.\d+\n", r.stdout), f"--version: {r.stdout!r}")

        # decode_payload: both samples decode to the same three Device resources.
        exe = build_example(a, prefix, tmp, "decode_payload")
        r = run([exe], timeout=30)
        for fmt in ("tlv", "senml+json"):
            expect(fmt in r.stdout, f"decode_payload printed no {fmt} section:\n{r.stdout}")
        for line in ("/3/0/0 = Open Mobile Alliance (String)", "/3/0/1 = Lightweight M2M Client (String)",
                     "/3/0/9 = 100 (Integer)"):
            expect(r.stdout.count(line) == 2, f"decode_payload: '{line}' not twice:\n{r.stdout}")

        # coaps_psk_get, in memory, then over UDP against `lwm2m coap serve`.
        exe = build_example(a, prefix, tmp, "coaps_psk_get")
        r = run([exe], timeout=30)
        expect("128-byte identity and a 64-byte key" in r.stdout and "2.05 Hello over DTLS-PSK" in r.stdout,
               f"coaps_psk_get (in memory):\n{r.stdout}")
        identity = "".join(chr(ord("a") + i % 26) for i in range(128))
        key = os.urandom(32).hex()  # 64 printable bytes
        id_file, key_file = os.path.join(tmp, "id"), os.path.join(tmp, "key")
        with open(id_file, "w") as f:
            f.write(identity)
        with open(key_file, "w") as f:
            f.write(key)
        os.chmod(key_file, 0o600)
        p = spawn([a.lwm2m, "coap", "serve", "--listen", "127.0.0.1:0", "--psk-identity", identity,
                   "--psk-key-file", key_file], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([p.stdout], [], [], 10)
        expect(ready, "lwm2m coap serve printed nothing within 10 s")
        m = re.match(r"listening on (\S+)$", p.stdout.readline().strip())
        expect(m, "no 'listening on' line")
        r = run([exe, m.group(1), "/hello", id_file, key_file], timeout=30)
        expect(r.stdout.startswith("2.05 "), f"coaps_psk_get over UDP: {r.stdout!r}")
        expect(key not in r.stdout + r.stderr, "the key was printed")

        # minimal_client and embedded_server talk to each other.
        server_exe = build_example(a, prefix, tmp, "embedded_server")
        client_exe = build_example(a, prefix, tmp, "minimal_client")
        client_meets_server(tmp, server_exe, client_exe)

        # pkg-config: one compile and link of decode_payload with the flags of lwm2m.pc.
        if shutil.which("pkg-config"):
            env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
            flags = run(["pkg-config", "--cflags", "--libs", "lwm2m"], env=env).stdout.split()
            exe = os.path.join(tmp, "decode_pc")
            run([a.cxx or "g++", "-std=c++20", os.path.join(a.source_dir, "examples", "decode_payload", "main.cpp"),
                 *flags, "-o", exe])
            r = run([exe], timeout=30)
            expect("/3/0/9 = 100 (Integer)" in r.stdout, f"pkg-config build:\n{r.stdout}")
        print("PASS examples_installed")
    except Exception as e:  # noqa: BLE001
        print(f"FAIL examples_installed: {e}")
        return 1
    finally:
        kill_children()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
