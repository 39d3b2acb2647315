// Audio in and out of the page: decoding files with Web Audio (resampled to the model's rate and
// mixed to mono), playback of a mono buffer, and a readable error for files that are not audio.

export const MAX_SECONDS = 45 * 60;
export const MIN_SECONDS = 0.1;  // shorter than the shortest note the decoder keeps, and then some

const tag = (bytes, o) => String.fromCharCode(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);

// Chromium decodes a WAV whose data chunk is cut short without complaint; check the RIFF header
// ourselves so a truncated file is reported instead of silently transcribed in part. Returns the
// length in seconds the header announces, or null.
function checkWav(bytes, name) {
  if (bytes.length < 12) return null;
  if (tag(bytes, 0) !== 'RIFF' || tag(bytes, 8) !== 'WAVE') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 12, byteRate = 0;
  while (o + 8 <= bytes.length) {
    const id = tag(bytes, o), size = view.getUint32(o + 4, true);
    if (id === 'fmt ' && o + 20 <= bytes.length) byteRate = view.getUint32(o + 16, true);
    if (id === 'data') {
      if (size !== 0xffffffff && o + 8 + size > bytes.length)
        throw new Error(`"${name}" is a truncated WAV file: its header announces ${size} bytes of audio but only ${bytes.length - o - 8} are there.`);
      return size !== 0xffffffff && byteRate > 0 ? size / byteRate : null;
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`"${name}" is a truncated WAV file: it has no audio data.`);
}

// The length in seconds a FLAC (STREAMINFO) or Ogg Vorbis / Opus file (the last page's granule
// position) announces, or null: a long file is refused before the browser decodes all of it.
function headerSeconds(bytes) {
  if (bytes.length >= 26 && tag(bytes, 0) === 'fLaC' && (bytes[4] & 0x7f) === 0) {
    const rate = (bytes[18] << 12) | (bytes[19] << 4) | (bytes[20] >> 4);
    const total = (bytes[21] & 0x0f) * 2 ** 32 + ((bytes[22] << 24) >>> 0) + (bytes[23] << 16) + (bytes[24] << 8) + bytes[25];
    return rate > 0 && total > 0 ? total / rate : null;
  }
  if (bytes.length >= 64 && tag(bytes, 0) === 'OggS') {
    const p = 27 + bytes[26];  // the first packet, after the segment table
    if (p + 16 > bytes.length) return null;
    const head = new TextDecoder('latin1').decode(bytes.subarray(p, p + 8));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rate = head.startsWith('\x01vorbis') ? view.getUint32(p + 12, true) : head === 'OpusHead' ? 48000 : 0;
    if (!rate) return null;
    for (let o = bytes.length - 27; o >= Math.max(0, bytes.length - 65536); o--) {
      if (bytes[o] === 0x4f && tag(bytes, o) === 'OggS') {
        const granule = view.getUint32(o + 6, true) + view.getUint32(o + 10, true) * 2 ** 32;
        return granule > 0 && granule < 2 ** 53 ? granule / rate : null;
      }
    }
  }
  return null;
}

const tooLong = (name, seconds) =>
  new Error(`"${name}" is ${Math.round(seconds / 60)} minutes long; the limit is ${MAX_SECONDS / 60} minutes. ` +
            'Cut it into parts (or transcribe it with the qscribe command-line tool, which has no limit).');

// Decodes a file into an AudioBuffer at `rate` Hz (the browser resamples). Throws an Error with a
// user-readable message.
export async function decodeAudioFile(arrayBuffer, rate, name) {
  if (!arrayBuffer || arrayBuffer.byteLength === 0) throw new Error(`"${name}" is empty.`);
  const bytes = new Uint8Array(arrayBuffer);
  if (bytes.length >= 4 && tag(bytes, 0) === 'MThd')
    throw new Error(`"${name}" is a MIDI file: it holds notes already, not audio. Open a recording (WAV, MP3, OGG, FLAC...).`);
  const announced = checkWav(bytes, name) ?? headerSeconds(bytes);
  if (announced !== null && announced > MAX_SECONDS) throw tooLong(name, announced);
  const ctx = new OfflineAudioContext(1, 1, rate);
  let audio;
  try {
    audio = await ctx.decodeAudioData(arrayBuffer);
  } catch (e) {
    throw new Error(`"${name}" could not be read as audio (${e.message || e}). ` +
                    'Open a WAV, MP3, OGG, FLAC or another format your browser plays.');
  }
  if (audio.length === 0) throw new Error(`"${name}" contains no audio.`);
  if (audio.duration > MAX_SECONDS) throw tooLong(name, audio.duration);
  if (audio.duration < MIN_SECONDS)
    throw new Error(`"${name}" is too short to transcribe: ${audio.length} sample${audio.length > 1 ? 's' : ''} ` +
                    `(${(audio.duration * 1000).toFixed(2)} ms); a note needs at least ${MIN_SECONDS * 1000} ms.`);
  return audio;
}

// Mixes an AudioBuffer down to mono into `out` (a Float32Array of audio.length samples, e.g. a
// view of the wasm heap: a long file is never copied once more). Samples that are not numbers
// (NaN, infinite: a damaged float WAV) become silence, since one would spread over the whole
// spectrogram; returns how many there were.
export function mixToMono(audio, out) {
  out.set(audio.getChannelData(0));
  if (audio.numberOfChannels > 1) {
    for (let c = 1; c < audio.numberOfChannels; c++) {
      const ch = audio.getChannelData(c);
      for (let i = 0; i < ch.length; i++) out[i] += ch[i];
    }
    const g = 1 / audio.numberOfChannels;
    for (let i = 0; i < out.length; i++) out[i] *= g;
  }
  let bad = 0;
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      out[i] = 0;
      bad++;
    }
  }
  return bad;
}

// Why a file gave no notes, in words: silent, a constant (DC) offset only, or nothing special.
export function whyNoNotes(samples) {
  let peak = 0, sum = 0;
  for (let i = 0; i < samples.length; i++) {
    peak = Math.max(peak, Math.abs(samples[i]));
    sum += samples[i];
  }
  if (peak < 1e-4) return 'it is silent';
  const mean = sum / samples.length;
  let swing = 0;
  for (let i = 0; i < samples.length; i++) swing = Math.max(swing, Math.abs(samples[i] - mean));
  if (swing < 1e-4) return 'it holds only a constant offset (DC), no sound';
  return '';
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
