#include "qscribe/midi_file.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"

namespace qs {

void append_midi_vlq(std::vector<std::uint8_t>& out, std::uint32_t v) {
  std::uint8_t buf[5];
  int n = 0;
  buf[n++] = v & 0x7F;
  while (v >>= 7) buf[n++] = static_cast<std::uint8_t>(0x80 | (v & 0x7F));
  while (n > 0) out.push_back(buf[--n]);
}

namespace {

constexpr int kDrumChannel = 9;
constexpr std::uint32_t kDefaultTempo = 500000;  // µs per quarter note = 120 bpm

[[noreturn]] void fail(const std::string& why) { throw Error("not a valid MIDI file: " + why); }

// Bounds-checked big-endian reader over [begin, end); `where` names the region in errors.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size, std::string where)
      : data_(data), size_(size), where_(std::move(where)) {}

  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ >= size_; }

  std::uint8_t u8() {
    need(1);
    return data_[pos_++];
  }
  std::uint8_t peek() const {
    need(1);
    return data_[pos_];
  }
  std::uint32_t be(int n_bytes) {
    need(static_cast<std::size_t>(n_bytes));
    std::uint32_t v = 0;
    for (int i = 0; i < n_bytes; ++i) v = (v << 8) | data_[pos_++];
    return v;
  }
  // Variable-length quantity: at most 4 bytes (28 bits) in a valid SMF.
  std::uint32_t vlq() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const std::uint8_t b = u8();
      v = (v << 7) | (b & 0x7Fu);
      if (!(b & 0x80u)) return v;
    }
    fail(where_ + ": a variable-length number runs over 4 bytes");
  }
  const std::uint8_t* take(std::size_t n) {
    need(n);
    const std::uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

 private:
  void need(std::size_t n) const {
    if (n > size_ - pos_) fail("truncated " + where_);
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::string where_;
};

// ---------------------------------------------------------------------------------------------
// Reading

enum class EventKind : std::uint8_t { NoteOn, NoteOff, Pedal, Tempo, TimeSignature, KeySignature, End };

struct TrackEvent {
  std::uint64_t tick = 0;
  EventKind kind = EventKind::End;
  std::uint8_t channel = 0;
  std::uint8_t key = 0;       // pitch, or pedal down (1) / up (0)
  std::uint8_t velocity = 0;
  std::uint32_t tempo = 0;    // µs per quarter note, Tempo only
  int meta_a = 0;             // TimeSignature: numerator; KeySignature: fifths (-7..7)
  int meta_b = 0;             // TimeSignature: denominator; KeySignature: 1 minor, 0 major
};

struct Track {
  std::vector<TrackEvent> events;  // in file order, ending with End
  std::array<int, 16> first_program = filled_programs();  // per channel, -1 without a program change

  static std::array<int, 16> filled_programs() {
    std::array<int, 16> p;
    p.fill(-1);
    return p;
  }
};

struct Header {
  int format = 0;
  int n_tracks = 0;
  std::uint16_t division = 0;
};

int data_length(std::uint8_t status) {
  const int type = status & 0xF0;
  return (type == 0xC0 || type == 0xD0) ? 1 : 2;
}

// Data bytes >= 0x80 are invalid; clip them like mido's clip=True so damaged files still read.
std::uint8_t clip7(std::uint8_t b) { return b > 127 ? 127 : b; }

void add_channel_event(Track& track, std::uint64_t tick, std::uint8_t status, std::uint8_t a, std::uint8_t b) {
  TrackEvent e;
  e.tick = tick;
  e.channel = status & 0x0F;
  switch (status & 0xF0) {
    case 0x90:
      e.kind = b > 0 ? EventKind::NoteOn : EventKind::NoteOff;
      e.key = a;
      e.velocity = b;
      break;
    case 0x80:
      e.kind = EventKind::NoteOff;
      e.key = a;
      break;
    case 0xB0:
      if (a != 64) return;
      e.kind = EventKind::Pedal;
      e.key = b >= 64 ? 1 : 0;
      break;
    case 0xC0:
      if (track.first_program[e.channel] < 0) track.first_program[e.channel] = a;
      return;
    default:
      return;  // other channel messages do not change notes
  }
  track.events.push_back(e);
}

// Parses one MTrk body. Running status survives meta and sysex events (tolerant, like mido).
Track parse_track(const std::uint8_t* data, std::size_t size, int number) {
  const std::string where = "track " + std::to_string(number);
  ByteReader in(data, size, where);
  Track track;
  std::uint64_t tick = 0;
  std::uint8_t running = 0;
  while (!in.at_end()) {
    tick += in.vlq();
    std::uint8_t status = in.peek();
    if (status & 0x80) {
      in.u8();
    } else if (running == 0) {
      fail(where + ": a data byte without a preceding status byte (running status)");
    } else {
      status = running;
    }
    if (status == 0xFF) {
      const std::uint8_t type = in.u8();
      const std::uint32_t len = in.vlq();
      const std::uint8_t* body = in.take(len);
      if (type == 0x2F) break;  // end of track: anything after it is ignored
      if (type == 0x51 && len == 3) {
        const std::uint32_t tempo = (std::uint32_t{body[0]} << 16) | (std::uint32_t{body[1]} << 8) | body[2];
        if (tempo > 0) {
          TrackEvent e;
          e.tick = tick;
          e.kind = EventKind::Tempo;
          e.tempo = tempo;
          track.events.push_back(e);
        }
      } else if (type == 0x58 && len >= 2) {
        // nn dd [cc bb]: numerator, denominator as a power of 2 (clocks and 32nds ignored).
        if (body[0] >= 1 && body[1] <= 6) {
          TrackEvent e;
          e.tick = tick;
          e.kind = EventKind::TimeSignature;
          e.meta_a = body[0];
          e.meta_b = 1 << body[1];
          track.events.push_back(e);
        }
      } else if (type == 0x59 && len >= 2) {
        // sf mi: sharps (> 0) or flats (< 0), major (0) or minor (1).
        const int fifths = static_cast<std::int8_t>(body[0]);
        if (fifths >= -7 && fifths <= 7 && body[1] <= 1) {
          TrackEvent e;
          e.tick = tick;
          e.kind = EventKind::KeySignature;
          e.meta_a = fifths;
          e.meta_b = body[1];
          track.events.push_back(e);
        }
      }
    } else if (status == 0xF0 || status == 0xF7) {
      in.take(in.vlq());  // sysex / escaped bytes
    } else if (status >= 0xF0) {
      fail(where + ": status byte 0x" + "0123456789ABCDEF"[status >> 4] + "0123456789ABCDEF"[status & 15] +
           " is not allowed in a MIDI file");
    } else {
      running = status;
      const std::uint8_t a = clip7(in.u8());
      const std::uint8_t b = data_length(status) == 2 ? clip7(in.u8()) : 0;
      add_channel_event(track, tick, status, a, b);
    }
  }
  TrackEvent end;
  end.tick = tick;
  end.kind = EventKind::End;
  track.events.push_back(end);
  return track;
}

// Locates the SMF inside a RIFF "RMID" wrapper; returns the input unchanged otherwise.
std::pair<const std::uint8_t*, std::size_t> unwrap_riff(const std::uint8_t* data, std::size_t size) {
  if (size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "RMID", 4) != 0) return {data, size};
  ByteReader in(data, size, "RIFF wrapper");
  in.take(12);
  while (in.remaining() >= 8) {
    const std::uint8_t* id = in.take(4);
    const std::uint8_t* len_bytes = in.take(4);  // RIFF lengths are little-endian
    const std::uint32_t len = std::uint32_t{len_bytes[0]} | (std::uint32_t{len_bytes[1]} << 8) |
                              (std::uint32_t{len_bytes[2]} << 16) | (std::uint32_t{len_bytes[3]} << 24);
    const std::size_t n = std::min<std::size_t>(len, in.remaining());
    const std::uint8_t* body = in.take(n);
    if (std::memcmp(id, "data", 4) == 0) return {body, n};
    if ((len & 1u) && in.remaining() > 0) in.u8();  // RIFF chunks are padded to even sizes
  }
  throw Error("not a MIDI file: RIFF MIDI without a data chunk");
}

