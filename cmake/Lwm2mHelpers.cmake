# lwm2m_add_library(<layer> SOURCES ... DEPS ... PRIVATE_DEPS ...)
#   One library target `lwm2m_<layer>` per layer (static, or shared with BUILD_SHARED_LIBS=ON),
#   alias `lwm2m::<layer>`; public headers in include/lwm2m/<layer>. When LWM2M_INSTALL is on,
#   the library and its headers are installed and exported as `lwm2m::<layer>` (package
#   `lwm2m`, cmake/lwm2mConfig.cmake.in), so a new layer is packaged without further edits.
#   PRIVATE_DEPS must be targets the package config recreates (PkgConfig::GNUTLS, EXPAT::EXPAT):
#   a static library's consumers link them too.
function(lwm2m_add_library layer)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(lwm2m_${layer} ${A_SOURCES})
  add_library(lwm2m::${layer} ALIAS lwm2m_${layer})
  set_target_properties(lwm2m_${layer} PROPERTIES
    EXPORT_NAME ${layer}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${LWM2M_SOVERSION})
  target_compile_features(lwm2m_${layer} PUBLIC cxx_std_20)
  target_include_directories(lwm2m_${layer}
    PUBLIC  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
            $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include> # generated lwm2m/version.hpp
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(lwm2m_${layer} PUBLIC ${A_DEPS}
                        PRIVATE $<BUILD_INTERFACE:lwm2m_warnings> ${A_PRIVATE_DEPS})
  set_property(GLOBAL APPEND PROPERTY LWM2M_LAYERS ${layer})
  if(LWM2M_INSTALL)
    install(TARGETS lwm2m_${layer} EXPORT lwm2mTargets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lwm2m_development
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lwm2m_runtime
              NAMELINK_COMPONENT lwm2m_development
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT lwm2m_runtime)
    if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/include/lwm2m/${layer})
      install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lwm2m/${layer}
              DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lwm2m COMPONENT lwm2m_development)
    endif()
  endif()
endfunction()

# lwm2m_add_test(<name> SOURCES ... LIBS ... LABELS ...)
#   A GoogleTest executable registered with ctest under the given labels.
function(lwm2m_add_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} lwm2m_test_support GTest::gtest_main lwm2m_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  lwm2m_test_code_options(${name})
  list(LENGTH A_SOURCES n_sources)
  if(LWM2M_UNITY_TESTS AND n_sources GREATER 1)
    set_target_properties(${name} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 0)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT})
endfunction()

# lwm2m_add_sim_long_test(<name> PROGRAM <test program> SEEDS <n> [TIMEOUT <s>])
#   The `sim-long` run of a simulation program (label sim-long, excluded from the default run):
#   the same program as its `sim` entry with LWM2M_SIM_SEEDS=<n> (no second compile).
function(lwm2m_add_sim_long_test name)
  cmake_parse_arguments(A "" "PROGRAM;SEEDS;TIMEOUT" "" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 1800)
  endif()
  add_test(NAME ${name} COMMAND ${A_PROGRAM})
  set_tests_properties(${name} PROPERTIES LABELS sim-long TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT LWM2M_SIM_SEEDS=${A_SEEDS})
endfunction()

# lwm2m_add_subdirs(<dir>): add every immediate sub-folder of <dir> that has a CMakeLists.txt.
# Lets each layer own its own CMakeLists.txt without editing shared files.
function(lwm2m_add_subdirs)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child IN LISTS children)
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()

# lwm2m_install_program(<target>): installs a program into bin/ (component lwm2m_runtime) when
# LWM2M_INSTALL is on, with an RPATH to the libraries next to it (BUILD_SHARED_LIBS: lib/ relative
# to bin/).
function(lwm2m_install_program target)
  if(LWM2M_INSTALL)
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
    install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT lwm2m_runtime)
  endif()
endfunction()
