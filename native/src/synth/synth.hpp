// `qscribe synth`: renders MIDI files (or procedural music) through libfluidsynth into the
// aligned-pairs layout OUT/[SPLIT/]NAME.wav + NAME.mid, with augmentation. See docs/synth.md.
//
// Labels are exactly what is audible: every note is played from the label list itself (no MIDI
// player, no pedal messages: pedal-extended offsets are note-offs), on the 64-sample block grid of
// the synthesiser, and the written NAME.mid holds those quantised times (its tick is one sample
// of the render rate when that rate is even and <= 65534 Hz). Everything random derives from
// --seed and the file name, so reruns give bit-identical files whatever the worker count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "synth/piano_sampler.hpp"
#include "synth/plucked_string.hpp"
#include "synth/sustained_tone.hpp"
#include "synth/procedural.hpp"
#include "synth/sung_voice.hpp"
#include "qscribe/audio.hpp"
#include "qscribe/midi_file.hpp"
#include "synth/recording_chain.hpp"
#include "synth/timidity_render.hpp"
#include "qscribe/note.hpp"

namespace qs::synth {

// ---- MIDI input ----------------------------------------------------------------------------
// Splits an SMF into its channels' parts with the core reader (qs::parse_midi, by_channel): drums
// dropped, sustain pedal applied to offsets, each channel's first program change (0 when none).
// The notes of all parts together are exactly qs::read_midi's. Malformed files throw qs::Error.
// With `contents`, also hands over the core reader's view of the whole file (tempo map, meters,
// keys, end time).
Piece read_midi_piece(const std::vector<std::uint8_t>& bytes, MidiContents* contents = nullptr);
Piece read_midi_piece_file(const std::string& path, MidiContents* contents = nullptr);

// ---- tempo warp ----------------------------------------------------------------------------
// A performance's timing put on a MIDI piece (--tempo-warp): the whole piece's time goes through
// a smooth increasing map from score time s to performance time w(s) with dw/ds = 1 / F(s), the
// tempo factor F(s) = factor * ramp(s) * (1 + rubato_depth * sin(2 pi s / rubato_period + phase));
// ramp(s) is 1 before change_at and rises or falls smoothly (raised cosine in log tempo) to
// change_factor over change_length score seconds when `change`. Then each onset moves by a
// Gaussian jitter, the note keeping its (warped) length: notes that start together in the score
// share one draw, clamped to +-2.5 sigma and to 0.45 of the gaps to the neighbouring onsets
// (order kept) and to time >= 0.
struct TempoWarp {
  bool enabled = false;
  double factor = 1.0;          // global tempo factor (> 1: faster), 0.8..1.25
  bool change = false;          // a tempo change (probability 0.5) ...
  double change_at = 0.0;       // ... starting at this score time (s), 15-70 % into the piece
  double change_length = 0.0;   // ... ramping over 2-8 s
  double change_factor = 1.0;   // ... to 0.75..1.3 times the tempo before it
  double rubato_depth = 0.0;    // 0.03..0.08
  double rubato_period = 8.0;   // s, 4..12
  double rubato_phase = 0.0;    // radians
  double jitter_sigma = 0.0;    // s, 0.005..0.020
  std::uint64_t jitter_seed = 0;
};

// The drawn warp of a piece lasting `duration` score seconds (enabled when `enabled`).
TempoWarp draw_tempo_warp(Rng& r, bool enabled, double duration);

// w(s), tabulated (midpoint rule, 10 ms steps) up to `horizon` score seconds and extended at the
// last tempo beyond; the identity when the warp is not enabled.
class TempoWarpMap {
 public:
  TempoWarpMap(const TempoWarp& warp, double horizon);
  double operator()(double s) const;
  double tempo_factor(double s) const;  // F(s)

