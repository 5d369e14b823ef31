#!/usr/bin/env bash
# Size of a minimal LwM2M client (register + device management + DTLS-PSK): builds
# bench/client_engine/minimal_client.cpp with -Os, function/data sections and --gc-sections in
# build/size, then reports `size` of the executable and of each lwm2m library's share.
# GnuTLS, expat and the C++ runtime are shared libraries: not in the figures.
#   bench/client_engine/size.sh            (from the repository root; uses ccache when set up)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build/size"
flags="-Os -ffunction-sections -fdata-sections"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel \
  -DCMAKE_CXX_FLAGS_MINSIZEREL="$flags -DNDEBUG" -DCMAKE_C_FLAGS_MINSIZEREL="$flags -DNDEBUG" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--gc-sections" >/dev/null
cmake --build "$build" --target lwm2m_minimal_client -j2 >/dev/null
exe="$build/bench/client_engine/lwm2m_minimal_client"
strip -o "$exe.stripped" "$exe"
echo "== minimal client (x86-64, -Os, --gc-sections; GnuTLS/libstdc++ shared, not counted)"
size "$exe.stripped"
echo
echo "== what each static library contributes (linker map, text+data of kept sections)"
g++ -Os -Wl,--gc-sections -Wl,-Map,"$build/minimal.map" -o "$build/minimal.tmp" \
  "$build/bench/client_engine/CMakeFiles/lwm2m_minimal_client.dir/minimal_client.cpp.o" \
  "$build"/src/client/liblwm2m_client.a "$build"/src/transport/liblwm2m_transport.a \
  "$build"/src/format/liblwm2m_format.a "$build"/src/dtls/liblwm2m_dtls.a \
  "$build"/src/coap/liblwm2m_coap.a "$build"/src/dm/liblwm2m_dm.a \
  "$build"/src/base/liblwm2m_base.a -lgnutls -lexpat 2>/dev/null || true
if [ -f "$build/minimal.map" ]; then
  awk '/^ \.(text|data|rodata)/ && NF>=4 && $4 ~ /liblwm2m_/ { n=split($4,p,"/"); lib=p[n]; sub(/\(.*/,"",lib); sz[lib]+=strtonum($3) }
       /^ \.(text|data|rodata)/ && NF==1 { pending=1; next }
       pending && NF>=3 && $3 ~ /liblwm2m_/ { n=split($3,p,"/"); lib=p[n]; sub(/\(.*/,"",lib); sz[lib]+=strtonum($2); pending=0; next }
       { pending=0 }
       END { for (l in sz) printf "%-28s %8d bytes\n", l, sz[l] }' "$build/minimal.map" | sort -k2 -n -r
fi
