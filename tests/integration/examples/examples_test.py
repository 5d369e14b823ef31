#!/usr/bin/env python3
"""Installs the build into a temporary prefix, then configures, builds and runs every example
project (examples/*) against that installed package, as a user of the package would. Also checks
the pkg-config file with a one-line compile, and the use as a sub-project (add_subdirectory, only
the libraries, without the CLI's, tests' or benchmarks' packages). Bounded: every command has a
timeout.

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
from procs import expect, kill_children, spawn  # noqa: E402


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
           "-DCMAKE_BUILD_TYPE=Release"]
    if a.generator:
        cfg += ["-G", a.generator]
    if a.cxx:
        cfg += [f"-DCMAKE_CXX_COMPILER={a.cxx}"]
    run(cfg)
    run(["cmake", "--build", out])
    return os.path.join(out, name)


def subproject(a):
    """lwm2m-cpp through add_subdirectory: only the libraries, no CLI/test/benchmark packages."""
    tmp = tempfile.mkdtemp(prefix="lwm2m-subproject-")
    try:
        sub = os.path.join(tmp, "build")
        cfg = ["cmake", "-S", os.path.join(os.path.dirname(os.path.abspath(__file__)), "subproject"), "-B", sub,
               f"-DLWM2M_SOURCE_DIR={a.source_dir}", "-DCMAKE_BUILD_TYPE=Release"]
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
