#include "synth/timidity_render.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace qs::synth {

namespace {

// The melodic programs of a TiMidity++ configuration: the numbered lines of its `bank 0` section.
std::vector<bool> bank0_programs(const std::string& config) {
  std::ifstream in(config);
  if (!in) throw Error(config + ": cannot read TiMidity++ configuration (apt-get install freepats timidity)");
  std::vector<bool> has(128, false);
  bool bank0 = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first;
    if (!(words >> first)) continue;
    if (first == "bank" || first == "drumset") {
      int n = -1;
      words >> n;
      bank0 = first == "bank" && n == 0;
    } else if (bank0 && std::isdigit(static_cast<unsigned char>(first[0]))) {
      const int p = std::atoi(first.c_str());
      if (p >= 0 && p < 128) has[static_cast<std::size_t>(p)] = true;
    }
  }
  return has;
}

// A track of expression (CC11) events on `channel` at the curve's times (ticks of 1/22050 s).
std::vector<std::uint8_t> expression_track(const std::vector<ExpressionPoint>& curve, int channel) {
  std::vector<std::uint8_t> track;
  std::int64_t last = 0;
  for (const ExpressionPoint& p : curve) {
    const std::int64_t tick = std::max(last, static_cast<std::int64_t>(std::llround(p.time_s * 22050.0)));
    append_midi_vlq(track, static_cast<std::uint32_t>(tick - last));
    last = tick;
    track.insert(track.end(), {static_cast<std::uint8_t>(0xB0 | channel), 11, static_cast<std::uint8_t>(std::clamp(p.value, 0, 127))});
  }
  track.insert(track.end(), {0, 0xFF, 0x2F, 0});
  return track;
}

// SMF bytes of the parts: one track each on channels 0..15 without 9 (drums), with its program,
// a pitch bend for the detune (range +-2 semitones) and the modulation wheel for vibrato, and a
// track of its expression curve where it has one. One tick is two samples at 44.1 kHz (PPQ
// 11025 at 120 bpm).
std::vector<std::uint8_t> parts_midi(const std::vector<Part>& parts, const std::vector<int>& programs,
                                     const std::vector<double>& detune, const std::vector<int>& vibrato,
                                     const std::vector<std::vector<ExpressionPoint>>& expression) {
  std::vector<std::vector<std::uint8_t>> tracks;
  std::vector<std::uint8_t> tempo;
  for (std::size_t k = 0; k < parts.size() && k < 15; ++k) {
    const int channel = k < 9 ? static_cast<int>(k) : static_cast<int>(k) + 1;
    MidiWriteOptions w;
    w.ppq = 11025;
    w.program = programs[k];
    w.channel = channel;
    const std::vector<std::uint8_t> smf = write_midi(parts[k].notes, w);
    // MThd (14 bytes), then the tempo MTrk, then the note MTrk.
    const std::size_t t1 = 14, n1 = (smf[t1 + 4] << 24) | (smf[t1 + 5] << 16) | (smf[t1 + 6] << 8) | smf[t1 + 7];
    if (tempo.empty()) tempo.assign(smf.begin() + t1, smf.begin() + static_cast<long>(t1 + 8 + n1));
    const std::size_t t2 = t1 + 8 + n1;
    std::vector<std::uint8_t> events(smf.begin() + static_cast<long>(t2 + 8), smf.end());
    const int bend = std::clamp(8192 + static_cast<int>(std::lround(detune[k] / 200.0 * 8192)), 0, 16383);
    const std::uint8_t ch = static_cast<std::uint8_t>(channel);
    std::vector<std::uint8_t> head{0, static_cast<std::uint8_t>(0xE0 | ch), static_cast<std::uint8_t>(bend & 0x7F),
                                   static_cast<std::uint8_t>(bend >> 7), 0, static_cast<std::uint8_t>(0xB0 | ch), 1,
                                   static_cast<std::uint8_t>(std::clamp(vibrato[k], 0, 127))};
    events.insert(events.begin(), head.begin(), head.end());
    tracks.push_back(std::move(events));
    if (k < expression.size() && !expression[k].empty()) tracks.push_back(expression_track(expression[k], channel));
  }
  std::vector<std::uint8_t> out{'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1};
  const std::size_t n = tracks.size() + 1;
  out.insert(out.end(), {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n & 0xFF), 11025 >> 8, 11025 & 0xFF});
  out.insert(out.end(), tempo.begin(), tempo.end());
  for (const auto& t : tracks) {
    const auto len = static_cast<std::uint32_t>(t.size());
    out.insert(out.end(), {'M', 'T', 'r', 'k', static_cast<std::uint8_t>(len >> 24), static_cast<std::uint8_t>(len >> 16),
                           static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)});
    out.insert(out.end(), t.begin(), t.end());
  }
  return out;
}

