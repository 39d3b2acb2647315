// Audio in and out of the page: decoding files with Web Audio (resampled to the model's rate and
// mixed to mono), playback of a mono buffer, and a readable error for files that are not audio.

const MAX_SECONDS = 45 * 60;

// Chromium decodes a WAV whose data chunk is cut short without complaint; check the RIFF header
// ourselves so a truncated file is reported instead of silently transcribed in part.
function checkWav(bytes, name) {
  if (bytes.length < 12) return;
  const tag = (o) => String.fromCharCode(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 12;
  while (o + 8 <= bytes.length) {
    const id = tag(o), size = view.getUint32(o + 4, true);
    if (id === 'data') {
      if (size !== 0xffffffff && o + 8 + size > bytes.length)
        throw new Error(`"${name}" is a truncated WAV file: its header announces ${size} bytes of audio but only ${bytes.length - o - 8} are there.`);
      return;
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`"${name}" is a truncated WAV file: it has no audio data.`);
}

// Decodes a file into an AudioBuffer at `rate` Hz (the browser resamples). Throws an Error with a
// user-readable message.
export async function decodeAudioFile(arrayBuffer, rate, name) {
  if (!arrayBuffer || arrayBuffer.byteLength === 0) throw new Error(`"${name}" is empty.`);
  checkWav(new Uint8Array(arrayBuffer), name);
  const ctx = new OfflineAudioContext(1, 1, rate);
  let audio;
  try {
    audio = await ctx.decodeAudioData(arrayBuffer);
  } catch (e) {
    throw new Error(`"${name}" could not be read as audio (${e.message || e}). ` +
                    'Open a WAV, MP3, OGG, FLAC or another format your browser plays.');
  }
  if (audio.length === 0) throw new Error(`"${name}" contains no audio.`);
  if (audio.duration > MAX_SECONDS)
    throw new Error(`"${name}" is ${Math.round(audio.duration / 60)} minutes long; the limit is ${MAX_SECONDS / 60} minutes.`);
  return audio;
}

// Mixes an AudioBuffer down to mono into `out` (a Float32Array of audio.length samples, e.g. a
// view of the wasm heap: a long file is never copied once more).
export function mixToMono(audio, out) {
  out.set(audio.getChannelData(0));
  if (audio.numberOfChannels === 1) return;
  for (let c = 1; c < audio.numberOfChannels; c++) {
    const ch = audio.getChannelData(c);
    for (let i = 0; i < ch.length; i++) out[i] += ch[i];
  }
  const g = 1 / audio.numberOfChannels;
  for (let i = 0; i < out.length; i++) out[i] *= g;
}

// Plays mono buffers; keeps the last two converted buffers (original and synthesised) by key.
export class Player {
  constructor() { this.ctx = null; this.cache = new Map(); this.source = null; }

  play(samples, rate, offset, key) {
    if (!this.ctx) this.ctx = new AudioContext({ latencyHint: 'playback' });
    this.ctx.resume();
    this.pause();
    let buffer = this.cache.get(key);
    if (!buffer) {
      buffer = new AudioBuffer({ length: Math.max(1, samples.length), numberOfChannels: 1, sampleRate: rate });
      buffer.copyToChannel(samples, 0);
      this.cache.set(key, buffer);
      while (this.cache.size > 2) this.cache.delete(this.cache.keys().next().value);
    }
    const src = new AudioBufferSourceNode(this.ctx, { buffer });
    src.connect(this.ctx.destination);
    src.onended = () => { if (this.source === src) this.source = null; };
    src.start(0, Math.min(offset, buffer.duration));
    this.source = src;
    this.startedAt = this.ctx.currentTime;
    this.offset = offset;
  }

  pause() {
    if (this.source) {
      const s = this.source;
      this.source = null;
      s.onended = null;
      s.stop();
    }
  }

  // Seconds into the buffer, or -1 once playback has ended.
  time() {
    if (!this.source) return -1;
    return this.offset + (this.ctx.currentTime - this.startedAt);
  }
}
