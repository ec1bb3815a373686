# cpack-options.cmake: per-generator choices, read by cpack at packaging time
# (CPACK_PROJECT_CONFIG_FILE). Debian (bookworm) units live in
# /lib/systemd/system, RPM distributions' in /usr/lib/systemd/system.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_COMPONENTS_ALL agent deb)
elseif(CPACK_GENERATOR STREQUAL "RPM")
  set(CPACK_COMPONENTS_ALL agent rpm)
endif()
