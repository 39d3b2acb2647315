// A learned beat activation: how likely each model frame is a beat, from the transcription
// model's note probabilities. It replaces the hand-made note-onset envelope as the beat
// tracker's input (beat_tracker.hpp), so tempo, beats and metrical level follow what a network
// learned from rendered MIDI files with known beats (`qscribe train-beats`, docs/score.md).
//
//   features  [n_frames x kBeatFeatures]: per model frame, from the note probabilities
//     0-7   log(1 + 4 x onset probability summed over a register band of 11 notes)
//     8-15  log(1 + 4 x the rise of the frame probabilities in the band)
//     16-23 log(1 + the frame probabilities summed in the band): what is sounding
//     24    the harmony's change: 1 - cosine of the pitch-class profiles (frame probabilities)
//           of the 4 frames before and the 4 frames from this one
//   network: a temporal convolutional network (TCN), non-causal, over those frames
//     x = ELU(W_in (f - mean) / std + b)                      (a 1x1 convolution to C channels)
//     x = x + ELU(conv_k,d(x))  for each dilation d           (kernel k, zero padding, "same")
//     y = W_out x + b_out  -> sigmoid: [beat, downbeat] per frame
//   The shipped one (C = 32, k = 3, dilations 1..128) sees +-6 s and has about 26k weights; its
//   forward pass costs about 10 ms per minute of music natively, 18 ms in wasm.
//
// The weights are a small JSON file (`models/beat_net.json`); LibTorch trains the same network
// (native/src/beats/) and writes that file, and a test checks both forward passes agree.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "qscribe/beat_tracker.hpp"
#include "qscribe/model_windows.hpp"

namespace qs {

inline constexpr int kBeatFeatures = 25;
inline constexpr int kBeatOutputs = 2;  // beat, downbeat

// Frame-major [n_frames x kBeatFeatures] features of `probs` (any number of notes; a model
// without onsets uses the rise of its frame probabilities in their place).
std::vector<float> beat_features(const NoteProbabilities& probs);

struct BeatNet {
  double frame_rate = 0.0;       // the model frame rate it was trained at (frames/s)
  int channels = 0, kernel = 3;
  std::vector<int> dilations;
  std::vector<float> input_mean, input_std;  // [kBeatFeatures]
  std::vector<float> in_w, in_b;             // [channels x kBeatFeatures], [channels]
  struct Layer {
    std::vector<float> w, b;  // [channels x channels x kernel] (torch's Conv1d layout), [channels]
  };
  std::vector<Layer> layers;  // one per dilation
  std::vector<float> out_w, out_b;  // [kBeatOutputs x channels], [kBeatOutputs]
  std::string trained_on;           // a line on the training data, for the user
};

// Parses the JSON document of a beat network; throws qs::Error naming `context` and the field.
BeatNet parse_beat_net(const std::string& json_text, const std::string& context = "beat network");
std::string beat_net_to_json(const BeatNet& net);
// Throws qs::Error (starting with `context`) unless `net` was trained at `frame_rate` frames/s:
// its features are per model frame, so another frame rate means other features.
void check_beat_net_frame_rate(const BeatNet& net, double frame_rate, const std::string& context);

struct BeatActivation {
  std::vector<float> beat, downbeat;  // probabilities per frame
  double frame_rate = 0.0;
};

// The network over [n_frames x kBeatFeatures] features.
BeatActivation beat_activation(const BeatNet& net, const std::vector<float>& features, double frame_rate);

// The beat probabilities as the tracker's envelope at `out_rate` frames/s (linear interpolation).
OnsetEnvelope beat_envelope(const BeatActivation& activation, double out_rate = 100.0);

}  // namespace qs
