# bench.cmake: benchmarks (built by default, never run by ctest).
# bench_render: render throughput on one core; inputs from
# bench/make_render_inputs.py. See BENCHMARKS.md.
add_executable(bench_render ${CMAKE_SOURCE_DIR}/bench/bench_render.c)
target_link_libraries(bench_render PRIVATE kc_render kcinternals)
