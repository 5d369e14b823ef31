#!/bin/sh
# Fails unless every object file of the static library $1 carries SanitizerCoverage (it calls
# __sanitizer_cov_8bit_counters_init, which -fsanitize=fuzzer[-no-link] adds to each module).
# Without it libFuzzer gets no feedback from the code under test (cmake/Lwm2mFuzz.cmake).
set -eu
lib=$1
objs=$(ar t "$lib" | sort -u | wc -l)
inst=$(nm -A "$lib" 2>/dev/null | grep ' U __sanitizer_cov_8bit_counters_init$' |
  sed 's/^[^:]*:\([^:]*\):.*/\1/' | sort -u | wc -l)
echo "$lib: $inst of $objs object files instrumented"
[ "$objs" -gt 0 ] && [ "$inst" -eq "$objs" ]
