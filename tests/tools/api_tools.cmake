# api_tools.cmake: test tools of the API client. api_probe drives api_client
# against the fake apiserver (tests/fakeapi) for tests/e2e/test_api_client.py
# and test_api_faults.py.
add_executable(api_probe ${CMAKE_SOURCE_DIR}/tests/tools/api_probe.c)
target_link_libraries(api_probe PRIVATE kc_api kcinternals)
foreach(t e2e.test_api_client e2e.test_api_faults)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "KC_API_PROBE=$<TARGET_FILE:api_probe>")
  endif()
endforeach()

# cri_probe drives cri_client against the fake runtime (tests/fakecri) for
# tests/e2e/test_cri_client.py.
add_executable(cri_probe ${CMAKE_SOURCE_DIR}/tests/tools/cri_probe.c)
target_link_libraries(cri_probe PRIVATE kc_node kcinternals)
if(TEST e2e.test_cri_client)
  set_property(TEST e2e.test_cri_client APPEND PROPERTY ENVIRONMENT
    "KC_CRI_PROBE=$<TARGET_FILE:cri_probe>")
endif()
