#!/usr/bin/env bash
# Fails when a sans-I/O core target touches I/O, threads, the clock, global randomness, the
# environment or stdout (docs/architecture.md §1). Only src/transport, src/http (edge layers) and
# apps/ may do these.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
core_dirs=()
for d in base coap dtls dm format client server bootstrap; do
  [ -d "src/$d" ] && core_dirs+=("src/$d")
done
[ -d include/lwm2m ] && core_dirs+=($(find include/lwm2m -mindepth 1 -maxdepth 1 -type d ! -name transport ! -name store ! -name http))
pattern='#include[[:space:]]*<(sys/socket\.h|netinet/|arpa/inet\.h|sys/epoll\.h|poll\.h|thread>|mutex>|condition_variable>|future>|iostream>|cstdio>|stdio\.h>)|::now[[:space:]]*\(|std::rand[[:space:]]*\(|[^_a-zA-Z.>]rand[[:space:]]*\(|srand[[:space:]]*\(|getenv[[:space:]]*\(|std::cout|std::cerr|[^a-z_]printf[[:space:]]*\(|puts[[:space:]]*\(|random_device|system_clock|steady_clock::now|time[[:space:]]*\(nullptr\)|gettimeofday|clock_gettime'
hits=$(grep -RInE "$pattern" "${core_dirs[@]}" --include='*.hpp' --include='*.cpp' --include='*.h' | grep -v 'purity-ok' || true)
if [ -n "$hits" ]; then
  echo "core purity violations (sans-I/O targets must not do I/O, threads, clocks, rand, getenv, printing):"
  echo "$hits"
  exit 1
fi
echo "core purity: OK (${core_dirs[*]})"
