// qscribe's page: boots the wasm app (C++ owns state, DSP and drawing) and gives it what only
// JavaScript can do: file decoding, the microphone, ONNX Runtime Web, playback and downloads.
// Also the page's API, window.qscribe (docs/web-api.md).
import createQscribe from './qscribe_web.js';
import { Model } from './model.js';
import { decodeAudioFile, mixToMono, Player } from './audio.js';
import { Microphone } from './microphone.js';
import { ScoreView } from './score.js';

// Full file names, so that scripts/build-site can point them at its content-hashed copies.
const MODEL_JSON = new URL('models/qscribe-default.json', import.meta.url).href;
const MODEL_ONNX = new URL('models/qscribe-default.onnx', import.meta.url).href;
const canvas = document.getElementById('canvas');
canvas.addEventListener('contextmenu', (e) => e.preventDefault());
const fileInput = document.getElementById('file');
const player = new Player();
const mic = new Microphone();
let core = null, model = null, decodeCancelled = false, liveBusy = false, scoreView = null;

const host = {
  openFileDialog: () => { fileInput.value = ''; fileInput.click(); },
  download(name, bytes, mime) {
    const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
    const a = Object.assign(document.createElement('a'), { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  },
  play: (ptr, n, rate, offset, key) => player.play(core.HEAPF32.subarray(ptr >> 2, (ptr >> 2) + n), rate, offset, key),
  pause: () => player.pause(),
  playbackTime: () => player.time(),
  startMicrophone: (rate) => startLive(rate),
  stopMicrophone: () => { mic.stop(); liveBusy = false; },
  cancelDecoding: () => { decodeCancelled = true; },
  scorePanel(x, y, w, h) {
    const b = canvas.getBoundingClientRect();
    if (scoreView) scoreView.place(b.left + x, b.top + y, w, h);
  },
};

const call = (name, ...args) => core.ccall(name, 'number', args.map((a) => (typeof a === 'string' ? 'string' : 'number')), args);
const text = (ptr) => core.UTF8ToString(ptr);
const state = () => JSON.parse(text(core._qs_state_json()));
const notes = () => JSON.parse(text(core._qs_notes_json())).notes;
const yieldTask = () => new Promise((r) => setTimeout(r, 0));

// Runs the model request the C++ side left in slot `which` (0: file job, 1: live) and writes the
// logits back into its buffers.
async function runRequest(which) {
  const b = core._qs_request_batch(which), f = core._qs_request_frames(which), bins = core._qs_request_bins(which);
  const p = core._qs_request_input(which) >> 2;
  const input = core.HEAPF32.slice(p, p + b * f * bins);
  const out = await model.run(input, b, f, bins);
  core.HEAPF32.set(out.frame, core._qs_request_frame_logits(which) >> 2);
  core.HEAPF32.set(out.onset, core._qs_request_onset_logits(which) >> 2);
}

function fail(message) {
  call('qs_fail', message);
  return new Error(message);
}

// The whole-file pipeline: decode -> (C++: CQT, windows) -> model -> (C++: notes).
async function transcribe(arrayBuffer, name = 'audio') {
  await api.ready;
  if (!core._qs_begin_decoding()) throw new Error('Busy: a transcription is already running.');
  decodeCancelled = false;
  const timing = { decodeMs: 0, modelMs: 0, coreMs: 0, totalMs: 0 };
  const t0 = performance.now();
  let audio;
  try {
    audio = await decodeAudioFile(arrayBuffer, model.config.features.sample_rate, name);
  } catch (e) {
    throw fail(e.message);
  }
  if (decodeCancelled) throw fail('Cancelled.');
  timing.decodeMs = performance.now() - t0;
  const ptr = core._qs_file_alloc(audio.length);
  if (!ptr) throw fail(`"${name}" is too long to hold in this browser's memory.`);
  mixToMono(audio, core.HEAPF32.subarray(ptr >> 2, (ptr >> 2) + audio.length));
  audio = null;
  call('qs_file_start', name);
  for (;;) {
    const ts = performance.now();
    const r = core._qs_job_step(12);
    timing.coreMs += performance.now() - ts;
    if (r === 0) break;
    if (r === 2) {
      const tm = performance.now();
      try {
        await runRequest(0);
        timing.modelMs += performance.now() - tm;
      } catch (e) {
        throw fail(`The model failed: ${e.message || e}`);
      }
      core._qs_job_model_done();
    } else if (r === 1) {
      await yieldTask();
    } else {
      throw new Error(text(core._qs_error()));
    }
  }
  timing.totalMs = performance.now() - t0;
  lastTiming = timing;
  return notes();
}

async function openFile(file) {
  const name = file.name.replace(/\.[^.]*$/, '') || 'audio';
  if (file.size > 1024 ** 3) { fail(`"${file.name}" is larger than 1 GB.`); return; }
  try {
    await transcribe(await file.arrayBuffer(), name);
  } catch (e) {
    console.warn(e.message);  // already shown in the page
  }
}

async function startLive(rate) {
  try {
    await mic.start(rate, onMicSamples, (message) => call('qs_live_failed', message));
    core._qs_live_started();
  } catch (e) {
    call('qs_live_failed', e.message);
  }
}

function onMicSamples(samples, arrivalMs) {
  if (!core._qs_live_active()) return;
  const p = core._qs_live_buffer(samples.length);
  core.HEAPF32.set(samples, p >> 2);
  core._qs_live_push(p, samples.length, arrivalMs);
  pumpLive();
}

let lastTiming = null;  // where the last transcribe() spent its time (benchmarks, state())
const liveTiming = { runs: 0, totalMs: 0 };  // model runs in live mode (benchmarks, state())

function pumpLive() {
  if (liveBusy || core._qs_live_step() !== 2) return;
  liveBusy = true;
  const t0 = performance.now();
  runRequest(1).then(() => {
    liveTiming.runs++;
    liveTiming.totalMs += performance.now() - t0;
    core._qs_live_model_done();
  }, (e) => call('qs_live_failed', `The model failed: ${e.message || e}`))
    .finally(() => { liveBusy = false; if (core._qs_live_active()) pumpLive(); });
}

async function boot() {
  core = await createQscribe({ canvas, host, print: console.log, printErr: console.warn });
  scoreView = new ScoreView(core, document.getElementById('score'));
  let config;
  try {
    const res = await fetch(MODEL_JSON);
    if (!res.ok) throw new Error(`${MODEL_JSON}: HTTP ${res.status}`);
    const json = await res.text();
    if (!call('qs_set_model', json)) throw new Error(text(core._qs_error()));
    config = JSON.parse(json);
    model = await Model.load(MODEL_ONNX, config);
  } catch (e) {
    call('qs_model_failed', e.message || String(e));
    throw e;
  }
}

// {tempo, timeSignature, key}: a field left out keeps its setting; null, 0, '' or 'auto' estimates
// it again. Resolves with analysis(); rejects with the reason for a bad value (nothing changes).
async function setAnalysis({ tempo, timeSignature, key } = {}) {
  await api.ready;
  const cur = state().overrides;
  const auto = (v) => v === null || v === 0 || v === '' || (typeof v === 'string' && v.trim().toLowerCase() === 'auto');
  const pick = (v, old, none) => (v === undefined ? old : auto(v) ? none : v);
  const t = Number(pick(tempo, cur.tempo, 0));
  if (!Number.isFinite(t)) throw new Error(`Tempo ${tempo}: not a number.`);
  const err = text(call('qs_set_analysis', t, String(pick(timeSignature, cur.timeSignature, '')), String(pick(key, cur.key, ''))));
  if (err) throw new Error(err);
  return api.analysis();
}

// Opens (true) or closes the Score view; resolves with scoreView() once it shows the engraving
// of the current notes (or its error), or once closed.
async function showScore(show = true) {
  await api.ready;
  core._qs_show_score(show ? 1 : 0);
  const t0 = performance.now();
  while (scoreView.visible !== !!show && performance.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 20));
  if (scoreView.visible !== !!show) throw new Error(`the Score view did not ${show ? 'open' : 'close'} (is a document open?)`);
  return show ? scoreView.whenRendered() : scoreView.info();
}

function withTiming(s) {
  s.live.modelMs = liveTiming.runs ? liveTiming.totalMs / liveTiming.runs : null;
  s.timing = lastTiming;
  return s;
}

const api = {
  version: '',
  ready: null,
  transcribe: (arrayBuffer, name) => transcribe(arrayBuffer.slice(0), name),
  notes: () => (core ? notes() : []),
  state: () => (core ? withTiming(state()) : { busy: false, error: '', noteCount: 0, modelLoaded: false, live: { active: false } }),
  uiRect: (id) => (core ? JSON.parse(text(call('qs_ui_rect', id))) : null),
  // Decoding thresholds, as the sliders (negative keeps a value): re-decodes at once.
  setDecoding: ({ onset = -1, frame = -1, minNoteLength = -1 } = {}) => core._qs_set_decoding(onset, frame, minNoteLength),
  openFile,
  // The musical reading of the notes (docs/web-api.md): null before there are notes.
  analysis: () => (core ? JSON.parse(text(core._qs_analysis_json())) : null),
  setAnalysis,
  musicxml: () => (core ? text(core._qs_musicxml()) : ''),
  showScore,
  scoreView: () => (scoreView ? scoreView.info() : null),
  // Spectrogram contrast: scales the level range (1 = 60 dB below the file's loud levels).
  setContrast: (contrast) => core._qs_set_contrast(contrast),
};
api.ready = boot().then(() => { api.version = text(core._qs_version()); });
api.ready.catch((e) => console.error('qscribe:', e.message || e));
window.qscribe = api;

fileInput.addEventListener('change', () => { if (fileInput.files[0]) openFile(fileInput.files[0]); });
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  const file = e.dataTransfer && e.dataTransfer.files[0];
  if (file && core && !state().busy) openFile(file);
});
