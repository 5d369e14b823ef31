# lwm2m_add_library(<layer> SOURCES ... DEPS ...)
#   One static library target `lwm2m_<layer>` per layer; public headers in include/lwm2m/<layer>.
function(lwm2m_add_library layer)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(lwm2m_${layer} STATIC ${A_SOURCES})
  add_library(lwm2m::${layer} ALIAS lwm2m_${layer})
  target_include_directories(lwm2m_${layer}
    PUBLIC  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(lwm2m_${layer} PUBLIC ${A_DEPS} PRIVATE lwm2m_warnings ${A_PRIVATE_DEPS})
endfunction()

# lwm2m_add_test(<name> SOURCES ... LIBS ... LABELS ...)
#   A GoogleTest executable registered with ctest under the given labels.
function(lwm2m_add_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} lwm2m_test_support GTest::gtest_main lwm2m_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT})
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
