# tests/tools/score_beats.py (beats, downbeats, tempo, meter and key against `qscribe synth`'s
# ground truth; scripts/eval-beats) checked on hand-made cases (native only; /usr/bin/python3).
if(NOT EMSCRIPTEN)
  add_test(NAME unit.score_beats
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/test_score_beats.py
            ${CMAKE_CURRENT_SOURCE_DIR}/tools/score_beats.py)
  set_tests_properties(unit.score_beats PROPERTIES LABELS unit TIMEOUT 120)
endif()

# tests/tools/abc_anacrusis.py (the bar lines of abc2midi's files where the ABC has them, for the
# beat ground truth of scripts/eval-beats) on ABC snippets and a tune through abc2midi.
if(NOT EMSCRIPTEN)
  add_test(NAME unit.abc_anacrusis
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/test_abc_anacrusis.py
            ${CMAKE_CURRENT_SOURCE_DIR}/tools/abc_anacrusis.py)
  set_tests_properties(unit.abc_anacrusis PROPERTIES LABELS unit TIMEOUT 60)
endif()
