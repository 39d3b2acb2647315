# The JS <-> C++ bridge's codes (wasm/bridge.hpp) against their users in web/*.js and wasm/main.cpp:
# a static check under Node, no browser and no wasm build needed (native tree only).
if(NOT EMSCRIPTEN)
  find_program(QS_NODE_FOR_BRIDGE node)
  if(QS_NODE_FOR_BRIDGE)
    add_test(NAME web.bridge_constants
      COMMAND ${QS_NODE_FOR_BRIDGE} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/bridge_constants.mjs ${CMAKE_SOURCE_DIR})
    set_tests_properties(web.bridge_constants PROPERTIES LABELS unit TIMEOUT 30)
  endif()
endif()