 private:
  TempoWarp w_;
  double step_ = 0.01;
  std::vector<double> table_;  // w(k * step_)
};

// Keeps the first `seconds` of a MIDI piece (score time): later notes are dropped, notes sounding
// at the cut end there, and so do the file's end time and its meta events.
void clip_piece(Piece& piece, MidiContents& contents, double seconds);

// The piece with every note through the map and the onset jitter (the identity when disabled).
Piece warp_piece(const Piece& piece, const TempoWarp& warp, const TempoWarpMap& map);

// ---- augmentation --------------------------------------------------------------------------
enum class ProgramMode { Keep, Random, Piano, Fixed };

struct AugmentOptions {
  ProgramMode programs = ProgramMode::Keep;   // random: GM melodic program 0..111 per part
  int fixed_program = 0;                      // ProgramMode::Fixed: every part plays this one
  int transpose_min = 0, transpose_max = 0;   // semitones, one draw per file
  double peak_db_min = -1.0, peak_db_max = -1.0;  // output peak level, dBFS (the gain)
  double reverb_prob = 0.0;                   // probability of reverb (random room) per file
  double chorus_prob = 0.0;                   // probability of chorus (random settings) per file
  bool noise = false;                         // add white or pink noise ...
  double noise_snr_min = 30.0, noise_snr_max = 30.0;  // ... at this SNR (dB, vs the signal RMS)
  double noise_prob = 1.0;                    // ... to this fraction of the files
  // The performance: a per-file tuning offset and per-part detune of up to +-detune_cents, a
  // vibrato (modulation wheel) on up to this fraction of the parts, a velocity curve (velocities
  // raised to a power drawn in 1/velocity_curve..velocity_curve), and slower attacks on bowed and
  // blown instruments (GM programs 40-79) on this fraction of their parts.
  double detune_cents = 0.0;
  double vibrato_prob = 0.0;
  double velocity_curve = 1.0;
  double slow_attack_prob = 0.0;
  // The loudness moving within held notes (fluidsynth's expression, CC11) on this fraction of the
  // sustained parts (organs, bowed, blown, pads and voices: GM programs 16-23 and 40-95): every
  // note, or chord, fades towards its end, or swells and fades, by 6-25 dB. Real singers and
  // players do; the soundfonts hold a note's level until its release (docs/synth.md).
  double swell_prob = 0.0;
  RecordingOptions recording;                 // room, microphone and codec (recording_chain.hpp)
  bool tempo_warp = false;                    // MIDI inputs: tempo changes, rubato, onset jitter
};

// The draws for one file (also written to the manifest).
struct Augmentation {
  int soundfont = 0;  // the sound source: the soundfonts' index, then TiMidity++, the piano, the strings, the singers (those set)
  std::vector<int> programs;  // per part
  int transpose = 0;
  double peak_db = -1.0;
  bool reverb = false;
  double reverb_room = 0.2, reverb_damp = 0.0, reverb_width = 0.5, reverb_level = 0.9;
  bool chorus = false;
  int chorus_voices = 3;
  double chorus_level = 2.0, chorus_speed = 0.3, chorus_depth = 8.0;
  bool noise = false;
  bool pink = false;
  double noise_snr = 30.0;
  std::uint64_t noise_seed = 0;
  double velocity_exponent = 1.0;   // velocities v -> 127 * (v / 127) ^ exponent
  std::vector<double> detune;       // cents, per part (the piano sampler uses the first as its tuning)
  std::vector<int> vibrato;         // modulation wheel 0..127, per part
  std::vector<int> attack;          // added attack time, timecents (0 = the soundfont's), per part
  std::vector<int> swell;           // per part: 0 a steady level, 1 each note fades, 2 each note swells and fades
  std::vector<int> swell_floor;     // per part: the expression (CC11, 0..127) a fade reaches at the note's end
  PianoPerformance piano;           // the sampled piano's draws (when it is the source)
  PluckPerformance pluck;           // the plucked strings' draws (when they are the source)
  SingPerformance sing;             // the sung voices' draws (when they are the source)
  TonePerformance tone;             // the sustained tones' draws (when they are the source)
  RecordingDraws recording;
  TempoWarp tempo_warp;             // MIDI inputs with AugmentOptions::tempo_warp
};

// Per-file seed: mix(mix(seed, fnv1a(name)), variant).
std::uint64_t file_seed(std::uint64_t seed, const std::string& name, int variant);
// `weights` (one per sound source, or empty for equal ones) sets how often each source is drawn.
Augmentation draw_augmentation(std::uint64_t file_seed, const AugmentOptions& options, const Piece& piece,
                               int n_sources, const std::vector<double>& weights = {});

// ---- rendering -----------------------------------------------------------------------------
// The sound sources a file is rendered with: the soundfonts (through fluidsynth), when
// timidity_config is set a GUS patch set played by TiMidity++ (timidity_render.hpp), and when
// piano_samples is set the sampled Salamander grand piano (piano_sampler.hpp), which plays every
// part of the file, when plucked_strings is set the physical model of plucked strings
// (plucked_string.hpp), when sung_voices is set the singers (sung_voice.hpp), and when
// sustained_tones is set the instruments of drawn spectra (sustained_tone.hpp), which play every
// part too. Augmentation::soundfont indexes them in that order.
struct RenderOptions {
  std::vector<std::string> soundfonts;  // .sf2/.sf3 files; empty (and no other source): default_soundfont()
  std::string timidity_config;          // e.g. /etc/timidity/freepats.cfg, or ""
  std::string piano_samples;            // node_modules folder holding @audio-samples/piano-*, or ""
  bool plucked_strings = false;         // the plucked-string model as a source (after the piano)
  bool sung_voices = false;             // the singers (after the plucked strings)
  bool sustained_tones = false;         // the sustained tones of drawn spectra as the last source
  std::vector<double> source_weights;   // per source; empty: equal
  double sample_rate = 22050.0;         // of the written WAV (mono)
  double render_rate = 44100.0;         // fluidsynth's rate; resampled (soxr HQ) to sample_rate
  double tail = 1.0;                    // s rendered after the last note-off
  bool float_wav = false;               // float32 WAV instead of 16-bit PCM
  int polyphony = 1024;                 // fluidsynth voices
};

// TimGM6mb (Debian timgm6mb-soundfont) if present, else FluidR3_GM, else "".
std::string default_soundfont();

// The notes actually played, after transposition and on the render grid.
struct PreparedPiece {
  std::vector<Part> parts;  // transposed, range 21..108, quantised, no same-pitch overlap in a part
  NoteList labels;          // the union, same-pitch overlaps across parts merged (sorted)
  std::int64_t render_samples = 0;  // length at the render rate (last note-off + tail, whole blocks)
};
PreparedPiece prepare_piece(const Piece& piece, int transpose, double render_rate, double tail);

// Keeps the soundfonts loaded; render() plays each piece on a fresh fluidsynth instance (whose
// sample data comes from fluidsynth's sample cache), so a piece renders to the same bytes whatever
// was rendered before. Not thread-safe: one per worker thread.
class Renderer {
 public:
  explicit Renderer(const RenderOptions& options);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Mono audio at options.sample_rate: synthesised, through the drawn room and microphone, noise
  // added, peak-normalised to aug.peak_db, through the drawn codec.
  AudioBuffer render(const PreparedPiece& piece, const Augmentation& aug);

