# Native dependencies: all from Debian packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)   # nlohmann_json::nlohmann_json
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
if(QSCRIBE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(QSCRIBE_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
