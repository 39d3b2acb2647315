#include "qscribe/musicxml.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <sstream>

#include "qscribe/error.hpp"
#include "qscribe/version.hpp"

namespace qs {

namespace {

struct NoteValue {
  long ticks;
  const char* type;
  int dots;
  bool triplet;
  int beams;  // 0 for quarter and longer, 1 eighth, 2 sixteenth, 3 thirty-second
};

// A written note or rest: one notated value, possibly a chord, possibly tied on both sides.
struct Piece {
  long pos = 0;  // ticks from the bar line
  const NoteValue* value = nullptr;
  std::vector<int> pitches;  // empty: a rest
  bool tie_start = false, tie_stop = false;
  std::string tuplet, beam1, beam2;  // "start"/"stop"; beam "begin"/"continue"/"end"/"forward hook"/"backward hook"
};

struct Chord {
  long start, duration;
  std::vector<int> pitches;
};

struct Writer {
  const Score& s;
  std::vector<NoteValue> values;  // longest first
  std::ostringstream out;

  explicit Writer(const Score& score) : s(score) {
    const std::array<const char*, 6> names{"whole", "half", "quarter", "eighth", "16th", "32nd"};
    for (int k = 0; k < 6; ++k) {
      const long whole = 4L * s.divisions;
      if (whole % (1L << k) != 0) continue;
      const long base = whole >> k;
      const int beams = std::max(0, k - 2);
      if (base % 2 == 0 && k > 0) values.push_back({base * 3 / 2, names[static_cast<std::size_t>(k)], 1, false, beams});
      values.push_back({base, names[static_cast<std::size_t>(k)], 0, false, beams});
      if (base % 3 == 0 && k > 1) values.push_back({base * 2 / 3, names[static_cast<std::size_t>(k)], 0, true, beams});
    }
    std::stable_sort(values.begin(), values.end(), [](const NoteValue& a, const NoteValue& b) { return a.ticks > b.ticks; });
  }

  // Where may a value of this length start? Values of a beat or more on a beat; shorter ones on
  // a multiple of themselves (dotted ones of a third of themselves), and not across a beat.
  bool fits(const NoteValue& v, long p, long end) const {
    if (v.triplet || p + v.ticks > end) return false;
    const long beat = s.beat_ticks;
    const long align = v.ticks >= beat ? beat : v.dots ? v.ticks / 3 : v.ticks;
    if (p % align != 0) return false;
    return p % beat == 0 || p / beat == (p + v.ticks - 1) / beat;
  }

  // whole_beats: only values of whole beats (in triplet bars, where the rest of a beat is triplets).
  const NoteValue* largest_fitting(long p, long end, bool whole_beats = false) const {
    for (const NoteValue& v : values)
      if (fits(v, p, end) && (!whole_beats || v.ticks % s.beat_ticks == 0)) return &v;
    for (const NoteValue& v : values)  // off the grid (cannot happen for quantised notes): any value that fits
      if (!v.triplet && v.ticks <= end - p) return &v;
    return nullptr;
  }

  // The longest triplet value (a whole number of triplet eighths, `third` ticks) up to len.
  const NoteValue* triplet_value(long len, long third) const {
    for (const NoteValue& v : values)
      if (v.triplet && v.ticks <= len && v.ticks % third == 0) return &v;
    return nullptr;
  }

  // Notated values covering [p, end) of a bar; `triplets`: the bar is on an eighth-triplet grid.
  std::vector<std::pair<long, const NoteValue*>> split(long p, long end, bool triplets) const {
    std::vector<std::pair<long, const NoteValue*>> r;
    const long beat = s.beat_ticks;
    while (p < end) {
      const NoteValue* v = nullptr;
      if (triplets && !(p % beat == 0 && end - p >= beat)) {
        const long chunk_end = std::min(end, (p / beat + 1) * beat);
        const long third = beat / 3;
        if ((chunk_end - p) % third == 0 && p % third == 0) v = triplet_value(chunk_end - p, third);
      }
      if (!v && triplets && p % beat == 0 && end - p >= beat) v = largest_fitting(p, end, true);
      if (!v) v = largest_fitting(p, end);
      if (!v) throw Error("MusicXML: cannot notate " + std::to_string(end - p) + " ticks");
      r.emplace_back(p, v);
      p += v->ticks;
    }
    return r;
  }

