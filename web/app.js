// Minimal page over the wasm core: decode a file with Web Audio, resample to 22050 Hz mono,
// compute the CQT in wasm, draw it. The full app (piano roll, model, MIDI) grows from here.
import createQscribe from './qscribe_web.js';

const SR = 22050;
const statusEl = document.getElementById('status');
const canvas = document.getElementById('spectrogram');

function setStatus(text, isError = false) {
  statusEl.textContent = text;
  statusEl.classList.toggle('error', isError);
}

async function decodeToMono22050(arrayBuffer) {
  const ctx = new AudioContext();
  let decoded;
  try {
    decoded = await ctx.decodeAudioData(arrayBuffer);
  } catch (e) {
    throw new Error('this file is not audio the browser can decode');
  } finally {
    ctx.close();
  }
  if (decoded.length === 0) throw new Error('the file contains no audio');
  const frames = Math.ceil(decoded.duration * SR);
  const offline = new OfflineAudioContext(1, frames, SR);  // mixes channels down and resamples
  const src = offline.createBufferSource();
  src.buffer = decoded;
  src.connect(offline.destination);
  src.start();
  return (await offline.startRendering()).getChannelData(0);
}

function drawSpectrogram(mags, nFrames, nBins) {
  canvas.width = Math.max(1, nFrames);
  canvas.height = nBins;
  const g = canvas.getContext('2d');
  const img = g.createImageData(nFrames, nBins);
  let max = 1e-9;
  for (let i = 0; i < mags.length; i++) max = Math.max(max, mags[i]);
  for (let t = 0; t < nFrames; t++) {
    for (let b = 0; b < nBins; b++) {
      const db = 20 * Math.log10(mags[t * nBins + b] / max + 1e-9);
      const v = Math.max(0, Math.min(1, (db + 80) / 80));
      const o = ((nBins - 1 - b) * nFrames + t) * 4;  // low notes at the bottom
      img.data[o] = 255 * Math.min(1, v * 1.6);
      img.data[o + 1] = 255 * Math.max(0, v * 1.6 - 0.6);
      img.data[o + 2] = 255 * (0.4 * v + 0.6 * Math.max(0, v - 0.6) * 2.5);
      img.data[o + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
}

const core = await createQscribe();
const qs = {
  version: core.UTF8ToString(core.ccall('qs_version', 'number', [], [])),
  cqt: core.cwrap('qs_cqt', 'number', ['number', 'number']),
  bins: core.cwrap('qs_cqt_bins', 'number', []),
  data: core.cwrap('qs_cqt_data', 'number', []),
  lastError: () => core.UTF8ToString(core.ccall('qs_last_error', 'number', [], [])),
};
document.getElementById('version').textContent = 'v' + qs.version;
setStatus('Ready. Open an audio file.');

document.getElementById('file').addEventListener('change', async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  try {
    setStatus(`Decoding ${file.name}…`);
    const samples = await decodeToMono22050(await file.arrayBuffer());
    setStatus('Computing the constant-Q transform…');
    const ptr = core._malloc(samples.length * 4);
    core.HEAPF32.set(samples, ptr / 4);
    const t0 = performance.now();
    const nFrames = qs.cqt(ptr, samples.length);
    const ms = performance.now() - t0;
    core._free(ptr);
    if (nFrames < 0) throw new Error(qs.lastError());
    const nBins = qs.bins();
    const mags = core.HEAPF32.slice(qs.data() / 4, qs.data() / 4 + nFrames * nBins);
    drawSpectrogram(mags, nFrames, nBins);
    const seconds = samples.length / SR;
    setStatus(`${file.name}: ${seconds.toFixed(1)} s, ${nFrames} frames × ${nBins} bins; CQT in ${ms.toFixed(0)} ms (${(seconds / (ms / 1000)).toFixed(0)}× real time)`);
  } catch (e) {
    setStatus(`${file.name}: ${e.message}`, true);
  } finally {
    ev.target.value = '';
  }
});
