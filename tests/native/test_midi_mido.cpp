// Cross-check of the SMF reader/writer against Debian's python3-mido (native only: runs Python).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "qscribe/midi_file.hpp"
#include "qscribe/note_io.hpp"
#include "test_support.hpp"

namespace {

const char* kPython = "/usr/bin/python3";

bool mido_available() {
  static const bool ok = std::system((std::string(kPython) + " -c 'import mido' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

// Runs a Python script with arguments; true on exit status 0.
bool run_python(const std::string& dir, const std::string& script, const std::string& args) {
  const std::string path = dir + "/script.py";
  std::ofstream(path) << script;
  return std::system((std::string(kPython) + " " + path + " " + args).c_str()) == 0;
}

// mido's view of a file: plain FIFO note pairing on its merged, tempo-aware message stream,
// written in qscribe's JSON note format (+ type, ticks_per_beat and length as metadata).
const char* kMidoReadScript = R"PY(
import json, sys
import mido
mf = mido.MidiFile(sys.argv[1])
t, active, out = 0.0, {}, []
for msg in mf:
    t += msg.time
    if msg.type == 'note_on' and msg.velocity > 0:
        active.setdefault((msg.channel, msg.note), []).append((t, msg.velocity))
    elif msg.type in ('note_on', 'note_off'):
        q = active.get((msg.channel, msg.note))
        if q:
            on, vel = q.pop(0)
            out.append(dict(onset=on, offset=t, pitch=msg.note, velocity=vel))
meta = dict(type=mf.type, ticks_per_beat=mf.ticks_per_beat, length=mf.length)
json.dump(dict(notes=out, metadata=meta), open(sys.argv[2], 'w'))
)PY";

// mido writes files with tempo changes in a conductor track, the pedal, drums, note-on velocity 0
// and a re-strike; the expected notes are worked out in MidoWritesOurReaderParses.
const char* kMidoWriteScript = R"PY(
import sys
import mido

def track(events):
    """events: (absolute tick, message) -> a MidiTrack with delta times."""
    tr, last = mido.MidiTrack(), 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        tr.append(msg.copy(time=tick - last))
        last = tick
    return tr

M, Meta = mido.Message, mido.MetaMessage
conductor = track([(0, Meta('set_tempo', tempo=500000)), (960, Meta('set_tempo', tempo=250000)),
                   (1920, Meta('set_tempo', tempo=1000000))])
piano = track([(0, M('program_change', channel=0, program=0)),
               (0, M('note_on', channel=0, note=60, velocity=100)), (480, M('note_off', channel=0, note=60)),
               (960, M('control_change', channel=0, control=64, value=127)),
               (960, M('note_on', channel=0, note=64, velocity=90)),
               (1200, M('note_on', channel=0, note=64, velocity=0)),
               (1920, M('control_change', channel=0, control=64, value=0)),
               (1920, M('note_on', channel=0, note=67, velocity=80)),
               (2400, M('note_on', channel=0, note=67, velocity=0))])
other = track([(0, M('note_on', channel=9, note=36, velocity=120)), (480, M('note_off', channel=9, note=36)),
               (0, M('note_on', channel=1, note=48, velocity=70)),
               (480, M('note_on', channel=1, note=48, velocity=71)),
               (960, M('note_off', channel=1, note=48)), (1440, M('note_off', channel=1, note=48)),
               (480, M('note_on', channel=1, note=72, velocity=60)),
               (2400, M('control_change', channel=1, control=64, value=127)),
               (2880, M('note_off', channel=1, note=72)),
               (3360, M('control_change', channel=1, control=64, value=0))])
mf = mido.MidiFile(type=1, ticks_per_beat=480)
mf.tracks.extend([conductor, piano, other])
mf.save(sys.argv[1])
mf0 = mido.MidiFile(type=0, ticks_per_beat=480)
mf0.tracks.append(mido.merge_tracks(mf.tracks))
mf0.save(sys.argv[2])
open(sys.argv[3], 'w').write(repr(mf.length))
)PY";

// Random multi-track files (tempo changes, pedal, re-strikes, velocity-0 note-offs, drums) and
// the scorer's own reading of them (../shared/eval/midinotes.py) as NAME.json note lists.
const char* kRandomFilesScript = R"PY(
import json, random, sys
import mido
sys.path.insert(0, sys.argv[1])
from midinotes import midi_notes
M, Meta = mido.Message, mido.MetaMessage
random.seed(4)
for f in range(int(sys.argv[3])):
    mf = mido.MidiFile(type=random.choice([0, 1]), ticks_per_beat=random.choice([96, 384, 480]))
    for k in range(1 if mf.type == 0 else random.randint(1, 4)):
        tr = mido.MidiTrack()
        for e in range(random.randint(0, 80)):
            dt, r = random.choice([0, 0, 1, 10, 48, 96, 200]), random.random()
            ch, p = random.choice([0, 0, 1, 2, 9]), random.randint(58, 64)
            if r < 0.35: tr.append(M('note_on', channel=ch, note=p, velocity=random.randint(1, 127), time=dt))
            elif r < 0.55: tr.append(M('note_off', channel=ch, note=p, time=dt))
            elif r < 0.65: tr.append(M('note_on', channel=ch, note=p, velocity=0, time=dt))
            elif r < 0.8: tr.append(M('control_change', channel=ch, control=64, value=random.choice([0, 63, 64, 127]), time=dt))
            elif r < 0.9: tr.append(Meta('set_tempo', tempo=random.randint(100000, 2000000), time=dt))
            else: tr.append(M('program_change', channel=ch, program=random.randint(0, 127), time=dt))
        mf.tracks.append(tr)
    path = '%s/r%d' % (sys.argv[2], f)
    mf.save(path + '.mid')
    notes, end = midi_notes(path + '.mid', pedal=True)
    out = [dict(onset=n.onset, offset=n.offset, pitch=n.pitch, velocity=n.velocity) for n in notes]
    json.dump(dict(notes=out, metadata=dict(end=end)), open(path + '.json', 'w'))
)PY";

// (onset, pitch, offset, velocity) order: notes equal but for velocity (other channels) compare.
qs::NoteList full_order(qs::NoteList notes) {
  for (auto& n : notes) {  // snap float noise so ties stay ties
    n.onset = std::round(n.onset * 1e6) / 1e6;
    n.offset = std::round(n.offset * 1e6) / 1e6;
  }
  std::sort(notes.begin(), notes.end(), [](const qs::Note& a, const qs::Note& b) {
    return std::tie(a.onset, a.pitch, a.offset, a.velocity) < std::tie(b.onset, b.pitch, b.offset, b.velocity);
  });
  return notes;
}

qs::NoteList by_pitch(qs::NoteList notes) {
  std::sort(notes.begin(), notes.end(), [](const qs::Note& a, const qs::Note& b) {
    return a.pitch != b.pitch ? a.pitch < b.pitch : a.onset < b.onset;
  });
  return notes;
}

TEST(MidiMido, MidoReadsOurWriterOutput) {
  ASSERT_TRUE(mido_available()) << "python3-mido is not installed (scripts/setup.sh installs it)";
  const std::string dir = qs::test::temp_dir("mido-read");
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> onset(0.0, 20.0), length(0.02, 2.0);
  qs::NoteList notes;
  for (int i = 0; i < 200; ++i) {
    const double on = onset(rng);
    const int pitch = 21 + static_cast<int>(rng() % 88);
    const bool clash = std::any_of(notes.begin(), notes.end(), [&](const qs::Note& n) {
      return n.pitch == pitch && on < n.offset + 0.05 && n.onset < on + 2.05;
    });
    if (!clash) notes.push_back({on, on + length(rng), pitch, 1 + static_cast<int>(rng() % 127)});
  }
  for (int format : {0, 1}) {
    qs::MidiWriteOptions options;
    options.format = format;
    options.program = 40;
    const std::string mid = dir + "/ours" + std::to_string(format) + ".mid";
    const std::string json = dir + "/mido" + std::to_string(format) + ".json";
    qs::write_midi_file(mid, notes, options);
    ASSERT_TRUE(run_python(dir, kMidoReadScript, mid + " " + json)) << "mido could not read " << mid;

    nlohmann::json meta;
    const qs::NoteList theirs = by_pitch(qs::read_notes_json(json, &meta));
    EXPECT_EQ(meta["type"], format);
    EXPECT_EQ(meta["ticks_per_beat"], 480);
    const qs::NoteList expect = by_pitch(notes);
    ASSERT_EQ(theirs.size(), expect.size());
    const double tick = 60.0 / (120.0 * 480);
    for (std::size_t i = 0; i < expect.size(); ++i) {
      EXPECT_NEAR(theirs[i].onset, expect[i].onset, tick) << i;
      EXPECT_NEAR(theirs[i].offset, expect[i].offset, tick) << i;
      EXPECT_EQ(theirs[i].pitch, expect[i].pitch) << i;
      EXPECT_EQ(theirs[i].velocity, expect[i].velocity) << i;
    }
  }
}

TEST(MidiMido, MidoWritesOurReaderParses) {
  ASSERT_TRUE(mido_available()) << "python3-mido is not installed (scripts/setup.sh installs it)";
  const std::string dir = qs::test::temp_dir("mido-write");
  const std::string type1 = dir + "/tempo1.mid", type0 = dir + "/tempo0.mid", length = dir + "/length.txt";
  ASSERT_TRUE(run_python(dir, kMidoWriteScript, type1 + " " + type0 + " " + length));
  double mido_length = 0;
  std::ifstream(length) >> mido_length;

  // Tempo: 0.5 s per quarter to tick 960 (1.0 s), 0.25 s to tick 1920 (1.5 s), then 1 s per quarter.
  const qs::NoteList expect = {
      {0.0, 0.5, 48, 70},    // ended by its re-strike
      {0.0, 0.5, 60, 100},
      {0.5, 1.0, 48, 71},    // FIFO pairing: the second note-off finds nothing
      {0.5, 4.5, 72, 60},    // released at 3.5 s under channel 1's pedal, lifted at 4.5 s
      {1.0, 1.5, 64, 90},    // note-on velocity 0 at 1.125 s under the pedal, lifted at 1.5 s
      {1.5, 2.5, 67, 80},
  };  // the drum note on channel 10 is dropped
  for (const std::string& path : {type1, type0}) {
    const std::vector<std::uint8_t> bytes = qs::test::read_bytes(path);
    const qs::MidiContents c = qs::parse_midi(bytes.data(), bytes.size());
    ASSERT_EQ(c.notes.size(), expect.size()) << path;
    for (std::size_t i = 0; i < expect.size(); ++i) {
      EXPECT_NEAR(c.notes[i].onset, expect[i].onset, 1e-9) << path << " note " << i;
      EXPECT_NEAR(c.notes[i].offset, expect[i].offset, 1e-9) << path << " note " << i;
      EXPECT_EQ(c.notes[i].pitch, expect[i].pitch) << path << " note " << i;
      EXPECT_EQ(c.notes[i].velocity, expect[i].velocity) << path << " note " << i;
    }
    EXPECT_NEAR(c.end_time, mido_length, 1e-9) << path;
    EXPECT_EQ(c.ppq, 480);
  }
}

TEST(MidiMido, SameNotesAsTheScorersReader) {
  ASSERT_TRUE(mido_available()) << "python3-mido is not installed (scripts/setup.sh installs it)";
  const std::string eval_dir = std::string(QSCRIBE_SOURCE_DIR) + "/../shared/eval";
  ASSERT_TRUE(std::ifstream(eval_dir + "/midinotes.py").good()) << "no " << eval_dir << "/midinotes.py (the referee scripts beside the repository)";
  const std::string dir = qs::test::temp_dir("mido-scorer");
  const int n_files = 150;
  ASSERT_TRUE(run_python(dir, kRandomFilesScript, eval_dir + " " + dir + " " + std::to_string(n_files)));
  std::size_t total = 0;
  for (int f = 0; f < n_files; ++f) {
    const std::string name = dir + "/r" + std::to_string(f);
    nlohmann::json meta;
    const qs::NoteList theirs = full_order(qs::read_notes_json(name + ".json", &meta));
    const std::vector<std::uint8_t> bytes = qs::test::read_bytes(name + ".mid");
    const qs::MidiContents contents = qs::parse_midi(bytes.data(), bytes.size());
    const qs::NoteList ours = full_order(contents.notes);
    ASSERT_EQ(ours.size(), theirs.size()) << name;
    EXPECT_NEAR(contents.end_time, meta["end"].get<double>(), 1e-9) << name;
    for (std::size_t i = 0; i < theirs.size(); ++i) {
      // Float sums of tempo segments differ in the last bits only (then snapped to a 1 µs grid).
      EXPECT_NEAR(ours[i].onset, theirs[i].onset, 1.5e-6) << name << " note " << i;
      EXPECT_NEAR(ours[i].offset, theirs[i].offset, 1.5e-6) << name << " note " << i;
      EXPECT_EQ(ours[i].pitch, theirs[i].pitch) << name << " note " << i;
      EXPECT_EQ(ours[i].velocity, theirs[i].velocity) << name << " note " << i;
    }
    total += theirs.size();
  }
  EXPECT_GT(total, 1000u);
}

}  // namespace
