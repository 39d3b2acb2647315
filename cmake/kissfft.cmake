# KissFFT from its Debian source package (scripts/setup.sh: `apt-get source kissfft` into
# third_party/src), built the same way natively and in wasm, with USE_SIMD: kiss_fft_scalar is a
# 4-lane float vector, so one call transforms four signals (the CQT puts four octaves in the
# lanes). Debian's libkissfft-dev has no SIMD build; compiling the same source for both targets
# also keeps native and wasm numerically identical.
file(GLOB QS_KISSFFT_DIR LIST_DIRECTORIES true ${QSCRIBE_THIRD_PARTY_SRC}/kissfft-*)
list(FILTER QS_KISSFFT_DIR EXCLUDE REGEX "\\.(gz|xz|dsc)$")
if(NOT QS_KISSFFT_DIR)
  message(FATAL_ERROR "KissFFT sources missing in ${QSCRIBE_THIRD_PARTY_SRC}: run scripts/setup.sh")
endif()
add_library(qs_kissfft STATIC ${QS_KISSFFT_DIR}/kiss_fft.c ${QS_KISSFFT_DIR}/kiss_fftr.c)
target_include_directories(qs_kissfft SYSTEM PUBLIC ${QS_KISSFFT_DIR})
target_compile_definitions(qs_kissfft PUBLIC USE_SIMD)
target_compile_options(qs_kissfft PRIVATE -O3)
if(EMSCRIPTEN)
  # Emscripten maps SSE intrinsics onto wasm SIMD128.
  target_compile_options(qs_kissfft PUBLIC -msimd128 -msse)
  target_link_options(qs_kissfft INTERFACE -msimd128)
endif()
set_target_properties(qs_kissfft PROPERTIES POSITION_INDEPENDENT_CODE ON)
