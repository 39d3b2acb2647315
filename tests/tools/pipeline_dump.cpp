// Runs the core's transcription pipeline with the stand-in network (tests/support/
// stand_in_network.hpp) over a float32 little-endian sample file and writes what comes out:
// the whole-file probabilities (frames, then onsets, float32), the live window's probabilities
// after feeding the samples as a microphone would, and the decoded notes of both as text. Built
// natively and with emcc: `wasm.pipeline_identical_to_native` compares the two outputs byte for
// byte, so the browser's windows, stitching, output handling and notes are exactly the native
// tool's.
// Usage: qs_pipeline_dump IN.f32 OUT [block]   (block: samples per push, default 16384)
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "qscribe/live_window.hpp"
#include "qscribe/transcription.hpp"
#include "f32_file.hpp"
#include "stand_in_network.hpp"

namespace {

void write_probs(std::ofstream& o, const qs::NoteProbabilities& p) {
  o.write(reinterpret_cast<const char*>(p.frames.data()), static_cast<std::streamsize>(p.frames.size() * sizeof(float)));
  o.write(reinterpret_cast<const char*>(p.onsets.data()), static_cast<std::streamsize>(p.onsets.size() * sizeof(float)));
}

void write_notes(std::ofstream& o, const qs::NoteList& notes) {
  for (const qs::Note& n : notes) {
    char line[96];
    std::snprintf(line, sizeof line, "%d %.9g %.9g %d\n", n.pitch, n.onset, n.offset, n.velocity);
    o << line;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.f32 OUT [block]\n", argv[0]);
    return 2;
  }
  try {
    const std::vector<float> x = qs::test::read_f32_file(argv[1]);
    const std::size_t block = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 16384;
    const qs::ModelConfig model;  // default features, 88 notes, 43-frame windows
    const auto run = [](qs::ModelRequest& r) { qs::test::stand_in_network(r); };

    qs::Transcription file(model);
    for (std::size_t i = 0; i < x.size(); i += block) {
      file.push_audio(x.data() + i, std::min(block, x.size() - i));
      file.run_ready(run);
    }
    file.finish_audio();
    file.run_ready(run);

    qs::ModelRequest live_request;
    qs::LiveWindow live(model, 0.5, live_request);
    qs::NoteProbabilities live_probs;
    for (std::size_t end = 0; end < x.size();) {
      end = std::min(x.size(), end + 1024);
      if (qs::ModelRequest* r = live.next_request(x.data(), end)) {
        run(*r);
        live.answer(live_probs);
      }
    }

    const qs::NoteList file_notes = file.decode(model.decoding);
    std::ofstream o(argv[2], std::ios::binary);
    write_probs(o, file.probabilities());
    write_probs(o, live_probs);
    write_notes(o, file_notes);
    write_notes(o, qs::decode_probabilities(live_probs, model, model.decoding));
    if (!o) throw std::runtime_error(std::string("cannot write ") + argv[2]);
    std::printf("%zu frames, %zu notes (file); %zu frames (live)\n", file.probabilities().n_frames,
                file_notes.size(), live_probs.n_frames);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qs_pipeline_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