Header parse_header(ByteReader& in) {
  if (in.remaining() < 4 || std::memcmp(in.take(4), "MThd", 4) != 0) throw Error("not a MIDI file (no MThd header)");
  const std::uint32_t len = in.be(4);
  if (len < 6) fail("header chunk is too short");
  if (len > in.remaining()) fail("truncated header");
  Header h;
  h.format = static_cast<int>(in.be(2));
  h.n_tracks = static_cast<int>(in.be(2));
  h.division = static_cast<std::uint16_t>(in.be(2));
  in.take(len - 6);
  if (h.format > 2) fail("unsupported format " + std::to_string(h.format) + " (only 0, 1 and 2 exist)");
  if (h.division == 0) fail("division is 0 ticks per quarter note");
  return h;
}

// Reads the declared number of MTrk chunks, skipping chunks of other types.
std::vector<Track> parse_tracks(ByteReader& in, int n_declared) {
  std::vector<Track> tracks;
  while (static_cast<int>(tracks.size()) < n_declared) {
    const int number = static_cast<int>(tracks.size()) + 1;
    if (in.remaining() < 8) {
      fail(in.at_end() ? "the header declares " + std::to_string(n_declared) + " tracks but the file holds " +
                             std::to_string(tracks.size())
                       : "truncated track " + std::to_string(number));
    }
    const std::uint8_t* id = in.take(4);
    const std::uint32_t len = in.be(4);
    const bool is_track = std::memcmp(id, "MTrk", 4) == 0;
    if (len > in.remaining()) {
      fail("truncated " + (is_track ? "track " + std::to_string(number) : std::string("chunk")) + " (it declares " +
           std::to_string(len) + " bytes, " + std::to_string(in.remaining()) + " remain)");
    }
    const std::uint8_t* body = in.take(len);
    if (is_track) tracks.push_back(parse_track(body, len, number));
  }
  return tracks;
}

