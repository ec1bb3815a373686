# render_tools.cmake: kc_render_tool (tests/render/render_tool.c), the
# end-to-end tests' YAML->JSON converter, rule checker and volume-plan dump
# for tests/e2e/test_render_*.py (found through KC_RENDER_TOOL).
add_executable(kc_render_tool ${CMAKE_SOURCE_DIR}/tests/render/render_tool.c)
target_link_libraries(kc_render_tool PRIVATE kc_render kcinternals)
foreach(t e2e.test_render_fixtures e2e.test_render_hostile e2e.test_render_cli)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
      "KC_RENDER_TOOL=$<TARGET_FILE:kc_render_tool>")
  endif()
endforeach()
