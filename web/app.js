// qscribe's page: boots the wasm app (C++ owns state, DSP and drawing) and gives it what only
// JavaScript can do: file decoding, the microphone, ONNX Runtime Web, playback and downloads.
// Also the page's API, window.qscribe (docs/web-api.md).
import createQscribe from './qscribe_web.js';
import { Model } from './model.js';
import { decodeAudioFile, mixToMono, Player, whyNoNotes } from './audio.js';
import { Microphone } from './microphone.js';
import { ScoreView } from './score.js';

// Full file names, so that scripts/build-site can point them at its content-hashed copies.
const MODEL_JSON = new URL('models/qscribe-default.json', import.meta.url).href;
const MODEL_ONNX = new URL('models/qscribe-default.onnx', import.meta.url).href;
// The beat network the tracker follows (docs/score.md); without it the beats follow the notes.
const BEAT_NET = new URL('models/beat_net.json', import.meta.url).href;
const canvas = document.getElementById('canvas');
canvas.addEventListener('contextmenu', (e) => e.preventDefault());
const fileInput = document.getElementById('file');
const player = new Player();
const mic = new Microphone();
let core = null, model = null, decodeCancelled = false, liveBusy = false, scoreView = null;
// The bridge's codes (wasm/bridge.hpp), read from the core at boot: Step.* what qs_job_step and
// qs_live_step return, Slot.* which model request a qs_request_* call means.
let Step = null, Slot = null;
let cancelDecode = null;  // rejects the wait for the browser's decoder (Cancel while decoding)

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
  cancelDecoding: () => { decodeCancelled = true; if (cancelDecode) cancelDecode(); },
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

// The bridge's named codes as frozen objects; reading a name the core does not define throws
// (a misspelt or removed code must not quietly compare as undefined).
function bridgeConstants() {
  const strict = (group, values) => new Proxy(Object.freeze(values), {
    get(target, name) {
      if (typeof name === 'string' && !Object.hasOwn(target, name)) throw new Error(`qscribe: the core has no bridge code ${group}.${name}`);
      return target[name];
    },
  });
  const all = JSON.parse(text(core._qs_bridge_json()));
  return { Step: strict('Step', all.Step), Slot: strict('Slot', all.Slot) };
}

// Runs the model request the C++ side left in `slot` (Slot.FILE_JOB or Slot.LIVE) and writes the
// network's raw outputs back into its buffers (the core reads them as the sidecar says). Returns
// false, writing nothing, when no request waits there or it was replaced during the run (a
// cancelled job, live input stopped and started again): its *_model_done() must then not be called.
async function runRequest(slot) {
  const serial = core._qs_request_serial(slot);
  if (!serial) return false;
  const b = core._qs_request_batch(slot), f = core._qs_request_frames(slot), bins = core._qs_request_bins(slot);
  const want = b * f * core._qs_request_notes(slot);
  const p = core._qs_request_input(slot) >> 2;
  const input = core.HEAPF32.slice(p, p + b * f * bins);
  const out = await model.run(input, b, f, bins);
  if (core._qs_request_serial(slot) !== serial) return false;
  const onsetPtr = core._qs_request_onset_out(slot);
  if (out.frame.length !== want || (onsetPtr && out.onset.length !== want))
    throw new Error(`it gave ${out.frame.length} and ${out.onset?.length ?? 0} values, not ${want}`);
  core.HEAPF32.set(out.frame, core._qs_request_frame_out(slot) >> 2);
  if (onsetPtr) core.HEAPF32.set(out.onset, onsetPtr >> 2);
  return true;
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
    // The browser's decoder cannot be stopped: Cancel stops waiting for it (a long MP3 can take
    // half a minute) and its result is dropped.
    const cancelled = new Promise((_, reject) => { cancelDecode = () => reject(new Error('Cancelled.')); });
    audio = await Promise.race([decodeAudioFile(arrayBuffer, model.io.sampleRate, name), cancelled]);
  } catch (e) {
    throw fail(e.message);
  } finally {
    cancelDecode = null;
  }
  if (decodeCancelled) throw fail('Cancelled.');
  timing.decodeMs = performance.now() - t0;
  const ptr = core._qs_file_alloc(audio.length);
  if (!ptr) throw fail(`"${name}" is too long to hold in this browser's memory.`);
  const samples = audio.length;
  const badSamples = mixToMono(audio, core.HEAPF32.subarray(ptr >> 2, (ptr >> 2) + samples));
  audio = null;
  call('qs_file_start', name);
  for (;;) {
    const ts = performance.now();
    const r = core._qs_job_step(12);
    timing.coreMs += performance.now() - ts;
    if (r === Step.DONE) break;
    if (r === Step.NEED_MODEL) {
      const tm = performance.now();
      let answered;
      try {
        answered = await runRequest(Slot.FILE_JOB);
        timing.modelMs += performance.now() - tm;
      } catch (e) {
        throw fail(`The model failed: ${e.message || e}`);
      }
      if (answered) core._qs_job_model_done();  // else the job is gone: the next step says why
    } else if (r === Step.WORKING) {
      await yieldTask();
    } else {
      throw new Error(text(core._qs_error()));
    }
  }
  timing.totalMs = performance.now() - t0;
  lastTiming = timing;
  const result = notes();
  // Done, but worth a word (shown on the error line; the notes stay): no notes, or samples that
  // were not numbers.
  const remarks = [];
  if (result.length === 0) {
    // The document's audio still lies where qs_file_alloc put it (nothing resizes it during a job).
    const why = whyNoNotes(core.HEAPF32.subarray(ptr >> 2, (ptr >> 2) + samples));
    remarks.push(`No notes found in "${name}"${why ? `: ${why}` : ''}.`);
  }
  if (badSamples > 0)
    remarks.push(`${badSamples} sample${badSamples > 1 ? 's' : ''} of "${name}" ${badSamples > 1 ? 'were' : 'was'} not a number (NaN or infinite) and became silence.`);
  if (remarks.length) call('qs_fail', remarks.join(' '));
  return result;
}

