# Build-speed knobs (figures in docs/performance.md, "CI cost").
#
# LWM2M_LINKER: lld (the default when `ld.lld` is installed and the compiler is GCC or Clang) or
#   default (the compiler's own choice, GNU ld). lld links one of the test programs with its debug
#   information in 0.4 s (0.6 s of CPU) where GNU ld takes 1.5 s (1.6 s of CPU); the project
#   links about 120 programs.
# LWM2M_DEBUG_INFO: full (what the build type gives, -g) or lines (-g1: line tables only, enough
#   for sanitizer reports, backtraces and profilers, not for inspecting variables in a debugger).
#   -g1 compiles 15-40% faster and links smaller objects; .ci/run uses it.
find_program(LWM2M_LLD_PROGRAM ld.lld)
set(lwm2m_default_linker default)
if(LWM2M_LLD_PROGRAM AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(lwm2m_default_linker lld)
endif()
set(LWM2M_LINKER ${lwm2m_default_linker} CACHE STRING "Linker: lld or default (GNU ld)")
set_property(CACHE LWM2M_LINKER PROPERTY STRINGS lld default)
if(LWM2M_LINKER STREQUAL "lld")
  if(NOT LWM2M_LLD_PROGRAM)
    message(FATAL_ERROR "LWM2M_LINKER=lld but ld.lld is not installed (Debian package lld)")
  endif()
  add_link_options(-fuse-ld=lld)
elseif(NOT LWM2M_LINKER STREQUAL "default")
  message(FATAL_ERROR "LWM2M_LINKER must be lld or default, not '${LWM2M_LINKER}'")
endif()

set(LWM2M_DEBUG_INFO full CACHE STRING "Debug information: full (the build type's) or lines (-g1)")
set_property(CACHE LWM2M_DEBUG_INFO PROPERTY STRINGS full lines)
if(LWM2M_DEBUG_INFO STREQUAL "lines")
  # After the build type's -g on the command line: the last -g level wins.
  add_compile_options(-g1)
elseif(NOT LWM2M_DEBUG_INFO STREQUAL "full")
  message(FATAL_ERROR "LWM2M_DEBUG_INFO must be full or lines, not '${LWM2M_DEBUG_INFO}'")
endif()

# LWM2M_UNITY_TESTS: each GoogleTest program compiles as one translation unit (CMake unity build)
# instead of one per test file. The test files share most of their headers and template
# instantiations (GoogleTest, the project's), so this is 3-4x less compile time for the tests
# (client_engine_lockstep_test under ASan: 65 s of CPU in 5 files, 18 s as one). Test files must
# then keep their file-local helpers distinct (a name defined twice in one program fails here).
option(LWM2M_UNITY_TESTS "Compile each test program as one translation unit" ON)

# LWM2M_UNITY_ALL: every target (libraries and programs too) compiles in unity batches of 8 files:
# about 2.5x less compile time for the libraries. Off by default so that the usual builds check
# that each source file includes what it uses; the asan-ubsan preset (CI's second build) sets it.
option(LWM2M_UNITY_ALL "Compile every target in unity batches" OFF)
if(LWM2M_UNITY_ALL)
  set(CMAKE_UNITY_BUILD ON)
endif()

# LWM2M_OPTIMIZE_TESTS: off (the default) compiles the test programs, their support library and
# the fuzz replay drivers at -O0 whatever the build type: the libraries under test keep the build
# type's optimisation, and test code compiles about 3x faster (client_objects_test as one unit:
# 36 s at -O2, 13 s at -O0). On: the build type's flags for the tests too.
option(LWM2M_OPTIMIZE_TESTS "Compile the test programs with the build type's optimisation" OFF)
function(lwm2m_test_code_options target)
  if(NOT LWM2M_OPTIMIZE_TESTS)
    target_compile_options(${target} PRIVATE -O0) # after the build type's -O2: the last -O wins
  endif()
endfunction()
