# Crash-safety driver: drives checkpoint_store, materialise and bridge_dir
# through seeded churn; tests/e2e/test_crash_churn.py SIGKILLs it at random
# moments and checks what is left on disk.
add_executable(engine_churn ${CMAKE_SOURCE_DIR}/tests/crash/engine_churn.c)
target_link_libraries(engine_churn PRIVATE kc_store kcinternals)
if(TEST e2e.test_crash_churn)
  set_property(TEST e2e.test_crash_churn APPEND PROPERTY ENVIRONMENT
    "KC_ENGINE_CHURN=$<TARGET_FILE:engine_churn>")
  set_property(TEST e2e.test_crash_churn PROPERTY TIMEOUT 180)
endif()
