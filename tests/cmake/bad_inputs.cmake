# The command line's rows of the bad-input matrix (docs/robustness.md): every qscribe command
# that takes outside data, against every bad case that applies (broken, odd and hostile audio,
# note files, models, data sets; a full disk and a read-only folder in a private mount namespace;
# kill -9 at several moments of each command that writes). tests/tools/bad_input_matrix.py
# --markdown FILE prints the observed matrix. Native tool tree only.
if(NOT EMSCRIPTEN AND TARGET qscribe)
  add_test(NAME cli.bad_input_matrix
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tools/bad_input_matrix.py $<TARGET_FILE:qscribe>
            ${CMAKE_SOURCE_DIR}/models ${CMAKE_CURRENT_BINARY_DIR}/bad_input_matrix)
  # Label `cli`: the native stage of ./test runs it (once: 4 minutes); the ASan stage runs label
  # `unit` only, and the parsers it reaches are fuzzed under ASan already (scripts/fuzz).
  set_tests_properties(cli.bad_input_matrix PROPERTIES LABELS cli TIMEOUT 900)
endif()
