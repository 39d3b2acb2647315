# Smoke test of scripts/train-default (label smoke, run by ./test): SMALL=1 runs corpus ->
# preprocess -> 1 training epoch -> threshold tuning into the build tree and must not touch
# models/. Needs the Debian MIDI packages chuck-data and yoshimi-data (scripts/setup.sh).
if(NOT EMSCRIPTEN AND TARGET qscribe)
  add_test(NAME smoke.train_default_small
    COMMAND /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/smoke/train_default_small.sh $<TARGET_FILE:qscribe>
            ${CMAKE_CURRENT_BINARY_DIR}/train_default_small)
  # COST: the longest test; ctest -j starts it first.
  set_tests_properties(smoke.train_default_small PROPERTIES LABELS smoke TIMEOUT 600 COST 170)
endif()
