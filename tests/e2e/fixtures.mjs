// Test audio for the browser tests, rendered at test time: a MIDI file written here goes through
// `qscribe synth` (fluidsynth), whose NAME.mid then holds exactly the notes rendered. Also the
// native transcriber and the Python (mido / mir_eval) note helpers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SOURCE_DIR, log } from './browser.mjs';
import { writeMidiFile } from './midi.mjs';

export const PYTHON = '/usr/bin/python3';  // Debian's mido / mir_eval live here only
export const NOTES_TOOL = path.join(SOURCE_DIR, 'tests/e2e/notes_tool.py');
export const TIMGM = '/usr/share/sounds/sf2/TimGM6mb.sf2';
// The piano the shipped model was trained on (fluid-soundfont-gm): the fixtures test the app, so
// they stay inside what the model does well (its weaknesses are in models/README.md).
export const FLUID = '/usr/share/sounds/sf2/FluidR3_GM.sf2';

export function qscribeBin() {
  const bin = process.env.QSCRIBE_BIN || path.join(SOURCE_DIR, 'build/native/bin/qscribe');
  if (!fs.existsSync(bin)) throw new Error(`the native tool ${bin} is missing (build target qscribe, or set QSCRIBE_BIN)`);
  return bin;
}

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${e.status}): ${e.stderr || e.message}`);
  }
}

// A piano melody (16 notes, 0.5 s apart) then five close-position chords (3-4 notes, 1.5 s
// apart) between B3 and F5, every onset at least 0.5 s from the next. About 14 s.
export function uploadFixtureNotes() {
  const notes = [];
  const melody = [60, 64, 67, 72, 71, 67, 64, 62, 65, 69, 72, 77, 76, 72, 67, 59];
  melody.forEach((pitch, i) => notes.push({ onset: 0.5 + 0.5 * i, offset: 0.5 + 0.5 * i + 0.4, pitch, velocity: 96 }));
  const chords = [[60, 64, 67], [65, 69, 72], [67, 71, 74], [64, 67, 72], [62, 65, 69, 74]];
  chords.forEach((chord, i) => {
    for (const pitch of chord) notes.push({ onset: 8.75 + 1.5 * i, offset: 8.75 + 1.5 * i + 1.2, pitch, velocity: 100 });
  });
  return notes;
}

// Eight bars of 4/4 at 120 bpm in G major for the Score view: a right-hand melody in quarters and
// eighths over a left-hand bass in halves and wholes (a grand staff), starting half a second in
// (beat 1 of bar 1 at 0.5 s). Returns the notes; SCORE_FIXTURE holds the piece's facts.
export const SCORE_FIXTURE = { bpm: 120, timeSignature: '4/4', bars: 8, start: 0.5, key: 'G major' };
export function scoreFixtureNotes() {
  const beat = 60 / SCORE_FIXTURE.bpm;
  // [pitch, beats] per bar, right hand and left hand; each hand fills its four beats.
  const right = [
    [[67, 1], [71, 1], [74, 1], [71, 1]],
    [[72, 1], [69, 0.5], [71, 0.5], [72, 1], [76, 1]],
    [[74, 2], [71, 1], [67, 1]],
    [[69, 1], [66, 0.5], [67, 0.5], [69, 2]],
    [[71, 1], [74, 1], [79, 1], [74, 1]],
    [[76, 1], [72, 1], [69, 1], [72, 1]],
    [[71, 1], [69, 1], [67, 1], [66, 1]],
    [[67, 4]],
  ];
  const left = [
    [[43, 2], [50, 2]], [[48, 2], [45, 2]], [[43, 2], [47, 2]], [[50, 4]],
    [[43, 2], [55, 2]], [[48, 2], [45, 2]], [[50, 2], [38, 2]], [[43, 4]],
  ];
  const notes = [];
  for (const [hand, velocity] of [[right, 92], [left, 78]]) {
    hand.forEach((bar, b) => {
      let t = SCORE_FIXTURE.start + b * 4 * beat;
      for (const [pitch, beats] of bar) {
        notes.push({ onset: t, offset: t + beats * beat * 0.92, pitch, velocity });
        t += beats * beat;
      }
    });
  }
  return notes.sort((a, b) => a.onset - b.onset || a.pitch - b.pitch);
}

// A monophonic melody above C4 for the live test: 8 notes of 0.4 s (then 0.4 s of silence, so
// the fake microphone's loop restarts cleanly).
export const LIVE_MELODY = [67, 72, 76, 74, 79, 71, 69, 84];
export function liveFixtureNotes() {
  return LIVE_MELODY.map((pitch, i) => ({ onset: 0.4 * i, offset: 0.4 * i + 0.38, pitch, velocity: 100 }));
}

// Writes DIR/src/NAME.mid from `notes` and renders it with `qscribe synth` into DIR/NAME.wav +
// DIR/NAME.mid (the notes as rendered). Returns { wav, mid, notes } (notes read back with mido).
export function renderFixture(notes, dir, name, { soundfont = FLUID, sampleRate = 22050, tail = 0.5 } = {}) {
  const src = path.join(dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  writeMidiFile(path.join(src, `${name}.mid`), notes);
  run(qscribeBin(), ['synth', '--midi', path.join(src, `${name}.mid`), '--programs', 'piano', '--soundfont', soundfont,
                     '--sample-rate', String(sampleRate), '--tail', String(tail), '-j', '1', '-q', '-o', dir]);
  const wav = path.join(dir, `${name}.wav`);
  const mid = path.join(dir, `${name}.mid`);
  if (!fs.existsSync(wav) || !fs.existsSync(mid)) throw new Error(`qscribe synth wrote no ${wav} / ${mid}`);
  const rendered = midiNotes(mid);
  log(`fixture ${wav}: ${rendered.length} notes, ${(fs.statSync(wav).size / 1024).toFixed(0)} KiB`);
  return { wav, mid, notes: rendered };
}

// Tempo, time and key signature events and the notes in ticks of a MIDI file, read with mido.
export function midiMeta(file) {
  return JSON.parse(run(PYTHON, [NOTES_TOOL, 'midi-meta', file]));
}

// A MusicXML file read with Python's xml.etree: parts, measures per part, staves, notes, rests,
// time and key signature, whether every voice fills every bar (notes_tool.py).
export function musicxmlSummary(file) {
  return JSON.parse(run(PYTHON, [NOTES_TOOL, 'musicxml', file]));
}

// Notes of a MIDI file, read with mido (python3-mido).
export function midiNotes(file) {
  return JSON.parse(run(PYTHON, [NOTES_TOOL, 'midi', file]));
}

// mir_eval note precision/recall/F1, onset only (default 50 ms). ref/est: note arrays or files.
export function noteF1(ref, est, dir, { onsetTolerance = 0.05, label = 'f1' } = {}) {
  const file = (x, suffix) => {
    if (typeof x === 'string') return x;
    const f = path.join(dir, `${label}.${suffix}.json`);
    fs.writeFileSync(f, JSON.stringify(x));
    return f;
  };
  return JSON.parse(run(PYTHON, [NOTES_TOOL, 'f1', file(ref, 'ref'), file(est, 'est'),
                                 '--onset-tolerance', String(onsetTolerance)]));
}

// The native transcriber on `wav` -> OUT.tsv; returns the notes as written (onset offset pitch
// velocity; the header line is skipped).
export function nativeTranscribe(wav, tsv) {
  run(qscribeBin(), ['transcribe', wav, '-o', tsv, '--threads', '1', '-q']);
  return parseTsv(fs.readFileSync(tsv, 'utf8'));
}

// Note TSV (onset offset pitch [velocity]); '#' comments and non-numeric lines (a header) skipped.
export function parseTsv(text) {
  const notes = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 3 || f.slice(0, 3).some((x) => !Number.isFinite(x))) continue;
    notes.push({ onset: f[0], offset: f[1], pitch: f[2], velocity: f[3] });
  }
  return notes;
}

export function describe(notes, max = 12) {
  return notes.slice(0, max).map((n) => `${n.pitch}@${n.onset.toFixed(3)}`).join(' ') +
         (notes.length > max ? ` … (${notes.length})` : '');
}

// Length in seconds of a PCM WAV file (from its fmt and data chunks).
export function wavSeconds(file) {
  const b = fs.readFileSync(file);
  let pos = 12;
  let byteRate = 0;
  while (pos + 8 <= b.length) {
    const id = b.toString('latin1', pos, pos + 4);
    const size = b.readUInt32LE(pos + 4);
    if (id === 'fmt ') byteRate = b.readUInt32LE(pos + 16);
    if (id === 'data') return Math.min(size, b.length - pos - 8) / byteRate;
    pos += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}