  std::vector<Piece> bar_pieces(const std::vector<Chord>& voice, long bar) const {
    const long b0 = bar * s.bar_ticks, b1 = b0 + s.bar_ticks;
    const bool triplets = s.bar_grid[static_cast<std::size_t>(bar)] == 3 && !s.meter.compound;
    std::vector<Piece> pieces;
    long cursor = 0;
    auto emit = [&](long a, long e, const Chord* c) {
      const auto parts = split(a, e, triplets);
      for (std::size_t k = 0; k < parts.size(); ++k) {
        Piece pc;
        pc.pos = parts[k].first;
        pc.value = parts[k].second;
        if (c) {
          pc.pitches = c->pitches;
          pc.tie_stop = k > 0 || c->start < b0;
          pc.tie_start = k + 1 < parts.size() || c->start + c->duration > b1;
        }
        pieces.push_back(pc);
      }
    };
    for (const Chord& c : voice) {
      if (c.start + c.duration <= b0 || c.start >= b1) continue;
      const long a = std::max(c.start, b0) - b0, e = std::min(c.start + c.duration, b1) - b0;
      if (a > cursor) emit(cursor, a, nullptr);
      emit(a, e, &c);
      cursor = e;
    }
    if (cursor < s.bar_ticks) emit(cursor, s.bar_ticks, nullptr);
    mark_tuplets_and_beams(pieces);
    return pieces;
  }

  void mark_tuplets_and_beams(std::vector<Piece>& pieces) const {
    const long beat = s.beat_ticks;
    for (std::size_t i = 0; i < pieces.size();) {
      std::size_t j = i;  // pieces[i, j) lie in one beat
      while (j < pieces.size() && pieces[j].pos / beat == pieces[i].pos / beat &&
             (pieces[j].pos + pieces[j].value->ticks - 1) / beat == pieces[i].pos / beat)
        ++j;
      if (j == i) {
        ++i;
        continue;
      }
      if (std::any_of(pieces.begin() + static_cast<long>(i), pieces.begin() + static_cast<long>(j), [](const Piece& p) { return p.value->triplet; })) {
        pieces[i].tuplet = "start";
        pieces[j - 1].tuplet = j - 1 == i ? "" : "stop";
        if (j - 1 == i) pieces[i].tuplet.clear();
      }
      // Beam runs of eighths and shorter notes (rests break them).
      for (std::size_t a = i; a < j;) {
        std::size_t b = a;
        while (b < j && !pieces[b].pitches.empty() && pieces[b].value->beams > 0) ++b;
        if (b - a >= 2) beam_run(pieces, a, b);
        a = std::max(a + 1, b);
      }
      i = j;
    }
  }

  static void beam_run(std::vector<Piece>& p, std::size_t a, std::size_t b) {
    for (std::size_t k = a; k < b; ++k) {
      p[k].beam1 = k == a ? "begin" : k + 1 == b ? "end" : "continue";
      if (p[k].value->beams < 2) continue;
      const bool prev = k > a && p[k - 1].value->beams >= 2, next = k + 1 < b && p[k + 1].value->beams >= 2;
      p[k].beam2 = prev && next ? "continue" : prev ? "end" : next ? "begin" : k == a ? "forward hook" : "backward hook";
    }
  }

  // The alteration the key signature gives a step (F# in G major: +1).
  int key_alter(char step) const {
    const int f = s.key.fifths;
    if (f > 0) return std::string("FCGDAEB").substr(0, static_cast<std::size_t>(f)).find(step) != std::string::npos ? 1 : 0;
    if (f < 0) return std::string("BEADGCF").substr(0, static_cast<std::size_t>(-f)).find(step) != std::string::npos ? -1 : 0;
    return 0;
  }

