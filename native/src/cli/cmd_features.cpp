// `qscribe features IN -o OUT.npy`: the CQT of one audio file as a NumPy array [bins x frames].
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_options.hpp"
#include "cli/command.hpp"
#include "data/npy.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"

namespace {

struct FeatureArgs {
  std::string in, out;
  double sr = 22050.0, fmin = 27.5, filter_scale = 1.0, future_fraction = 0.5;
  int hop = 512, bins_per_note = 4;
};

QS_COMMAND("features", "Write the CQT of an audio file as a NumPy .npy array [bins x frames]", 70,
           [](CLI::App& sub) {
             auto a = std::make_shared<FeatureArgs>();
             sub.footer(
                 "Output: NPY 1.0, dtype '<f4' (float32), C order, shape (88*B, frames): row k is the\n"
                 "CQT magnitude of bin k (fmin * 2^(k / (12*B)) Hz), column j the frame centred on\n"
                 "sample j*hop (1 + samples/hop frames), exactly the features `qscribe preprocess`\n"
                 "stores (there as [frames x bins]). Load with numpy.load(OUT).");
             sub.add_option("input", a->in, "Audio file (WAV, FLAC, OGG, Opus, MP3)")->required()->check(CLI::ExistingFile);
             sub.add_option("-o,--output", a->out, "Output .npy file")->required();
             qs::cli::add_cqt_options(sub, a->bins_per_note, a->sr, a->hop, a->fmin, a->filter_scale, a->future_fraction);
             sub.callback([a] {
               qs::CqtParams p;
               p.sample_rate = a->sr;
               p.hop_length = a->hop;
               p.fmin = a->fmin;
               p.bins_per_semitone = a->bins_per_note;
               p.n_bins = 88 * a->bins_per_note;
               p.filter_scale = a->filter_scale;
               p.future_fraction = a->future_fraction;
               const qs::Cqt cqt(p);  // validates (e.g. top bin above Nyquist)
               const qs::AudioBuffer audio = qs::load_audio(a->in, p.sample_rate);
               const qs::Spectrogram s = cqt.transform(audio);
               std::vector<float> t(s.data.size());  // [frames x bins] -> [bins x frames]
               for (std::size_t f = 0; f < s.n_frames; ++f)
                 for (std::size_t b = 0; b < s.n_bins; ++b) t[b * s.n_frames + f] = s.data[f * s.n_bins + b];
               qs::write_npy(a->out, t.data(), s.n_bins, s.n_frames);
               std::fprintf(stderr, "features: %s -> %s [%zu bins x %zu frames], %.2f s of audio\n", a->in.c_str(),
                            a->out.c_str(), s.n_bins, s.n_frames, audio.duration());
             });
           });

}  // namespace