// Tick -> seconds for one timeline: piecewise linear between tempo changes.
class TempoMap {
 public:
  // PPQ division with tempo events (tick-ordered), or SMPTE division (tempo ignored).
  TempoMap(std::uint16_t division, const std::vector<TrackEvent>& tempo_events) {
    if (division & 0x8000u) {
      const int fps_code = -static_cast<int>(static_cast<std::int8_t>(division >> 8));
      const int ticks_per_frame = division & 0xFF;
      if ((fps_code != 24 && fps_code != 25 && fps_code != 29 && fps_code != 30) || ticks_per_frame == 0)
        fail("invalid SMPTE division");
      const double fps = fps_code == 29 ? 30000.0 / 1001.0 : fps_code;
      segments_.push_back({0, 0.0, 1.0 / (fps * ticks_per_frame)});
      return;
    }
    const double ppq = division;
    segments_.push_back({0, 0.0, kDefaultTempo * 1e-6 / ppq});
    for (const TrackEvent& e : tempo_events) {
      const Segment& last = segments_.back();
      const double start = last.seconds + static_cast<double>(e.tick - last.tick) * last.seconds_per_tick;
      segments_.push_back({e.tick, start, e.tempo * 1e-6 / ppq});
    }
  }

  double seconds(std::uint64_t tick) const {
    auto it = std::upper_bound(segments_.begin(), segments_.end(), tick,
                               [](std::uint64_t t, const Segment& s) { return t < s.tick; });
    const Segment& s = *(it - 1);  // segments_[0].tick == 0 <= tick
    return s.seconds + static_cast<double>(tick - s.tick) * s.seconds_per_tick;
  }

 private:
  struct Segment {
    std::uint64_t tick;
    double seconds;
    double seconds_per_tick;
  };
  std::vector<Segment> segments_;
};

// Pairs note-ons with note-offs under the pedal / re-strike rules in the header.
class NoteTracker {
 public:
  explicit NoteTracker(const MidiReadOptions& options) : options_(options), active_(16 * 128), sustained_(16) {}

