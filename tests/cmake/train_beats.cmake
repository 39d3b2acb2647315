# Smoke test of scripts/train-beats (label smoke, run by ./test): SMALL=1 renders, transcribes and
# trains in miniature into the build tree and must not touch models/. Needs simutrans-data.
if(NOT EMSCRIPTEN AND TARGET qscribe)
  add_test(NAME smoke.train_beats_small
    COMMAND /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/smoke/train_beats_small.sh $<TARGET_FILE:qscribe>
            ${CMAKE_CURRENT_BINARY_DIR}/train_beats_small)
  set_tests_properties(smoke.train_beats_small PROPERTIES LABELS smoke TIMEOUT 300 COST 20)
endif()
