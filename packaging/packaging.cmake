# packaging.cmake: install rules and CPack configuration of the node package.
# From the build dir: `cpack -G DEB` and `cpack -G RPM`.
#
# Both packages come from one set of install rules split into components:
# "agent" (everything shared), "deb" and "rpm" (what differs: the systemd unit
# directory, Debian's changelog and lintian overrides, the RPM preset).
# packaging/cpack-options.cmake picks the components per generator.

include(GNUInstallDirs)

set(KC_PKG_SRC ${CMAKE_SOURCE_DIR}/packaging)
set(KC_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
set(KC_DEB_VERSION ${PROJECT_VERSION}-1)

# Maintainer scripts: the templates get the shared shell helpers pasted in
# (a maintainer script must be self-contained). configure_file keeps the
# templates' modes, so the DEB scripts stay executable.
file(READ ${KC_PKG_SRC}/scripts/common.sh KC_SCRIPT_COMMON)
foreach(script deb/postinst deb/prerm deb/postrm rpm/post.sh rpm/preun.sh rpm/postun.sh)
  configure_file(${KC_PKG_SRC}/${script}.in ${KC_PKG_OUT}/${script} @ONLY)
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${KC_PKG_SRC}/scripts/common.sh)
configure_file(${KC_PKG_SRC}/deb/conffiles ${KC_PKG_OUT}/deb/conffiles COPYONLY)

# Compressed docs, byte-reproducible (gzip -n: no name, no time stamp).
# The manual pages, as OpenBSD's daemons ship them: the program in section 8,
# its configuration file in section 5.
set(KC_MAN_PAGES kubelet-checkpoint.8 kubelet-checkpoint-config.yaml.5)
foreach(page ${KC_MAN_PAGES})
  configure_file(${KC_PKG_SRC}/${page} ${KC_PKG_OUT}/${page} COPYONLY)
endforeach()
configure_file(${KC_PKG_SRC}/changelog.in ${KC_PKG_OUT}/changelog.Debian @ONLY)
find_program(GZIP_EXECUTABLE gzip REQUIRED)
foreach(doc ${KC_MAN_PAGES} changelog.Debian)
  add_custom_command(OUTPUT ${KC_PKG_OUT}/${doc}.gz
    COMMAND ${GZIP_EXECUTABLE} -9n -c ${KC_PKG_OUT}/${doc} > ${KC_PKG_OUT}/${doc}.gz
    DEPENDS ${KC_PKG_OUT}/${doc} VERBATIM)
  list(APPEND KC_PKG_DOCS ${KC_PKG_OUT}/${doc}.gz)
endforeach()
add_custom_target(package-docs ALL DEPENDS ${KC_PKG_DOCS})

set(KC_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/kubelet-checkpoint)
install(TARGETS kubelet-checkpoint RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
# cpack (CPACK_STRIP_FILES) and `cmake --install --strip` strip the binary;
# drop the compiler's .comment too, as dh_strip does.
install(CODE "if(CMAKE_INSTALL_DO_STRIP)
  execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --remove-section=.comment
    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/kubelet-checkpoint\"
    COMMAND_ERROR_IS_FATAL ANY)
endif()" COMPONENT agent)
# Packaged daemons are linked with full RELRO, as Debian's build flags do.
target_link_options(kubelet-checkpoint PRIVATE LINKER:-z,relro LINKER:-z,now)
install(FILES ${KC_PKG_OUT}/kubelet-checkpoint.8.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT agent)
install(FILES ${KC_PKG_OUT}/kubelet-checkpoint-config.yaml.5.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5 COMPONENT agent)
install(FILES ${KC_PKG_SRC}/copyright DESTINATION ${KC_DOC_DIR} COMPONENT agent)
install(FILES ${KC_PKG_SRC}/config.yaml DESTINATION /etc/kubelet-checkpoint
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT agent)
install(FILES ${KC_PKG_SRC}/kubelet-checkpoint.service DESTINATION /lib/systemd/system
        COMPONENT deb)
install(FILES ${KC_PKG_OUT}/changelog.Debian.gz DESTINATION ${KC_DOC_DIR} COMPONENT deb)
install(FILES ${KC_PKG_SRC}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides
        RENAME kubelet-checkpoint COMPONENT deb)
# Relative to the /usr prefix: CPack RPM would mark absolute ones %config.
install(FILES ${KC_PKG_SRC}/kubelet-checkpoint.service DESTINATION lib/systemd/system
        COMPONENT rpm)
install(FILES ${KC_PKG_SRC}/rpm/80-kubelet-checkpoint.preset
        DESTINATION lib/systemd/system-preset COMPONENT rpm)

set(CPACK_PACKAGE_NAME kubelet-checkpoint)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The kubelet-checkpoint Authors")
set(CPACK_PACKAGE_CONTACT "kubelet-checkpoint maintainers <kubelet-checkpoint@lists.example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "static-pod bridge for Kubernetes pods while the API is unreachable")
set(CPACK_PACKAGE_DESCRIPTION
    "kubelet-checkpoint runs next to a stock kubelet. While the Kubernetes API is
reachable it keeps durable, verified checkpoints of the annotated pods bound
to its node. When the API is unreachable and such a pod is not running, it
writes the pod as a self-contained static-pod manifest into the kubelet's
staticPodPath, so node agents (CNI, DNS, log shippers) come back after a
reboot without an apiserver. Once the API is back it removes them.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build[^/]*/" "/\\\\.git/" "/node_modules/")
set(CPACK_PROJECT_CONFIG_FILE ${KC_PKG_SRC}/cpack-options.cmake)
# One package per generator, made of the components cpack-options.cmake picks.
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_RPM_COMPONENT_INSTALL ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${KC_PKG_OUT}/deb/postinst ${KC_PKG_OUT}/deb/prerm ${KC_PKG_OUT}/deb/postrm
    ${KC_PKG_OUT}/deb/conffiles)

set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_LICENSE Apache-2.0)
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${KC_PKG_OUT}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${KC_PKG_OUT}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${KC_PKG_OUT}/rpm/postun.sh)
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/kubelet-checkpoint/config.yaml")
# Directories owned by the base system (filesystem, systemd packages).
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/lib/systemd /usr/lib/systemd/system /usr/lib/systemd/system-preset
    /usr/share/man /usr/share/man/man5 /usr/share/man/man8 /usr/share/doc)

include(CPack)
cpack_add_component(agent REQUIRED)
cpack_add_component(deb)
cpack_add_component(rpm)
