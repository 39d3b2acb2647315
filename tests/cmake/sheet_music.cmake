# Sheet music checked by outside tools (tests/tools/check_sheet_music.sh): LilyPond's musicxml2ly
# and lilypond engrave every MusicXML qscribe writes, Verovio (npm) renders it with the right bar
# count, an independent reader gets back exactly the quantised notes, and quantised MIDI carries
# meter, key and tempo map (mido). Inputs: pieces of known meter, key and length, and the real
# recordings of ../shared/fixtures/real through the shipped model. Native tool tree only.
if(NOT EMSCRIPTEN AND TARGET qscribe)
  add_test(NAME unit.sheet_music_outside_tools
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_sheet_music.sh $<TARGET_FILE:qscribe>
            ${CMAKE_CURRENT_BINARY_DIR}/sheet_music ${CMAKE_SOURCE_DIR}/../shared/fixtures/real)
  set_tests_properties(unit.sheet_music_outside_tools PROPERTIES LABELS unit TIMEOUT 600 COST 80)  # ~80 s: start early
endif()
