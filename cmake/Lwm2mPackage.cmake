# Packaging, included by the top-level CMakeLists.txt after src/ (so every layer made with
# lwm2m_add_library is known):
#   - lwm2m::lwm2m, an umbrella target linking every layer;
#   - with LWM2M_INSTALL: install rules for the generated version header, the CMake package
#     (lib/cmake/lwm2m: lwm2mConfig.cmake, lwm2mConfigVersion.cmake, lwm2mTargets.cmake) and
#     lib/pkgconfig/lwm2m.pc. Libraries and headers are installed by lwm2m_add_library itself.
include_guard(GLOBAL)

get_property(LWM2M_LAYERS GLOBAL PROPERTY LWM2M_LAYERS)

add_library(lwm2m_lwm2m INTERFACE)
add_library(lwm2m::lwm2m ALIAS lwm2m_lwm2m)
set_target_properties(lwm2m_lwm2m PROPERTIES EXPORT_NAME lwm2m)
foreach(layer IN LISTS LWM2M_LAYERS)
  target_link_libraries(lwm2m_lwm2m INTERFACE lwm2m_${layer})
endforeach()

if(NOT LWM2M_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)
set(LWM2M_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lwm2m)

install(TARGETS lwm2m_lwm2m EXPORT lwm2mTargets)
install(FILES ${PROJECT_BINARY_DIR}/include/lwm2m/version.hpp
              ${PROJECT_BINARY_DIR}/include/lwm2m/features.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lwm2m COMPONENT lwm2m_development)
install(EXPORT lwm2mTargets NAMESPACE lwm2m:: DESTINATION ${LWM2M_CMAKE_DIR}
        COMPONENT lwm2m_development)

# Before 1.0 a minor release may break the API: only the same MAJOR.MINOR is compatible.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(compat SameMinorVersion)
else()
  set(compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lwm2mConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${compat})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lwm2mConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lwm2mConfig.cmake INSTALL_DESTINATION ${LWM2M_CMAKE_DIR})
install(FILES ${PROJECT_BINARY_DIR}/lwm2mConfig.cmake ${PROJECT_BINARY_DIR}/lwm2mConfigVersion.cmake
        DESTINATION ${LWM2M_CMAKE_DIR} COMPONENT lwm2m_development)

# pkg-config: one lwm2m.pc for all layers, libraries listed so a static link resolves
# (upper layers first). A static build lists GnuTLS and expat in Requires (every consumer links
# them); a shared one in Requires.private.
set(LWM2M_PC_LIBS "")
set(reversed ${LWM2M_LAYERS})
list(REVERSE reversed)
foreach(layer IN LISTS reversed)
  string(APPEND LWM2M_PC_LIBS " -llwm2m_${layer}")
endforeach()
if(BUILD_SHARED_LIBS)
  set(LWM2M_PC_REQUIRES "")
  set(LWM2M_PC_REQUIRES_PRIVATE "gnutls >= 3.7, expat")
else()
  set(LWM2M_PC_REQUIRES "gnutls >= 3.7, expat")
  set(LWM2M_PC_REQUIRES_PRIVATE "")
endif()
# Relocatable: the prefix is found from the .pc file's own folder (cmake --install --prefix X).
file(RELATIVE_PATH LWM2M_PC_PREFIX_REL /lwm2m-prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /lwm2m-prefix)
string(REGEX REPLACE "/$" "" LWM2M_PC_PREFIX_REL "${LWM2M_PC_PREFIX_REL}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/lwm2m.pc.in ${PROJECT_BINARY_DIR}/lwm2m.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/lwm2m.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT lwm2m_development)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md
              ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT lwm2m_development)
