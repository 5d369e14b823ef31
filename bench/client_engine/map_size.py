#!/usr/bin/env python3
"""Sums the kept input sections of a linker map (-Wl,-Map; GNU ld or ld.lld) by static library
and object.

  map_size.py MAP [TOP] [--limit BYTES]

Counts .text*, .rodata*, .data* (incl. .data.rel.ro) and .gcc_except_table* input sections from
the "Linker script and memory map" part (sections removed by --gc-sections are listed before it
and are not counted). With -flto the libraries' code comes out of the LTO partitions
(*.ltrans.o) and is counted as one line (the program's own object is built without LTO).
.eh_frame is left out: the linker rewrites it, and it is not attributed per input file. Prints one line per library, the lwm2m total, then the TOP largest objects and
sections. With --limit, exits 1 when the liblwm2m_* total exceeds BYTES (issue #8 target).
"""
import collections
import re
import sys

SECTION = r"\.(?:text|rodata|data|gcc_except_table)\S*"


def main():
    args = [a for a in sys.argv[1:]]
    limit = None
    if "--limit" in args:
        i = args.index("--limit")
        limit = int(args[i + 1])
        del args[i:i + 2]
    path = args[0]
    top = int(args[1]) if len(args) > 1 else 0
    bylib = collections.Counter()
    byobj = collections.Counter()
    bysec = collections.Counter()
    in_map = False
    pending = None

    def add(sec, size, obj):
        if size == 0:
            return
        base = obj.split("/")[-1]
        m = re.match(r"(lib[^()]+\.a)\(([^)]+)\)", base)
        lib, o = (m.group(1), m.group(2)) if m else (base, base)
        if lib.endswith(".ltrans.o"):  # -flto: the libraries' code, optimised as one program
            lib = "liblwm2m_* (link-time optimised)"
        bylib[lib] += size
        byobj[lib + ":" + o] += size
        bysec[sec] += size
    one_line = re.compile(r"^ (" + SECTION + r")\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)")
    name_only = re.compile(r"^ (" + SECTION + r")\s*$")
    rest = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)")
    lld_in = re.compile(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S+?):\((" + SECTION +
                        r")\)\s*$")
    with open(path, errors="replace") as f:
        lld = f.readline().split()[:3] == ["VMA", "LMA", "Size"]
        for line in f:
            if lld:  # ld.lld: only kept sections are listed, one input section a line
                m = lld_in.match(line)
                if m:
                    sec, size, obj = m.group(3), int(m.group(1), 16), m.group(2)
                    add(sec, size, obj)
                continue
            if line.startswith("Linker script and memory map"):
                in_map = True
                continue
            if not in_map:
                continue
            m = name_only.match(line)
            if m:
                pending = m.group(1)
                continue
            sec = None
            m = one_line.match(line)
            if m:
                sec, size, obj = m.group(1), int(m.group(3), 16), m.group(4)
            elif pending:
                m = rest.match(line)
                if m:
                    sec, size, obj = pending, int(m.group(2), 16), m.group(3)
            pending = None
            if sec is not None:
                add(sec, size, obj)
    total = 0
    for lib, size in bylib.most_common():
        print(f"{lib:40s} {size:9d} bytes")
        if lib.startswith("liblwm2m_"):
            total += size
    print(f"{'lwm2m libraries total':40s} {total:9d} bytes ({total / 1024:.1f} KiB)")
    if top:
        print()
        for o, size in byobj.most_common(top):
            print(f"{size:9d} {o}")
        print()
        for s, size in bysec.most_common(top):
            print(f"{size:9d} {s[:160]}")
    if limit is not None and total > limit:
        print(f"FAIL: {total} bytes > limit {limit}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
