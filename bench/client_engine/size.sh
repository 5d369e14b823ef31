#!/usr/bin/env bash
# Size of a minimal LwM2M client (register + device management + DTLS-PSK): builds
# bench/client_engine/minimal_client.cpp with -Os, function/data sections and --gc-sections in
# build/size (or $SIZE_BUILD), then reports `size` of the stripped executable and what each lwm2m
# library contributes (bench/client_engine/map_size.py over the linker map). GnuTLS, expat and
# the C++ runtime are shared libraries: not in the figures.
#
#   bench/client_engine/size.sh                 the device configuration (issue #8):
#                                               LWM2M_FORMATS=senml-cbor, LWM2M_DM_TEXTS=OFF,
#                                               -fno-exceptions -fno-rtti, link-time optimisation
#   bench/client_engine/size.sh full            everything built in (the defaults), exceptions
#                                               and RTTI on, no LTO
#   bench/client_engine/size.sh -DOPTION=...    the device configuration plus CMake options
#   SIZE_LTO=0 bench/client_engine/size.sh      without LTO: the figures per library and object
#
# GNU ld (LWM2M_LINKER=default): its map is what map_size.py reads best. Uses ccache when /work-style ccache variables are set. Exit status 0; SIZE_LIMIT=<bytes> makes
# it fail when the lwm2m libraries' share is larger (a check for CI).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="${SIZE_BUILD:-$root/build/size}"
mkdir -p "$build"
build=$(cd "$build" && pwd) # absolute: the map path is also used by CMake's compiler checks
flags="-Os -ffunction-sections -fdata-sections"
# The libraries throw nowhere a device needs (base/throw.hpp) and use no RTTI.
cxx_flags="-fno-exceptions -fno-rtti"
lto="-flto=${SIZE_JOBS:-2}"
[ "${SIZE_LTO:-1}" = 0 ] && lto=""
device=(-DLWM2M_FORMATS=senml-cbor -DLWM2M_DM_TEXTS=OFF)
if [ "${1:-}" = full ]; then
  shift
  device=(-DLWM2M_FORMATS="tlv;senml-json;senml-cbor;lwm2m-json;lwm2m-cbor" -DLWM2M_DM_TEXTS=ON)
  cxx_flags=""
  lto=""
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel \
  -DCMAKE_CXX_FLAGS_MINSIZEREL="$flags $cxx_flags $lto -DNDEBUG" \
  -DCMAKE_C_FLAGS_MINSIZEREL="$flags -DNDEBUG" \
  -DCMAKE_EXE_LINKER_FLAGS="$lto -Wl,--gc-sections -Wl,-Map,$build/minimal.map" \
  -DLWM2M_BUILD_TESTS=OFF -DLWM2M_BUILD_APPS=OFF -DLWM2M_WEB_UI=OFF -DLWM2M_DOCS=OFF \
  -DLWM2M_BUILD_BENCH=ON -DLWM2M_LINKER=default "${device[@]}" "$@" >/dev/null
cmake --build "$build" --target lwm2m_minimal_client -j"${SIZE_JOBS:-2}" >/dev/null
exe="$build/bench/client_engine/lwm2m_minimal_client"
strip -o "$exe.stripped" "$exe"
echo "== minimal client (x86-64, -Os, --gc-sections; GnuTLS/libstdc++ shared, not counted)"
echo "C++ flags: $flags $cxx_flags $lto"
grep -E '^LWM2M_(FORMATS|DM_TEXTS|POSITION)|^CMAKE_POSITION_INDEPENDENT_CODE' "$build/CMakeCache.txt" || true
size "$exe.stripped"
echo
echo "== what each static library contributes (linker map: .text, .rodata, .data, .gcc_except_table of kept sections)"
python3 "$root/bench/client_engine/map_size.py" "$build/minimal.map" "${SIZE_TOP:-0}" \
  ${SIZE_LIMIT:+--limit "$SIZE_LIMIT"}
