# The command line's rows of the bad-input matrix (docs/robustness.md): every qscribe command
# that takes outside data, against every bad case that applies (broken, odd and hostile audio,
# note files, models, data sets; a full disk and a read-only folder in a private mount namespace;
# kill -9 at several moments of each command that writes). tests/tools/bad_input_matrix.py
# --markdown FILE prints the observed matrix. Native tool tree only.
#
# Three tests of about a minute and a half each (on 2 cores), so that ctest -j packs them beside
# the others instead of waiting on one of four minutes; COST starts them first.
if(NOT EMSCRIPTEN AND TARGET qscribe)
  # The kill -9 row kills synth on the synth row's inputs, so the synth row runs in its test
  # (once: bad_input_matrix.py would run it again for kill_9 alone).
  foreach(part "audio:transcribe,features:100"
               "tools:evaluate,notate,preprocess,train,export,average,output_side:85"
               "kill_9:synth,kill_9:85")
    string(REPLACE ":" ";" part "${part}")
    list(GET part 0 name)
    list(GET part 1 rows)
    list(GET part 2 cost)
    add_test(NAME cli.bad_input_matrix.${name}
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tools/bad_input_matrix.py $<TARGET_FILE:qscribe>
              ${CMAKE_SOURCE_DIR}/models ${CMAKE_CURRENT_BINARY_DIR}/bad_input_matrix_${name} --rows ${rows})
    # Label `cli`: the native stage of ./test runs it (once); the ASan stage runs label `unit`
    # only, and the parsers it reaches are fuzzed under ASan already (scripts/fuzz).
    set_tests_properties(cli.bad_input_matrix.${name} PROPERTIES LABELS cli TIMEOUT 900 COST ${cost})
  endforeach()
endif()
