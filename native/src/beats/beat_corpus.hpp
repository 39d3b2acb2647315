// The training data of the beat network (`qscribe train-beats`): renders of MIDI files with
// known beats (`qscribe synth` writes NAME.wav, NAME.mid and NAME.beats.tsv), the transcription
// model's note probabilities for each (cached beside the audio as NAME.frames.npy and
// NAME.onsets.npy, the files `transcribe --save-activations` writes), and their beat features.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "inference/inference.hpp"

namespace qs {

struct BeatPiece {
  std::string name;             // DIR/NAME
  std::vector<float> features;  // [n_frames x kBeatFeatures]
  std::size_t n_frames = 0;
  std::vector<double> beats, downbeats;  // s
};

// NAME.beats.tsv (`time_s  bar  beat_in_bar` per line, '#' comments): the beats and the downbeats
// (beat_in_bar 1). Throws qs::Error naming the file and line.
void read_beats_tsv(const std::string& path, std::vector<double>& beats, std::vector<double>& downbeats);

// Whether a beat grid fits its own notes (tests/tools/score_beats.py's test): the share of
// onsets within 0.08 beat of a beat is at least twice the mean share over the twelve phases
// of the beat and 0.8 of the best other phase. Free-time MIDI files (recorded without a click)
// and tunes whose grid is off by a pickup fail it. True when there is too little to tell.
bool grid_fits_notes(const std::vector<double>& onsets, const std::vector<double>& beats);

struct BeatCorpusOptions {
  bool skip_unfit = true;  // leave out pieces whose grid does not fit their notes
  std::function<void(const std::string&)> log;  // one line per event (skips, transcriptions)
};

// Every NAME.beats.tsv under `dirs` with its NAME.wav: the probabilities from the cache or, when
// missing, from transcribing the audio with `model` (written to the cache for the next run).
std::vector<BeatPiece> load_beat_corpus(const std::vector<std::string>& dirs, LoadedModel& model,
                                        const InferenceOptions& inference, const BeatCorpusOptions& options);

}  // namespace qs
