# Unit tests: every tests/unit/<layer>/test_*.c is one cmocka program linked against
# its layer's library (kc_<layer>, with the layers it uses) plus the shared helpers
# in tests/unit/support/. A test that also needs a later layer names it below.
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
file(GLOB KC_TEST_SUPPORT CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/support/*.c)
add_library(kctestsupport STATIC ${KC_TEST_SUPPORT})
target_include_directories(kctestsupport PUBLIC ${CMAKE_SOURCE_DIR}/tests/unit/support)
target_compile_definitions(kctestsupport PUBLIC
  KC_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  KC_FIXTURES_DIR="${CMAKE_SOURCE_DIR}/tests/fixtures/pods")
target_link_libraries(kctestsupport PUBLIC kc_codec kcinternals PkgConfig::CMOCKA)

file(GLOB KC_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*/test_*.c)
foreach(src ${KC_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(layer ${src} DIRECTORY)
  get_filename_component(layer ${layer} NAME)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE kc_${layer} kctestsupport)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
endforeach()
# Tests that drive a later layer as well as their own.
target_link_libraries(test_fuzz_corpus PRIVATE kc_render)   # the fuzz targets' checks
target_link_libraries(test_secret_wipe PRIVATE kc_api)      # the API transport's secrets
target_link_libraries(test_materialise PRIVATE kc_render)   # volume plans to write
target_link_libraries(test_selinux_label PRIVATE kc_render) # volume plans to label
# test_secret_wipe sees every free() of the project's code (it checks that secrets are
# cleared before their memory is released).
target_link_options(test_secret_wipe PRIVATE -Wl,--wrap=free)
# test_doc_recycle plays an allocator that reports 7-byte chunks (as ASan does)
# and sees whether the recycler frees them.
target_link_options(test_doc_recycle PRIVATE -Wl,--wrap=free -Wl,--wrap=malloc_usable_size)

# End-to-end tests: every tests/e2e/test_*.py runs the real binary.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
file(GLOB KC_E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/e2e/test_*.py)
foreach(src ${KC_E2E_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME e2e.${name} COMMAND ${Python3_EXECUTABLE} ${src})
  set_tests_properties(e2e.${name} PROPERTIES
    ENVIRONMENT "KC_BINARY=$<TARGET_FILE:kubelet-checkpoint>;KC_SOURCE_DIR=${CMAKE_SOURCE_DIR};KC_FIXTURES_DIR=${CMAKE_SOURCE_DIR}/tests/fixtures/pods"
    TIMEOUT 600)
endforeach()
# test_package installs the .deb here (CI) and so creates and removes
# /etc/kubernetes/manifests; test_local_state checks that the agent leaves that
# directory alone. They must not overlap.
set_tests_properties(e2e.test_package e2e.test_local_state PROPERTIES
  RESOURCE_LOCK etc_kubernetes_manifests)
include(tests/crash/crash.cmake OPTIONAL)
include(tests/tools/api_tools.cmake OPTIONAL)
include(tests/render_tools.cmake OPTIONAL)