async function openFile(file) {
  if (!(file instanceof Blob)) throw new TypeError(`openFile() takes a File, not ${describeArg(file)}.`);
  const name = String(file.name ?? '').replace(/\.[^.]*$/, '') || 'audio';
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
  if (liveBusy || core._qs_live_step() !== Step.NEED_MODEL) return;
  liveBusy = true;
  const t0 = performance.now();
  runRequest(Slot.LIVE).then((answered) => {
    if (!answered) return;  // the session that asked has ended
    liveTiming.runs++;
    liveTiming.totalMs += performance.now() - t0;
    core._qs_live_model_done();
  }, (e) => call('qs_live_failed', `The model failed: ${e.message || e}`))
    .finally(() => { liveBusy = false; if (core._qs_live_active()) pumpLive(); });
}

async function boot() {
  core = await createQscribe({ canvas, host, print: console.log, printErr: console.warn });
  ({ Step, Slot } = bridgeConstants());
  scoreView = new ScoreView(core, document.getElementById('score'));
  try {
    const res = await fetch(MODEL_JSON);
    if (!res.ok) throw new Error(`${MODEL_JSON}: HTTP ${res.status}`);
    const json = await res.text();
    if (!call('qs_set_model', json)) throw new Error(text(core._qs_error()));
    model = await Model.load(MODEL_ONNX, JSON.parse(text(core._qs_model_io_json())));
  } catch (e) {
    call('qs_model_failed', e.message || String(e));
    throw e;
  }
  await loadBeatNet();
}

// Not fatal: transcription works without it, and the core says why in qs_error().
async function loadBeatNet() {
  try {
    const res = await fetch(BEAT_NET);
    if (!res.ok) throw new Error(`${BEAT_NET}: HTTP ${res.status}`);
    if (!call('qs_set_beat_net', await res.text())) console.warn(text(core._qs_error()));
  } catch (e) {
    console.warn(`The beat network could not be loaded (beats follow the notes): ${e.message || e}`);
  }
}