  void write_header(const MusicXmlOptions& o);
  void write_attributes();
  void write_piece(const Piece& pc, int voice, int staff, std::map<std::pair<char, int>, int>& accidentals);
  void write_bar(long bar, const std::map<int, std::vector<Chord>>& voices);
};

// Each staff's first voice (1 on staff 1, 5 on staff 2): written in every bar, its rests shown.
bool first_voice(int voice) { return voice == 1 || voice == 5; }

std::string xml_escape(const std::string& t) {
  std::string r;
  for (char c : t) {
    if (c == '&') r += "&amp;";
    else if (c == '<') r += "&lt;";
    else if (c == '>') r += "&gt;";
    else if (c == '"') r += "&quot;";
    else r += c;
  }
  return r;
}

void Writer::write_header(const MusicXmlOptions& o) {
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
         "<!DOCTYPE score-partwise PUBLIC \"-//Recordare//DTD MusicXML 4.0 Partwise//EN\" "
         "\"http://www.musicxml.org/dtds/partwise.dtd\">\n"
         "<score-partwise version=\"4.0\">\n"
      << "  <work><work-title>" << xml_escape(o.title) << "</work-title></work>\n"
      << "  <identification><encoding><software>" << xml_escape(o.software) << ' ' << kVersion
      << "</software></encoding></identification>\n"
      << "  <part-list><score-part id=\"P1\"><part-name>" << xml_escape(o.part_name)
      << "</part-name></score-part></part-list>\n  <part id=\"P1\">\n";
}

void Writer::write_attributes() {
  out << "      <attributes><divisions>" << s.divisions << "</divisions><key><fifths>" << s.key.fifths
      << "</fifths><mode>" << (s.key.minor ? "minor" : "major") << "</mode></key><time><beats>" << s.meter.numerator
      << "</beats><beat-type>" << s.meter.denominator << "</beat-type></time>";
  if (s.staves() > 1) out << "<staves>" << s.staves() << "</staves>";
  for (int st = 0; st < s.staves(); ++st) {
    const bool bass = s.clefs[static_cast<std::size_t>(st)] == Clef::Bass;
    out << "<clef number=\"" << st + 1 << "\"><sign>" << (bass ? "F" : "G") << "</sign><line>" << (bass ? 4 : 2)
        << "</line></clef>";
  }
  out << "</attributes>\n";
  // Metronome mark in the beat unit of the meter: a dotted quarter in 6/8, a quarter in 4/4.
  const double beat_bpm = s.tempo_bpm / s.meter.quarters_per_beat();
  const NoteValue* unit = nullptr;
  for (const NoteValue& v : values)
    if (!v.triplet && v.ticks == s.beat_ticks) unit = &v;
  out << "      <direction placement=\"above\"><direction-type><metronome><beat-unit>" << (unit ? unit->type : "quarter")
      << "</beat-unit>" << (unit && unit->dots ? "<beat-unit-dot/>" : "") << "<per-minute>"
      << std::lround(unit ? beat_bpm : s.tempo_bpm) << "</per-minute></metronome></direction-type><sound tempo=\""
      << std::lround(s.tempo_bpm * 100) / 100.0 << "\"/></direction>\n";
}

void Writer::write_piece(const Piece& pc, int voice, int staff, std::map<std::pair<char, int>, int>& accidentals) {
  const std::size_t n = std::max<std::size_t>(1, pc.pitches.size());
  // See musicxml.hpp; triplet rests stay (their bracket needs them, and musicxml2ly fails on hidden ones).
  const bool hidden_rest = pc.pitches.empty() && !first_voice(voice) && !pc.value->triplet;
  for (std::size_t k = 0; k < n; ++k) {
    out << (hidden_rest ? "      <note print-object=\"no\">" : "      <note>");
    if (k > 0) out << "<chord/>";
    if (pc.pitches.empty()) {
      const bool whole_bar = pc.pos == 0 && pc.value->ticks == s.bar_ticks;
      out << (whole_bar ? "<rest measure=\"yes\"/>" : "<rest/>");
    } else {
      const Spelling sp = spell_pitch(pc.pitches[k], s.key);
      out << "<pitch><step>" << sp.step << "</step>";
      if (sp.alter) out << "<alter>" << sp.alter << "</alter>";
      out << "<octave>" << sp.octave << "</octave></pitch>";
    }
    out << "<duration>" << pc.value->ticks << "</duration>";
    if (pc.tie_stop) out << "<tie type=\"stop\"/>";
    if (pc.tie_start) out << "<tie type=\"start\"/>";
    out << "<voice>" << voice << "</voice><type>" << pc.value->type << "</type>";
    for (int d = 0; d < pc.value->dots; ++d) out << "<dot/>";
    if (!pc.pitches.empty()) {
      const Spelling sp = spell_pitch(pc.pitches[k], s.key);
      const auto key = std::make_pair(sp.step, sp.octave);
      auto it = accidentals.find(key);
      if (it == accidentals.end()) it = accidentals.emplace(key, key_alter(sp.step)).first;
      if (it->second != sp.alter && !pc.tie_stop) {
        static const std::array<const char*, 5> names{"flat-flat", "flat", "natural", "sharp", "double-sharp"};
        out << "<accidental>" << names[static_cast<std::size_t>(sp.alter + 2)] << "</accidental>";
      }
      it->second = sp.alter;
    }
    if (pc.value->triplet) out << "<time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification>";
    if (s.staves() > 1) out << "<staff>" << staff << "</staff>";
    if (k == 0 && !pc.beam1.empty()) out << "<beam number=\"1\">" << pc.beam1 << "</beam>";
    if (k == 0 && !pc.beam2.empty()) out << "<beam number=\"2\">" << pc.beam2 << "</beam>";
    std::string notations;
    if (pc.tie_stop) notations += "<tied type=\"stop\"/>";
    if (pc.tie_start) notations += "<tied type=\"start\"/>";
    if (k == 0 && !pc.tuplet.empty()) notations += "<tuplet type=\"" + pc.tuplet + "\" bracket=\"yes\"/>";
    if (!notations.empty()) out << "<notations>" << notations << "</notations>";
    out << "</note>\n";
  }
}

void Writer::write_bar(long bar, const std::map<int, std::vector<Chord>>& voices) {
  out << "    <measure number=\"" << bar + 1 << "\">\n";
  if (bar == 0) write_attributes();
  const long b0 = bar * s.bar_ticks, b1 = b0 + s.bar_ticks;
  bool first = true;
  std::map<int, std::map<std::pair<char, int>, int>> accidentals;  // per staff: (step, octave) -> alter in force
  for (const auto& [voice, chords] : voices) {
    const int staff = voice > 4 ? 2 : 1;
    const bool plays = std::any_of(chords.begin(), chords.end(), [&](const Chord& c) { return c.start < b1 && c.start + c.duration > b0; });
    if (!plays && !first_voice(voice)) continue;
    if (!first) out << "      <backup><duration>" << s.bar_ticks << "</duration></backup>\n";
    first = false;
    for (const Piece& pc : bar_pieces(chords, bar)) write_piece(pc, voice, staff, accidentals[staff]);
  }
  if (bar + 1 == s.n_bars) out << "      <barline location=\"right\"><bar-style>light-heavy</bar-style></barline>\n";
  out << "    </measure>\n";
}

}  // namespace

std::string write_musicxml(const Score& score, const MusicXmlOptions& options) {
  Writer w(score);
  // Voices as chord lists (a chord: notes of one voice with the same start and duration).
  std::map<int, std::vector<Chord>> voices;
  voices[1];
  if (score.staves() > 1) voices[5];
  for (const ScoreNote& n : score.notes) {
    if (n.duration <= 0 || n.start < 0) throw Error("MusicXML: a note has no duration or starts before bar 1");
    auto& v = voices[n.voice];
    if (!v.empty() && v.back().start == n.start && v.back().duration == n.duration) v.back().pitches.push_back(n.pitch);
    else v.push_back({n.start, n.duration, {n.pitch}});
  }
  for (auto& [id, chords] : voices) {
    std::sort(chords.begin(), chords.end(), [](const Chord& a, const Chord& b) { return a.start < b.start; });
    for (auto& c : chords) std::sort(c.pitches.begin(), c.pitches.end());
  }
  w.write_header(options);
  for (long bar = 0; bar < std::max(1, score.n_bars); ++bar) w.write_bar(bar, voices);
  w.out << "  </part>\n</score-partwise>\n";
  return w.out.str();
}

}  // namespace qs
