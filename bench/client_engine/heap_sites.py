#!/usr/bin/env python3
"""Where the lwm2m-client daemon's heap goes (issue #8): call sites of the live blocks.

  bench/client_engine/heap_sites.py BUILD_DIR [CLIENT_BUILD_DIR] [--depth N] [--top N]

Compiles heap_sites.c (an LD_PRELOAD allocation tracker) with gcc into a temporary directory,
runs daemon_heap.py with it, and at the daemon's second statistics line (one server, ten
observations) prints the blocks allocated since main() started and still alive, grouped by their
first N frames outside the allocator and the standard library (addr2line, inlined frames
included), then the freed blocks glibc's tcache holds (which mallinfo2 counts as in use) by the
site that allocated them. The tracker's backtraces add a little heap of their own (libgcc's
unwinder), so the daemon's own figures differ slightly from daemon_heap.py's. A diagnosis, not a
test.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = re.compile(r"^(operator new|malloc|calloc|realloc|aligned_alloc|std::|__gnu_cxx|void std::|"
                  r"fmt::|__libc|_dl|__)")


def parse(dump, kind):
    maps, bases, blocks = [], {}, []
    for line in open(dump):
        if line.startswith("M "):
            p = line[2:].split()
            if len(p) >= 6:
                a, b = (int(x, 16) for x in p[0].split("-"))
                if int(p[2], 16) == 0 and p[5] not in bases:
                    bases[p[5]] = a
                if "x" in p[1]:
                    maps.append((a, b, bases.get(p[5], a), p[5]))
        elif line.startswith(kind + " "):
            p = line.split()
            blocks.append((int(p[1]), [int(x, 16) for x in p[2:]]))
    return maps, blocks


def symbolize(maps, blocks):
    """address -> [(function, file:line)], innermost inlined frame first."""
    loc, by_file = {}, collections.defaultdict(set)
    for _, st in blocks:
        for x in st:
            for a, b, base, f in maps:
                if a <= x < b:
                    loc[x] = (f, x - base)
                    by_file[f].add(x - base)
                    break
    names = {}
    for f, offs in by_file.items():
        offs = sorted(offs)
        args = []
        for o in offs:
            args += [hex(o - 1), "0"]  # return address - 1; "0" separates the inline chains
        out = subprocess.run(["addr2line", "-f", "-C", "-i", "-e", f] + args,
                             capture_output=True, text=True).stdout.split("\n")
        pairs = [(out[i], out[i + 1]) for i in range(0, len(out) - 1, 2)]
        k = 0
        for o in offs:
            chain = []
            while k < len(pairs) and pairs[k] != ("??", "??:0"):
                fn, fl = pairs[k]
                fl = re.sub(r" \(discriminator.*", "", re.sub(r".*/(src|apps|include|bench)/",
                                                              r"\1/", fl))
                chain.append((fn, fl))
                k += 1
            k += 1
            names[(f, o)] = chain or [(os.path.basename(f) + "+" + hex(o), "??")]
    return {x: names[loc[x]] for x in loc}


def report(title, maps, blocks, depth, top):
    sym = symbolize(maps, blocks)
    groups, count, total = collections.Counter(), collections.Counter(), 0
    for size, st in blocks:
        total += size + 8  # usable size + the chunk header, as mallinfo2 counts
        frames = []
        for x in st:
            for fn, fl in sym.get(x, [("?", "?")]):
                if not frames and (SKIP.match(fn) or "include/c++" in fl or "include/tl/" in fl
                                   or fl.startswith("/usr/include")):
                    continue
                frames.append(f"{fn[:90]} @ {fl}")
                if len(frames) >= depth:
                    break
            if len(frames) >= depth:
                break
        key = " <- ".join(frames) or "? (allocated before the tracker saw a stack)"
        groups[key] += size + 8
        count[key] += 1
    print(f"{title}: {total / 1024:.1f} KiB in {len(blocks)} blocks")
    for key, b in groups.most_common(top):
        print(f"  {b:7d} B {count[key]:4d}x  {key}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("client_build", nargs="?")
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="lwm2m-heap-sites-")
    so = os.path.join(d, "heap_sites.so")
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", so,
                    os.path.join(HERE, "heap_sites.c"), "-ldl", "-pthread"], check=True)
    env = dict(os.environ, LD_PRELOAD=so, LIVE_TARGET="lwm2m-client",
               LIVE_OUT=os.path.join(d, "dump"))
    cmd = [sys.executable, os.path.join(HERE, "daemon_heap.py"), a.build]
    if a.client_build:
        cmd.append(a.client_build)
    subprocess.run(cmd, env=env, check=True)
    dump = os.path.join(d, "dump.2")
    for kind, title in (("A", "live blocks allocated since main()"),
                        ("T", "freed blocks in glibc's tcache (counted as in use by mallinfo2)")):
        maps, blocks = parse(dump, kind)
        report(title, maps, blocks, a.depth, a.top)


if __name__ == "__main__":
    main()