// What a wrong argument was, for the API's messages.
function describeArg(x) {
  if (x === null || x === undefined) return String(x);
  if (typeof x === 'number') return `the number ${x}`;
  const kind = typeof x === 'object' || typeof x === 'function' ? (x.constructor && x.constructor.name) || 'object' : typeof x;
  return `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;
}

// transcribe()'s argument, checked and copied: the bytes of an encoded audio file as an
// ArrayBuffer, a Uint8Array (or DataView), or a Blob / File.
async function audioBytes(data) {
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (data instanceof Uint8Array || data instanceof DataView) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  if (data instanceof Blob) return data.arrayBuffer();
  if (ArrayBuffer.isView(data))
    throw new TypeError(`transcribe() takes the bytes of an audio file (ArrayBuffer, Uint8Array or Blob), not samples in a ${data.constructor.name}: wrap the samples in a WAV file.`);
  throw new TypeError(`transcribe() takes the bytes of an audio file (ArrayBuffer, Uint8Array or Blob), not ${describeArg(data)}.`);
}

// Methods that talk to the wasm core synchronously: a clear error before it has started.
function needCore(what) {
  if (!core) throw new Error(`qscribe.${what}() was called before the app started: await window.qscribe.ready first.`);
}

// {tempo, timeSignature, key}: a field left out keeps its setting; null, 0, '' or 'auto' estimates
// it again. Resolves with analysis(); rejects with the reason for a bad value (nothing changes).
async function setAnalysis(overrides) {
  await api.ready;
  if (overrides !== undefined && (overrides === null || typeof overrides !== 'object'))
    throw new TypeError(`setAnalysis() takes an object {tempo, timeSignature, key}, not ${describeArg(overrides)}.`);
  const { tempo, timeSignature, key } = overrides || {};
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
  transcribe: async (data, name) => transcribe(await audioBytes(data), name == null ? undefined : String(name)),
  notes: () => (core ? notes() : []),
  state: () => (core ? withTiming(state()) : { busy: false, error: '', noteCount: 0, modelLoaded: false, live: { active: false } }),
  uiRect: (id) => (core ? JSON.parse(text(call('qs_ui_rect', id))) : null),
  // Decoding thresholds, through the sliders' path in the core (negative keeps a value):
  // re-decodes at once. Values that are not numbers >= 0 are ignored, as left-out ones; one out
  // of range throws a RangeError and nothing changes.
  setDecoding: (thresholds) => {
    needCore('setDecoding');
    if (thresholds !== undefined && (thresholds === null || typeof thresholds !== 'object'))
      throw new TypeError(`setDecoding() takes an object {onset, frame, minNoteLength}, not ${describeArg(thresholds)}.`);
    const { onset = -1, frame = -1, minNoteLength = -1 } = thresholds || {};
    const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : -1);
    const err = text(call('qs_set_decoding', num(onset), num(frame), num(minNoteLength)));
    if (err) throw new RangeError(`setDecoding(): ${err}`);
  },
  openFile,
  // The musical reading of the notes (docs/web-api.md): null before there are notes.
  analysis: () => (core ? JSON.parse(text(core._qs_analysis_json())) : null),
  setAnalysis,
  musicxml: () => (core ? text(core._qs_musicxml()) : ''),
  showScore,
  scoreView: () => (scoreView ? scoreView.info() : null),
  // Spectrogram contrast: scales the level range (1 = 60 dB below the file's loud levels).
  setContrast: (contrast) => {
    needCore('setContrast');
    if (typeof contrast !== 'number' || !Number.isFinite(contrast))
      throw new TypeError(`setContrast() takes a number (0.25..4), not ${describeArg(contrast)}.`);
    core._qs_set_contrast(contrast);
  },
};
api.ready = boot().then(() => { api.version = text(core._qs_version()); });
api.ready.catch((e) => console.error('qscribe:', e.message || e));
window.qscribe = api;

fileInput.addEventListener('change', () => { if (fileInput.files[0]) openFile(fileInput.files[0]); });
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  const files = e.dataTransfer ? [...e.dataTransfer.files] : [];
  if (!files.length || !core || state().busy) return;
  if (files.length > 1) {
    // Which one was meant is a guess: say so and keep what is on screen.
    const names = files.slice(0, 3).map((f) => `"${f.name}"`).join(', ') + (files.length > 3 ? ', ...' : '');
    fail(`Drop one file at a time: ${files.length} were dropped (${names}).`);
    return;
  }
  openFile(files[0]);
});
