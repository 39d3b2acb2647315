# Metrics cross-check: qscribe's note/frame metrics vs Debian's python3-mir-eval and the referee's
# shared/eval/score.py on a few hundred generated note sets (native only; needs /usr/bin/python3).
if(NOT EMSCRIPTEN)
  add_executable(qs_metrics_crosscheck ${CMAKE_CURRENT_SOURCE_DIR}/tools/metrics_crosscheck.cpp)
  target_link_libraries(qs_metrics_crosscheck PRIVATE qscribe_core)
  target_compile_options(qs_metrics_crosscheck PRIVATE -Wall -Wextra)

  set(QS_REFEREE_SCORE_PY ${CMAKE_SOURCE_DIR}/../shared/eval/score.py CACHE FILEPATH
      "The referee's scorer the metrics cross-check compares against (required)")
  add_test(NAME mir_eval.metrics_crosscheck
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/crosscheck_mir_eval.py
            $<TARGET_FILE:qs_metrics_crosscheck> --score-py ${QS_REFEREE_SCORE_PY} --cases 300)
  set_tests_properties(mir_eval.metrics_crosscheck PROPERTIES LABELS unit TIMEOUT 300 COST 40)  # ~35 s: start early
endif()
