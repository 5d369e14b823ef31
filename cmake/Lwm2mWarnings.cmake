# Warning flags shared by every project target (not by third-party code).
add_library(lwm2m_warnings INTERFACE)
target_compile_options(lwm2m_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(LWM2M_WERROR)
  target_compile_options(lwm2m_warnings INTERFACE -Werror)
endif()
