#include "qscribe/key_finder.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "qscribe/error.hpp"

namespace qs {

namespace {

// Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
constexpr std::array<double, 12> kMajorProfile{6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr std::array<double, 12> kMinorProfile{6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

int mod(int a, int m) { return ((a % m) + m) % m; }

// Line of fifths: position p names F C G D A E B at -1..5; each 7 steps adds a sharp.
Spelling name_of_fifth(int p) {
  Spelling s;
  s.step = "FCGDAEB"[mod(p + 1, 7)];
  s.alter = static_cast<int>(std::floor((p + 1) / 7.0));
  return s;
}
int pitch_class_of_fifth(int p) { return mod(p * 7, 12); }
// The line-of-fifths position of a pitch class nearest to `lo` from above (lo .. lo + 11).
int fifth_in_window(int pc, int lo) {
  const int base = mod(pc * 7, 12);  // C=0, G=1, ... F=11 (E#)
  return lo + mod(base - lo, 12);
}

double correlation(const std::array<double, 12>& a, const std::array<double, 12>& b) {
  double ma = 0, mb = 0;
  for (int i = 0; i < 12; ++i) ma += a[i], mb += b[i];
  ma /= 12, mb /= 12;
  double sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < 12; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

}  // namespace

int Key::tonic_pitch_class() const { return pitch_class_of_fifth(fifths + (minor ? 3 : 0)); }

std::string Key::tonic_name() const {
  const Spelling s = name_of_fifth(fifths + (minor ? 3 : 0));
  std::string n(1, s.step);
  for (int i = 0; i < s.alter; ++i) n += '#';
  for (int i = 0; i > s.alter; --i) n += 'b';
  return n;
}

std::string Key::name() const { return tonic_name() + (minor ? " minor" : " major"); }

Key parse_key(const std::string& text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  const std::string bad = "key \"" + text + "\": expected a tonic and a mode, e.g. \"Eb major\", \"F# minor\", \"Am\"";
  if (t.empty()) throw Error(bad);
  const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(t[0])));
  const std::string letters = "FCGDAEB";
  const auto li = letters.find(letter);
  if (li == std::string::npos) throw Error(bad);
  std::size_t i = 1;
  int alter = 0;
  if (i < t.size() && (t[i] == '#' || t[i] == 'b')) alter = t[i++] == '#' ? 1 : -1;
  std::string mode = t.substr(i);
  for (auto& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Key k;
  if (mode == "m" || mode == "min" || mode == "minor") k.minor = true;
  else if (!(mode.empty() || mode == "maj" || mode == "major")) throw Error(bad);
  const int tonic = static_cast<int>(li) - 1 + 7 * alter;
  k.fifths = k.minor ? tonic - 3 : tonic;
  if (k.fifths < -7 || k.fifths > 7) throw Error("key \"" + text + "\": more than 7 sharps or flats");
  return k;
}

Key estimate_key(const NoteList& notes) {
  std::array<double, 12> hist{};
  for (const Note& n : notes) hist[static_cast<std::size_t>(mod(n.pitch, 12))] += std::clamp(n.offset - n.onset, 0.05, 2.0);
  Key best;
  double best_r = -2.0;
  for (int pc = 0; pc < 12; ++pc)
    for (bool minor : {false, true}) {
      std::array<double, 12> rotated{};
      for (int i = 0; i < 12; ++i) rotated[static_cast<std::size_t>(mod(pc + i, 12))] = (minor ? kMinorProfile : kMajorProfile)[static_cast<std::size_t>(i)];
      const double r = correlation(hist, rotated);
      if (r > best_r + 1e-12) {
        best_r = r;
        best.minor = minor;
        // Signatures of at most 6 accidentals: F# major and Eb minor rather than Gb major and D# minor.
        best.fifths = minor ? fifth_in_window(mod(pc + 3, 12), -6) : fifth_in_window(pc, -5);
      }
    }
  return best;
}

Spelling spell_pitch(int midi_pitch, const Key& key) {
  // Window of twelve names around the key: in C major Ab Eb Bb F C G D A E B F# C# (the flat
  // third, sixth and seventh, the sharp fourth and first); in A minor Eb .. G# (the leading tone).
  const int lo = key.minor ? key.fifths - 3 : key.fifths - 4;
  Spelling s = name_of_fifth(fifth_in_window(mod(midi_pitch, 12), lo));
  const int natural = mod(static_cast<int>(std::string("C D EF G A B").find(s.step)), 12);
  s.octave = static_cast<int>(std::floor((midi_pitch - s.alter - natural) / 12.0)) - 1;
  return s;
}

}  // namespace qs