  void note_on(double t, int ch, int pitch, int velocity) {
    auto& held = active_[ch * 128 + pitch];
    for (const Held& h : held) emit(h, t);  // re-strike of a sounding key ends it
    held.clear();
    auto& sus = sustained_[ch];
    auto keep = std::remove_if(sus.begin(), sus.end(), [&](const Held& h) {
      if (h.pitch != pitch) return false;
      emit(h, t);
      return true;
    });
    sus.erase(keep, sus.end());
    held.push_back({t, pitch, velocity, ch});
  }

  void note_off(double t, int ch, int pitch) {
    auto& held = active_[ch * 128 + pitch];
    if (held.empty()) return;
    const Held h = held.front();
    held.erase(held.begin());
    if (options_.sustain_pedal && pedal_down_[ch]) {
      sustained_[ch].push_back(h);
    } else {
      emit(h, t);
    }
  }

  void pedal(double t, int ch, bool down) {
    if (pedal_down_[ch] && !down) {
      for (const Held& h : sustained_[ch]) emit(h, t);
      sustained_[ch].clear();
    }
    pedal_down_[ch] = down;
  }

  // The channel of each note handed over by finish(), in the same order.
  std::vector<std::uint8_t> take_channels() { return std::move(channels_); }

  // Ends everything still sounding at `end` and hands over the notes.
  NoteList finish(double end) {
    for (const auto& held : active_)
      for (const Held& h : held) emit(h, end);
    for (const auto& sus : sustained_)
      for (const Held& h : sus) emit(h, end);
    active_.assign(active_.size(), {});
    sustained_.assign(sustained_.size(), {});
    return std::move(notes_);
  }

 private:
  struct Held {
    double onset;
    int pitch;
    int velocity;
    int channel;
  };

  void emit(const Held& h, double offset) {
    if (offset <= h.onset) return;
    notes_.push_back(Note{h.onset, offset, h.pitch, h.velocity});
    channels_.push_back(static_cast<std::uint8_t>(h.channel));
  }

  MidiReadOptions options_;
  std::vector<std::vector<Held>> active_;     // [channel * 128 + pitch], FIFO
  std::vector<std::vector<Held>> sustained_;  // [channel]: released while the pedal was down
  bool pedal_down_[16] = {};
  NoteList notes_;
  std::vector<std::uint8_t> channels_;  // parallel to notes_
};

// Appends a meta event in time order; one stated at the same instant as the last replaces it.
template <typename T>
void add_meta(std::vector<T>& list, const T& item) {
  if (!list.empty() && list.back().time_s == item.time_s) list.back() = item;
  else list.push_back(item);
}

// Plays one timeline (the tracks merged by tick, ties in track order) and appends its notes, with
// their channels to `note_channels`, and with `meta` its tempo, time-signature and key-signature
// events.
void play_timeline(const std::vector<const Track*>& tracks, std::uint16_t division, const MidiReadOptions& options,
                   MidiContents& out, std::vector<std::uint8_t>& note_channels, bool meta) {
  std::vector<TrackEvent> events;
  for (const Track* t : tracks) events.insert(events.end(), t->events.begin(), t->events.end());
  std::stable_sort(events.begin(), events.end(),
                   [](const TrackEvent& a, const TrackEvent& b) { return a.tick < b.tick; });

  std::vector<TrackEvent> tempo_events;
  for (const TrackEvent& e : events)
    if (e.kind == EventKind::Tempo) tempo_events.push_back(e);
  const TempoMap tempo(division, tempo_events);

  NoteTracker tracker(options);
  double end = 0.0;
  for (const TrackEvent& e : events) {
    const double t = tempo.seconds(e.tick);
    end = std::max(end, t);
    if (meta) {
      if (e.kind == EventKind::Tempo) add_meta(out.tempos, MidiTempo{t, 60e6 / e.tempo});
      if (e.kind == EventKind::TimeSignature) add_meta(out.time_signatures, MidiTimeSignature{t, e.meta_a, e.meta_b});
      if (e.kind == EventKind::KeySignature) add_meta(out.key_signatures, MidiKeySignature{t, e.meta_a, e.meta_b != 0});
    }
    if (e.channel == kDrumChannel && !options.include_drums) continue;
    switch (e.kind) {
      case EventKind::NoteOn: tracker.note_on(t, e.channel, e.key, e.velocity); break;
      case EventKind::NoteOff: tracker.note_off(t, e.channel, e.key); break;
      case EventKind::Pedal: tracker.pedal(t, e.channel, e.key != 0); break;
      default: break;
    }
  }
  NoteList notes = tracker.finish(end);
  const std::vector<std::uint8_t> channels = tracker.take_channels();
  out.notes.insert(out.notes.end(), notes.begin(), notes.end());
  note_channels.insert(note_channels.end(), channels.begin(), channels.end());
  out.end_time = std::max(out.end_time, end);
}

