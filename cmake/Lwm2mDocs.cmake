# The `docs` target: the API reference of include/lwm2m (and the generated version header) with
# Doxygen (Debian `doxygen`), from the `///` comments, into <build>/docs/api/html/index.html.
# Undocumented public API is reported as warnings (listed in <build>/docs/api/warnings.log and
# summarised at the end of the build step); only a Doxygen error fails the target.
include_guard(GLOBAL)
find_package(Doxygen QUIET)
if(NOT DOXYGEN_EXECUTABLE)
  message(STATUS "doxygen not found (Debian package doxygen): no `docs` target")
  return()
endif()
set(LWM2M_DOXYGEN_OUT ${PROJECT_BINARY_DIR}/docs/api)
set(LWM2M_DOXYGEN_INPUT "${PROJECT_SOURCE_DIR}/include/lwm2m ${PROJECT_BINARY_DIR}/include/lwm2m ${PROJECT_SOURCE_DIR}/docs/api-mainpage.md")
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${PROJECT_BINARY_DIR}/docs/Doxyfile @ONLY)
add_custom_target(docs
  COMMAND ${CMAKE_COMMAND} -E make_directory ${LWM2M_DOXYGEN_OUT}
  COMMAND ${DOXYGEN_EXECUTABLE} ${PROJECT_BINARY_DIR}/docs/Doxyfile
  COMMAND ${CMAKE_COMMAND} -DLOG=${LWM2M_DOXYGEN_OUT}/warnings.log
          -DINDEX=${LWM2M_DOXYGEN_OUT}/html/index.html -P ${PROJECT_SOURCE_DIR}/cmake/Lwm2mDocsReport.cmake
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "Doxygen API reference -> ${LWM2M_DOXYGEN_OUT}/html/index.html"
  VERBATIM)