// Runs a program and waits. Returns "" when it exited with status 0, else what went wrong.
// Throws qs::Error when it cannot be started at all (then no piece can be rendered).
std::string run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) throw Error(args[0] + ": cannot be started (" + std::strerror(err) + ")");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status) == 0 ? "" : "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("crashed (") + strsignal(WTERMSIG(status)) + ")";
  return "stopped";
}

// A private scratch directory, removed with it.
struct Scratch {
  fs::path dir;
  Scratch() {
    static std::atomic<unsigned> counter{0};
    dir = fs::temp_directory_path() / ("qscribe-timidity-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

TimidityRenderer::TimidityRenderer(const std::string& config, double rate) : config_(config), rate_(rate) {
  const std::vector<bool> has = bank0_programs(config);
  if (std::none_of(has.begin(), has.end(), [](bool b) { return b; }))
    throw Error(config + ": no melodic program in its bank 0");
  std::string failure;
  try {
    failure = run({"timidity", "--version"});
  } catch (const Error& e) {  // not installed: it cannot be started
    failure = e.what();
  }
  if (!failure.empty()) throw Error("timidity not found or not working (apt-get install timidity)");
  map_.resize(128);
  for (int p = 0; p < 128; ++p) {
    int best = -1;
    for (int d = 0; d < 128 && best < 0; ++d)  // nearest in the family of eight, then anywhere
      for (int q : {p - d, p + d})
        if (q >= 0 && q < 128 && has[static_cast<std::size_t>(q)] && q / 8 == p / 8) { best = q; break; }
    for (int d = 0; d < 128 && best < 0; ++d)
      for (int q : {p - d, p + d})
        if (q >= 0 && q < 128 && has[static_cast<std::size_t>(q)]) { best = q; break; }
    map_[static_cast<std::size_t>(p)] = best;
  }
}

int TimidityRenderer::program_for(int requested) const { return map_[static_cast<std::size_t>(std::clamp(requested, 0, 127))]; }

AudioBuffer TimidityRenderer::render(const std::vector<Part>& parts, const std::vector<int>& programs,
                                     const std::vector<double>& detune, const std::vector<int>& vibrato,
                                     std::int64_t samples,
                                     const std::vector<std::vector<ExpressionPoint>>& expression) const {
  std::vector<int> played(parts.size());
  std::vector<double> cents(parts.size(), 0.0);
  std::vector<int> depth(parts.size(), 0);
  for (std::size_t k = 0; k < parts.size(); ++k) {
    played[k] = program_for(k < programs.size() ? programs[k] : parts[k].program);
    if (k < detune.size()) cents[k] = detune[k];
    if (k < vibrato.size()) depth[k] = vibrato[k];
  }
  Scratch scratch;
  const fs::path mid = scratch.dir / "parts.mid", wav = scratch.dir / "parts.wav";
  const std::vector<std::uint8_t> smf = parts_midi(parts, played, cents, depth, expression);
  std::ofstream(mid, std::ios::binary).write(reinterpret_cast<const char*>(smf.data()), static_cast<std::streamsize>(smf.size()));
  const std::string rate = std::to_string(static_cast<int>(std::lround(rate_)));
  // Effects off (the recording chain adds rooms), initial silence kept (labels start at 0).
  const std::string failure = run({"timidity", "-c", config_, "-Ow", "--output-mono", "-s", rate, "--preserve-silence",
                                   "-EFreverb=d", "-EFchorus=d", "-o", wav.string(), mid.string()});
  if (!failure.empty()) throw PieceRenderError("timidity " + failure + " on this piece (config " + config_ + ")");
  AudioBuffer audio = load_audio(wav.string(), rate_);
  audio.samples.resize(static_cast<std::size_t>(samples), 0.0f);
  return audio;
}

}  // namespace qs::synth