// Fills out.channels from the unsorted notes and their channels. sort_notes is stable, so each
// channel's sorted list is the sorted whole filtered by channel.
void split_channels(const std::vector<Track>& tracks, MidiContents& out, const std::vector<std::uint8_t>& note_channels) {
  out.channels.assign(16, {});
  for (std::size_t i = 0; i < out.notes.size(); ++i) out.channels[note_channels[i]].notes.push_back(out.notes[i]);
  for (std::size_t ch = 0; ch < 16; ++ch) {
    sort_notes(out.channels[ch].notes);
    for (const Track& t : tracks) {
      if (t.first_program[ch] < 0) continue;
      out.channels[ch].program = t.first_program[ch];
      break;
    }
  }
}

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot read file");
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Writing

void put_be(std::vector<std::uint8_t>& out, std::uint32_t v, int n_bytes) {
  for (int i = n_bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

struct OutEvent {
  std::uint64_t tick;
  int order;  // at one tick: metas (-3 time signature, -2 key signature, -1 tempo), program (0), note-offs (1), note-ons (2)
  std::uint8_t bytes[4];
  int size;
};

struct TickNote {
  std::uint64_t on, off;
  int pitch, velocity;
};

void validate(const MidiWriteOptions& o) {
  if (o.format != 0 && o.format != 1) throw Error("MIDI writer: format must be 0 or 1");
  if (o.ppq < 1 || o.ppq > 32767) throw Error("MIDI writer: ppq must be between 1 and 32767");
  if (!(o.bpm >= 60e6 / 0xFFFFFF && o.bpm <= 60e6)) throw Error("MIDI writer: bpm must be between 3.58 and 60000000");
  if (o.program < -1 || o.program > 127) throw Error("MIDI writer: program must be -1 (none) or 0..127");
  if (o.channel < 0 || o.channel > 15) throw Error("MIDI writer: channel must be 0..15");
}

// Notes on the tick grid, one pitch never overlapping itself (see the header).
std::vector<TickNote> to_ticks(const NoteList& notes, double ticks_per_second) {
  std::vector<TickNote> out;
  out.reserve(notes.size());
  constexpr double kMaxTick = 0x0FFFFFFF;  // keeps every delta within one VLQ
  for (std::size_t i = 0; i < notes.size(); ++i) {
    const Note& n = notes[i];
    const std::string which = "MIDI writer: note " + std::to_string(i + 1);
    if (n.pitch < 0 || n.pitch > 127) throw Error(which + " has pitch " + std::to_string(n.pitch) + " (must be 0..127)");
    if (!std::isfinite(n.onset) || !std::isfinite(n.offset) || n.offset <= n.onset)
      throw Error(which + " must have finite times with offset > onset");
    const double on = std::round(std::max(0.0, n.onset) * ticks_per_second);
    const double off = std::round(std::max(0.0, n.offset) * ticks_per_second);
    if (off > kMaxTick) throw Error(which + " lies too far in time for a MIDI file");
    const auto on_tick = static_cast<std::uint64_t>(on);
    const auto off_tick = std::max(on_tick + 1, static_cast<std::uint64_t>(off));
    out.push_back({on_tick, off_tick, n.pitch, std::clamp(n.velocity, 1, 127)});
  }
  std::sort(out.begin(), out.end(), [](const TickNote& a, const TickNote& b) {
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    if (a.on != b.on) return a.on < b.on;
    return a.off > b.off;  // the longest of same-onset duplicates first: it is the one kept
  });
  std::vector<TickNote> kept;
  for (const TickNote& n : out) {
    if (!kept.empty() && kept.back().pitch == n.pitch) {
      if (kept.back().on == n.on) continue;
      kept.back().off = std::min(kept.back().off, n.on);
    }
    kept.push_back(n);
  }
  return kept;
}

std::vector<OutEvent> note_events(const std::vector<TickNote>& notes, const MidiWriteOptions& o) {
  std::vector<OutEvent> events;
  const auto ch = static_cast<std::uint8_t>(o.channel);
  if (o.program >= 0) events.push_back({0, 0, {static_cast<std::uint8_t>(0xC0 | ch), static_cast<std::uint8_t>(o.program), 0}, 2});
  for (const TickNote& n : notes) {
    const auto p = static_cast<std::uint8_t>(n.pitch);
    events.push_back({n.on, 2, {static_cast<std::uint8_t>(0x90 | ch), p, static_cast<std::uint8_t>(n.velocity)}, 3});
    events.push_back({n.off, 1, {static_cast<std::uint8_t>(0x80 | ch), p, 64}, 3});
  }
  std::stable_sort(events.begin(), events.end(), [](const OutEvent& a, const OutEvent& b) {
    if (a.tick != b.tick) return a.tick < b.tick;
    if (a.order != b.order) return a.order < b.order;
    return a.bytes[1] < b.bytes[1];
  });
  return events;
}

OutEvent tempo_event(double bpm, std::uint64_t tick = 0) {
  const auto us = static_cast<std::uint32_t>(std::clamp<long>(std::lround(60e6 / bpm), 1, 0xFFFFFF));
  return {tick, -1, {static_cast<std::uint8_t>(us >> 16), static_cast<std::uint8_t>(us >> 8), static_cast<std::uint8_t>(us), 0}, 3};
}

// An MTrk chunk; events with a negative order are metas: -1 tempo (3 bytes), -2 key signature
// (2 bytes), -3 time signature (4 bytes).
void put_track(std::vector<std::uint8_t>& out, const std::vector<OutEvent>& events) {
  std::vector<std::uint8_t> body;
  std::uint64_t last = 0;
  for (const OutEvent& e : events) {
    append_midi_vlq(body, static_cast<std::uint32_t>(e.tick - last));
    last = e.tick;
    if (e.order == -1) body.insert(body.end(), {0xFF, 0x51, 0x03});
    if (e.order == -2) body.insert(body.end(), {0xFF, 0x59, 0x02});
    if (e.order == -3) body.insert(body.end(), {0xFF, 0x58, 0x04});
    body.insert(body.end(), e.bytes, e.bytes + e.size);
  }
  body.insert(body.end(), {0x00, 0xFF, 0x2F, 0x00});
  if (body.size() > 0xFFFFFFFFu) throw Error("MIDI writer: too many notes for one track");
  out.insert(out.end(), {'M', 'T', 'r', 'k'});
  put_be(out, static_cast<std::uint32_t>(body.size()), 4);
  out.insert(out.end(), body.begin(), body.end());
}

}  // namespace

MidiContents parse_midi(const std::uint8_t* data, std::size_t size, const MidiReadOptions& options) {
  if (data == nullptr) size = 0;
  const auto [smf, smf_size] = unwrap_riff(data, size);
  ByteReader in(smf, smf_size, "file");
  const Header header = parse_header(in);
  const std::vector<Track> tracks = parse_tracks(in, header.n_tracks);

  MidiContents out;
  out.format = header.format;
  out.n_tracks = static_cast<int>(tracks.size());
  out.ppq = (header.division & 0x8000u) ? 0 : header.division;
  std::vector<std::uint8_t> note_channels;  // parallel to out.notes until they are sorted
  if (header.format == 2) {
    for (const Track& t : tracks)
      play_timeline({&t}, header.division, options, out, note_channels, &t == &tracks.front());
  } else {
    std::vector<const Track*> all;
    for (const Track& t : tracks) all.push_back(&t);
    play_timeline(all, header.division, options, out, note_channels, true);
  }
  if (options.by_channel) split_channels(tracks, out, note_channels);
  sort_notes(out.notes);
  return out;
}

namespace {

// Seconds <-> quarter notes along a tempo map (120 bpm until the first tempo).
class QuarterMap {
 public:
  explicit QuarterMap(const std::vector<MidiTempo>& tempos) {
    segments_.push_back({0.0, 0.0, 0.5});
    for (const MidiTempo& m : tempos) {
      if (!(m.bpm > 0) || !std::isfinite(m.bpm) || !std::isfinite(m.time_s)) continue;
      const double spq = 60.0 / m.bpm;
      Segment& last = segments_.back();
      if (m.time_s <= last.t) {
        last.spq = spq;  // at time 0, or at the instant of the previous change
        continue;
      }
      segments_.push_back({m.time_s, last.q + (m.time_s - last.t) / last.spq, spq});
    }
  }
  double quarters(double t) const {
    const Segment& s = *(std::upper_bound(segments_.begin() + 1, segments_.end(), t,
                                          [](double v, const Segment& g) { return v < g.t; }) - 1);
    return s.q + (t - s.t) / s.spq;
  }
  double seconds(double q) const {
    const Segment& s = *(std::upper_bound(segments_.begin() + 1, segments_.end(), q,
                                          [](double v, const Segment& g) { return v < g.q; }) - 1);
    return s.t + (q - s.q) * s.spq;
  }

 private:
  struct Segment {
    double t, q, spq;  // start (s), start (quarters), seconds per quarter
  };
  std::vector<Segment> segments_;
};

}  // namespace

MidiBeatGrid midi_beat_grid(const MidiContents& contents) {
  MidiBeatGrid grid;
  if (!(contents.end_time > 0) || !std::isfinite(contents.end_time)) return grid;
  const QuarterMap map(contents.tempos);
  // Meter sections in quarter notes: start, beat length, beats per bar.
  struct Section {
    double start, beat;
    int per_bar;
  };
  auto section = [](double start, int num, int den) {
    num = std::max(1, num);
    den = std::clamp(den, 1, 64);
    if (den == 8 && num > 3 && num % 3 == 0) return Section{start, 1.5, num / 3};  // compound: dotted quarters
    return Section{start, 4.0 / den, num};
  };
  std::vector<Section> sections = {section(0.0, 4, 4)};
  constexpr double kEps = 1e-6;  // quarter notes
  for (const MidiTimeSignature& ts : contents.time_signatures) {
    if (!std::isfinite(ts.time_s)) continue;
    const double q = std::max(0.0, map.quarters(ts.time_s));
    if (q <= sections.back().start + kEps) sections.back() = section(sections.back().start, ts.numerator, ts.denominator);
    else sections.push_back(section(q, ts.numerator, ts.denominator));
  }
  const double q_end = map.quarters(contents.end_time) + kEps;
  int bar = 0;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const Section& s = sections[i];
    const double stop = i + 1 < sections.size() ? sections[i + 1].start - kEps : q_end;
    for (std::size_t k = 0;; ++k) {
      const double q = s.start + static_cast<double>(k) * s.beat;
      if (q >= stop || q > q_end || grid.beats.size() >= kMaxGridBeats) break;
      const int in_bar = static_cast<int>(k % static_cast<std::size_t>(s.per_bar)) + 1;
      if (in_bar == 1) ++bar;
      const double t = map.seconds(q);
      grid.beats.push_back(t);
      grid.bar.push_back(bar);
      grid.beat_in_bar.push_back(in_bar);
      if (in_bar == 1) grid.downbeats.push_back(t);
    }
  }
  return grid;
}

