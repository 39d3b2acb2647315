# WebAssembly dependencies: Debian source packages fetched by scripts/setup.sh (`apt-get source
# imgui kissfft` into third_party/src, git-ignored) and header-only packages.
# nlohmann-json is header-only: expose a copy of just its headers (not all of /usr/include).
set(QS_NLOHMANN_INC ${CMAKE_BINARY_DIR}/third_party_include)
file(COPY /usr/include/nlohmann DESTINATION ${QS_NLOHMANN_INC})
add_library(nlohmann_json_wasm INTERFACE)
target_include_directories(nlohmann_json_wasm SYSTEM INTERFACE ${QS_NLOHMANN_INC})
add_library(nlohmann_json::nlohmann_json ALIAS nlohmann_json_wasm)

# Exceptions carry user-facing error messages in the core; keep them working in wasm.
add_compile_options(-fexceptions)
add_link_options(-fexceptions -sALLOW_MEMORY_GROWTH=1)

if(QSCRIBE_BUILD_TESTS)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  # googletest's own CMake defines the GTest::gtest / GTest::gtest_main aliases.
endif()

# Emscripten's Node output is CommonJS: pin the module type for everything under the build tree,
# whatever the repository's package.json says.
file(WRITE ${CMAKE_BINARY_DIR}/package.json "{\"type\": \"commonjs\"}\n")
