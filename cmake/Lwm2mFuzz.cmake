# LWM2M_FUZZ (the `fuzz` preset, clang 14): SanitizerCoverage for everything we compile.
#
# libFuzzer steers by the coverage of the code under test. `-fsanitize=fuzzer` on the harness
# alone instruments only the harness, so the liblwm2m_*.a libraries it calls gave libFuzzer no
# edge/compare feedback. `-fsanitize=fuzzer-no-link` adds the same instrumentation
# (inline 8-bit counters, PC table, compare tracing) without linking libFuzzer's main, so it is
# safe for libraries and for the non-fuzzer executables of the preset (the sanitizer runtime of
# LWM2M_SANITIZE provides the callbacks). System libraries (GnuTLS, expat) stay uninstrumented.
if(LWM2M_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LWM2M_FUZZ needs clang (libFuzzer): use the `fuzz` preset")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
