// Bad and borderline input files for e2e.bad_inputs, written in JavaScript at test time (no tools
// needed): WAVs of any rate, channel count and sample format, a PNG, a MIDI file, a long WAV.
import { writeMidi } from './midi.mjs';

// A RIFF/WAVE file. format: 'pcm16', 'pcm8' or 'float32'; sample(i, ch) gives a value in
// [-1, 1] (float32 may return anything, NaN and Infinity included).
export function wav({ rate = 22050, channels = 1, frames, format = 'pcm16', sample = () => 0 }) {
  const bytesPer = format === 'pcm8' ? 1 : format === 'pcm16' ? 2 : 4;
  const dataBytes = frames * channels * bytesPer;
  const b = Buffer.alloc(44 + dataBytes + (dataBytes & 1));
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + dataBytes + (dataBytes & 1), 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(format === 'float32' ? 3 : 1, 20);  // 3: IEEE float
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * channels * bytesPer, 28);
  b.writeUInt16LE(channels * bytesPer, 32);
  b.writeUInt16LE(bytesPer * 8, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(dataBytes, 40);
  let o = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, o += bytesPer) {
      const v = sample(i, c);
      if (format === 'float32') b.writeFloatLE(v, o);
      else if (format === 'pcm16') b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), o);
      else b.writeUInt8(Math.max(0, Math.min(255, Math.round(128 + v * 127))), o);
    }
  }
  return b;
}

// A PCM WAV header for `seconds` of 8 kHz 8-bit mono silence followed by the data (0x80 bytes):
// a long file that costs one Buffer.alloc (3 hours: 86 MB).
export function longSilentWav(seconds, rate = 8000) {
  const dataBytes = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + dataBytes + (dataBytes & 1), 0x80);
  const h = wav({ rate, channels: 1, frames: 0, format: 'pcm8' });
  h.copy(b, 0, 0, 44);
  b.writeUInt32LE(36 + dataBytes + (dataBytes & 1), 4);
  b.writeUInt32LE(dataBytes, 40);
  return b;
}

// A sine tone (a piano-range pitch) for the cases whose content should not matter. It fades in
// over 10 ms, as a played note does: a sine switched on at full level starts with a click, and
// release 11's frame probability dips under its threshold in the frame after that click, which
// ends the note before its shortest length (the e2e tests are about the files, not the click).
export const tone = (rate, hz = 440, gain = 0.5) => (i) =>
  gain * Math.min(1, i / (0.01 * rate)) * Math.sin(2 * Math.PI * hz * i / rate);

// A 1x1 PNG (signature, IHDR, IDAT, IEND; the CRCs are not checked by anything here).
export function png() {
  return Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489' +
                     '0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082', 'hex');
}

export function midi() {
  return writeMidi([{ onset: 0, offset: 0.5, pitch: 60, velocity: 100 }, { onset: 0.5, offset: 1, pitch: 64, velocity: 100 }]);
}
