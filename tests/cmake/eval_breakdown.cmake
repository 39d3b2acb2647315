# scripts/eval-breakdown (per-register / per-polyphony note recall and precision of the dev
# evaluation) checked on a hand-made case and against mir_eval (native only; /usr/bin/python3).
if(NOT EMSCRIPTEN)
  add_test(NAME unit.eval_breakdown
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/test_eval_breakdown.py
            ${CMAKE_SOURCE_DIR}/scripts/eval-breakdown)
  set_tests_properties(unit.eval_breakdown PROPERTIES LABELS unit TIMEOUT 120)
endif()
