# Replays the committed fuzz corpora (tests/fuzz/corpus/TARGET) through each fuzz target, built
# with this tree's compiler and a plain main (tests/fuzz/replay_main.cpp): ctest fuzz_replay.TARGET,
# label unit. Under the native-asan preset they run with ASan + UBSan. The LibTorch targets
# (onnx_import, and model_sidecar's architecture check) need the native tool's library, so they
# replay in the native tree only. The fuzzers themselves: scripts/fuzz (clang, libFuzzer).
if(NOT EMSCRIPTEN)
  include(${CMAKE_SOURCE_DIR}/tests/fuzz/targets.cmake)
  set(QS_FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)

  add_library(qs_fuzz_replay_dataio STATIC ${CMAKE_SOURCE_DIR}/native/src/data/npy.cpp
              ${CMAKE_SOURCE_DIR}/native/src/data/dataset.cpp)
  target_include_directories(qs_fuzz_replay_dataio PUBLIC ${CMAKE_SOURCE_DIR}/native/src)
  target_link_libraries(qs_fuzz_replay_dataio PUBLIC qscribe_core)

  foreach(t ${QS_FUZZ_TARGETS})
    set(needs ${QS_FUZZ_NEEDS_${t}})
    if("torch" IN_LIST needs AND NOT TARGET qscribe_native)
      continue()
    endif()
    add_executable(qs_fuzz_replay_${t} ${QS_FUZZ_DIR}/targets/${t}.cpp ${QS_FUZZ_DIR}/replay_main.cpp)
    target_include_directories(qs_fuzz_replay_${t} PRIVATE ${QS_FUZZ_DIR})
    target_link_libraries(qs_fuzz_replay_${t} PRIVATE qscribe_core)
    target_compile_options(qs_fuzz_replay_${t} PRIVATE -Wall -Wextra)
    if("audio" IN_LIST needs)
      target_link_libraries(qs_fuzz_replay_${t} PRIVATE qscribe_audio_io)
    endif()
    if("dataio" IN_LIST needs)
      target_link_libraries(qs_fuzz_replay_${t} PRIVATE qs_fuzz_replay_dataio)
    endif()
    if("torch" IN_LIST needs OR ("+torch" IN_LIST needs AND TARGET qscribe_native))
      target_link_libraries(qs_fuzz_replay_${t} PRIVATE qscribe_native)
      target_compile_definitions(qs_fuzz_replay_${t} PRIVATE QS_FUZZ_WITH_TORCH)
    endif()
    add_test(NAME fuzz_replay.${t} COMMAND qs_fuzz_replay_${t} ${QS_FUZZ_DIR}/corpus/${t})
    # Leaks inside Debian's libraries that the fuzzers found are suppressed (tests/fuzz/lsan.supp).
    set_tests_properties(fuzz_replay.${t} PROPERTIES LABELS unit TIMEOUT 300
                         ENVIRONMENT "LSAN_OPTIONS=suppressions=${QS_FUZZ_DIR}/lsan.supp:print_suppressions=0")
  endforeach()
endif()