NoteList read_midi(const std::vector<std::uint8_t>& bytes, const MidiReadOptions& options) {
  return parse_midi(bytes.data(), bytes.size(), options).notes;
}

NoteList read_midi_file(const std::string& path, const MidiReadOptions& options) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  try {
    return read_midi(bytes, options);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

std::vector<std::uint8_t> write_midi(const NoteList& notes, const MidiWriteOptions& options) {
  validate(options);
  const double ticks_per_second = options.ppq * options.bpm / 60.0;
  const std::vector<OutEvent> events = note_events(to_ticks(notes, ticks_per_second), options);

  std::vector<std::uint8_t> out = {'M', 'T', 'h', 'd', 0, 0, 0, 6};
  put_be(out, static_cast<std::uint32_t>(options.format), 2);
  put_be(out, options.format == 0 ? 1 : 2, 2);
  put_be(out, static_cast<std::uint32_t>(options.ppq), 2);
  if (options.format == 0) {
    std::vector<OutEvent> single = {tempo_event(options.bpm)};
    single.insert(single.end(), events.begin(), events.end());
    put_track(out, single);
  } else {
    put_track(out, {tempo_event(options.bpm)});
    put_track(out, events);
  }
  return out;
}

std::vector<std::uint8_t> write_midi_grid(const std::vector<MidiGridNote>& notes, const MidiGrid& g) {
  if (g.ppq < 1 || g.ppq > 32767) throw Error("MIDI writer: ppq must be between 1 and 32767");
  if (g.ticks_per_beat < 1) throw Error("MIDI writer: ticks_per_beat must be positive");
  if (g.beat_seconds.empty()) throw Error("MIDI writer: the grid needs at least one beat");
  if (g.numerator < 1 || g.numerator > 255 || g.denominator < 1 || (g.denominator & (g.denominator - 1)) != 0)
    throw Error("MIDI writer: bad time signature");
  if (g.key_fifths < -7 || g.key_fifths > 7) throw Error("MIDI writer: key signature must have -7..7 fifths");
  std::vector<OutEvent> meta;
  int dd = 0;
  while ((1 << dd) < g.denominator) ++dd;
  meta.push_back({0, -3, {static_cast<std::uint8_t>(g.numerator), static_cast<std::uint8_t>(dd), 24, 8}, 4});
  meta.push_back({0, -2, {static_cast<std::uint8_t>(static_cast<std::int8_t>(g.key_fifths)), static_cast<std::uint8_t>(g.key_minor ? 1 : 0), 0, 0}, 2});
  const double quarters_per_beat = static_cast<double>(g.ticks_per_beat) / g.ppq;
  for (std::size_t k = 0; k < g.beat_seconds.size(); ++k) {
    const double beat = g.beat_seconds[k];
    if (!(beat > 0) || !std::isfinite(beat)) throw Error("MIDI writer: beat durations must be positive");
    const double bpm = 60.0 * quarters_per_beat / beat;  // quarter notes per minute
    if (k == 0 || std::abs(beat - g.beat_seconds[k - 1]) > 1e-6) meta.push_back(tempo_event(bpm, k * static_cast<std::uint64_t>(g.ticks_per_beat)));
  }
  std::vector<TickNote> ticks;
  for (const MidiGridNote& n : notes) {
    if (n.pitch < 0 || n.pitch > 127 || n.duration == 0) throw Error("MIDI writer: a grid note has a bad pitch or no duration");
    ticks.push_back({n.tick, n.tick + n.duration, n.pitch, std::clamp(n.velocity, 1, 127)});
  }
  std::sort(ticks.begin(), ticks.end(), [](const TickNote& a, const TickNote& b) { return a.on < b.on; });
  MidiWriteOptions o;
  o.program = g.program;
  o.channel = g.channel;
  validate(o);
  std::vector<std::uint8_t> out = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 2};
  put_be(out, static_cast<std::uint32_t>(g.ppq), 2);
  put_track(out, meta);
  put_track(out, note_events(ticks, o));
  return out;
}

void write_midi_file(const std::string& path, const NoteList& notes, const MidiWriteOptions& options) {
  const std::vector<std::uint8_t> bytes = write_midi(notes, options);
  write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace qs
