# The fuzz targets and what each links, shared by the libFuzzer tree (tests/fuzz/CMakeLists.txt)
# and the replay tests of the normal trees (tests/cmake/fuzz.cmake).
#   core    qscribe_core
#   audio   qscribe_audio_io (libsndfile + soxr)
#   dataio  native/src/data/npy.cpp + native/src/data/dataset.cpp (no LibTorch)
#   torch   LibTorch + ONNX: native/src/export/onnx_import.cpp and what it needs
#   +torch  optional: without LibTorch the target builds without its LibTorch part
set(QS_FUZZ_TARGETS midi notes_csv notes_tsv notes_json model_sidecar npy dataset_index dataset_shards
    audio_file onnx_import)
set(QS_FUZZ_NEEDS_midi core)
set(QS_FUZZ_NEEDS_notes_csv core)
set(QS_FUZZ_NEEDS_notes_tsv core)
set(QS_FUZZ_NEEDS_notes_json core)
set(QS_FUZZ_NEEDS_model_sidecar core +torch)
set(QS_FUZZ_NEEDS_npy dataio)
set(QS_FUZZ_NEEDS_dataset_index dataio)
set(QS_FUZZ_NEEDS_dataset_shards dataio)
set(QS_FUZZ_NEEDS_audio_file audio)
set(QS_FUZZ_NEEDS_onnx_import torch)
