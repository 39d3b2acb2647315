// A tiny Standard MIDI File writer for test fixtures: notes in seconds -> format-0 file with one
// tempo (120 bpm, 480 ticks per quarter = 960 ticks per second) and one program (0 = piano).
import fs from 'node:fs';

const TICKS_PER_QUARTER = 480;
const US_PER_QUARTER = 500000;
const TICKS_PER_SECOND = TICKS_PER_QUARTER * 1e6 / US_PER_QUARTER;

function varLen(n) {
  const bytes = [n & 0x7f];
  for (n >>= 7; n > 0; n >>= 7) bytes.unshift((n & 0x7f) | 0x80);
  return bytes;
}

// notes: [{ onset, offset, pitch, velocity }] (seconds, MIDI numbers). Returns a Buffer.
export function writeMidi(notes, { program = 0, channel = 0 } = {}) {
  const events = [];  // [tick, order, bytes]; note-offs sort before note-ons at the same tick
  for (const n of notes) {
    if (!(n.offset > n.onset) || n.pitch < 0 || n.pitch > 127) throw new Error(`bad note ${JSON.stringify(n)}`);
    const on = Math.round(n.onset * TICKS_PER_SECOND);
    const off = Math.round(n.offset * TICKS_PER_SECOND);
    events.push([on, 1, [0x90 | channel, n.pitch, n.velocity ?? 100]]);
    events.push([off, 0, [0x80 | channel, n.pitch, 64]]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const track = [
    0, 0xff, 0x51, 3, (US_PER_QUARTER >> 16) & 0xff, (US_PER_QUARTER >> 8) & 0xff, US_PER_QUARTER & 0xff,
    0, 0xc0 | channel, program,
  ];
  let last = 0;
  for (const [tick, , bytes] of events) {
    track.push(...varLen(tick - last), ...bytes);
    last = tick;
  }
  track.push(0, 0xff, 0x2f, 0);
  const header = Buffer.from([0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1,
                              TICKS_PER_QUARTER >> 8, TICKS_PER_QUARTER & 0xff]);
  const len = track.length;
  const trackHeader = Buffer.from([0x4d, 0x54, 0x72, 0x6b, (len >>> 24) & 0xff, (len >>> 16) & 0xff,
                                   (len >>> 8) & 0xff, len & 0xff]);
  return Buffer.concat([header, trackHeader, Buffer.from(track)]);
}

export function writeMidiFile(file, notes, options) {
  fs.writeFileSync(file, writeMidi(notes, options));
}