  // The number of sound sources and the name of one (for the manifest).
  int sources() const;
  std::string source_name(int index) const;

 private:
  AudioBuffer render_fluid(const PreparedPiece& piece, const Augmentation& aug);  // at render_rate
  AudioBuffer render_piano(const PreparedPiece& piece, const Augmentation& aug);  // at render_rate
  AudioBuffer render_plucked(const PreparedPiece& piece, const Augmentation& aug);  // at render_rate
  AudioBuffer render_sung(const PreparedPiece& piece, const Augmentation& aug);     // at render_rate
  AudioBuffer render_tones(const PreparedPiece& piece, const Augmentation& aug);    // at render_rate
  AudioBuffer render_timidity(const PreparedPiece& piece, const Augmentation& aug);  // at render_rate
  struct Impl;
  Impl* impl_;
};

// Writes a label list as SMF so that it reads back at the render grid's precision.
void write_labels_midi(const std::string& path, const NoteList& labels, double render_rate);

// The ground truth of a MIDI input's beats and signatures, in the time of the render: the source
// file's beat grid (qs::midi_beat_grid) and meta events through `map` (no jitter), up to
// `duration` s, keys transposed by `transpose` semitones. NAME.beats.tsv: a '#' header line, then
// "time_s<TAB>bar<TAB>beat_in_bar" per beat (1 = downbeat). NAME.meta.json: time_signatures,
// key_signatures, stated_time_signature, stated_key, transpose, tempo_warp (the draws).
void write_beats_tsv(const std::string& path, const MidiBeatGrid& grid, const TempoWarpMap& map, double duration);
void write_meta_json(const std::string& path, const MidiContents& contents, const TempoWarp& warp,
                     const TempoWarpMap& map, int transpose);
// A key signature (fifths) transposed by `semitones`, spelled with at most 6 sharps or 5 flats
// unless the transposition is 0.
int transpose_fifths(int fifths, int semitones);

// ---- batch driver (the CLI's work) ---------------------------------------------------------
struct SynthOptions {
  std::vector<std::string> midi_inputs;  // directories (searched recursively) or .mid files
  int procedural = 0;                    // number of procedural pieces
  double procedural_duration = 30.0;     // s each
  std::string out_dir;
  std::uint64_t seed = 0;
  int variants = 1;                      // renders per input
  int num_workers = 0;                   // 0: hardware threads
  double split_dev = 0.0;                // fraction of pieces (by name hash) put in OUT/dev
  bool only_dev = false;                 // with split_dev: render the OUT/dev pieces alone
  double max_duration = 1800.0;          // s; longer inputs are skipped
  double clip = 0.0;                     // s; > 0: MIDI inputs are cut to their first `clip` seconds
  AugmentOptions augment;
  RenderOptions render;
  bool progress = true;
  bool verbose_warnings = true;          // print warnings to stderr as they happen
};

struct SynthSummary {
  std::size_t inputs = 0;     // MIDI files found + procedural pieces
  std::size_t rendered = 0;   // wav/mid pairs written
  std::size_t skipped = 0;    // renders not done (corrupt, empty, too long)
  std::size_t corrupt = 0;    // of which unreadable MIDI
  double audio_seconds = 0.0;
  double wall_seconds = 0.0;
  std::vector<std::string> warnings;
};

// Renders everything; writes OUT/synth_manifest.tsv (one line per rendered file: the draws).
// Throws qs::Error for unusable settings (no soundfont, bad output directory); bad inputs are
// warnings.
SynthSummary run_synth(const SynthOptions& options);

}  // namespace qs::synth
