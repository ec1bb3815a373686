# fuzz/fuzz.cmake: libFuzzer targets, built when CMake gets
# -DKUBELET_CHECKPOINT_FUZZ=ON with CC=clang (scripts/fuzz-smoke.sh does it).
# Every layer library (kc_<layer>) is instrumented for coverage and ASan+UBSan,
# so the targets see bugs anywhere in the product code, not only in their own files.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "KUBELET_CHECKPOINT_FUZZ needs clang: CC=clang cmake ...")
endif()

set(KC_FUZZ_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                       -fno-omit-frame-pointer)
foreach(layer ${KC_LAYERS})
  target_compile_options(kc_${layer} PRIVATE -fsanitize=fuzzer-no-link ${KC_FUZZ_SANITIZERS})
  # Everything that links a layer (binary, unit tests, its link check) needs the runtimes too.
  target_link_options(kc_${layer} INTERFACE -fsanitize=address,undefined)
  target_link_options(kc_${layer}_link_check PRIVATE -fsanitize=address,undefined)
endforeach()

add_library(kcfuzzcheck STATIC ${CMAKE_SOURCE_DIR}/fuzz/fuzz_check.c)
target_compile_options(kcfuzzcheck PRIVATE ${KC_FUZZ_SANITIZERS})
target_include_directories(kcfuzzcheck PUBLIC ${CMAKE_SOURCE_DIR}/fuzz)
target_link_libraries(kcfuzzcheck PUBLIC kc_codec kcinternals)

# The layer each target drives (the shared checks bring codec).
set(KC_FUZZ_LAYER_fuzz_checkpoint store)
set(KC_FUZZ_LAYER_fuzz_kubeconfig k8s)
set(KC_FUZZ_LAYER_fuzz_render render)
set(KC_FUZZ_LAYER_fuzz_watch_stream api)

# Every fuzz/fuzz_*.c is a target, except the shared checks.
file(GLOB KC_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
list(REMOVE_ITEM KC_FUZZ_SOURCES ${CMAKE_SOURCE_DIR}/fuzz/fuzz_check.c)
foreach(src ${KC_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${CMAKE_SOURCE_DIR}/fuzz/${name}.c)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer ${KC_FUZZ_SANITIZERS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer ${KC_FUZZ_SANITIZERS})
  target_link_libraries(${name} PRIVATE kcfuzzcheck)
  if(DEFINED KC_FUZZ_LAYER_${name})
    target_link_libraries(${name} PRIVATE kc_${KC_FUZZ_LAYER_${name}})
  endif()
  # Regression run: every seed and every kept crash input once, no fuzzing.
  if(BUILD_TESTING AND IS_DIRECTORY ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name})
    add_test(NAME fuzz.${name}.corpus
             COMMAND ${name} -runs=0 -rss_limit_mb=2048 -timeout=10
                     ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name})
  endif()
endforeach()
