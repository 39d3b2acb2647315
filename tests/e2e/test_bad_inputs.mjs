// e2e.bad_inputs: the browser rows of the bad-input matrix (docs/robustness.md). Every bad or
// borderline input goes in through each entry point it applies to, and the test checks what the
// page does: nothing throws or hangs, the user gets a clear message (state().error, the line the
// page shows in red) or a clear rejected Promise, and a result already on screen survives a
// refused input.
//  1. Files (one page): each case through the Open button's file chooser ('upload'), a drop on
//     the page ('drop') and window.qscribe.transcribe() ('api'): empty, truncated WAV, a text
//     file named .wav, a WAV named .mp3, one sample, silence, DC only, hard clipping, NaN and
//     Inf samples in a float WAV, 8 kHz, 192 kHz, 8 channels, a WAV header claiming 4 GHz, a
//     3-hour FLAC (refused from its header at once), a PNG, a MIDI file; two files dropped at
//     once; window.qscribe called with wrong types, null, a Float32Array of NaN, zero length;
//     a 3-hour FLAC whose header does not tell its length (the browser decodes it: Cancel
//     answers at once) and a 50-minute one (refused after decoding).
//  2. The microphone (Chromium's fake capture device playing silence, no permission at first):
//     permission denied, silence, the device unplugged mid-take (the track ends).
//  3. The model: missing (404), corrupt, a sidecar that does not match it, and window.qscribe
//     called before the app has started.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { clickUi, log, runTest, waitUntil } from './browser.mjs';
import { assertWellFormed } from './app.mjs';
import * as bf from './bad_files.mjs';
import { workDir } from './workdir.mjs';

const NAME = 'e2e-bad-inputs';
const dir = workDir(NAME);
const R = 22050;
const t0 = performance.now();

// --- Fixtures ------------------------------------------------------------------------------------
const toneWav = (opts = {}) => bf.wav({ frames: Math.round((opts.rate || R) * 2), sample: bf.tone(opts.rate || R), ...opts });
const goodWav = toneWav();  // 2 s of A4: one note (MIDI 69)
const good = path.join(dir, 'previous.wav');
fs.writeFileSync(good, goodWav);

// A 3-hour FLAC of silence at 4 kHz (145 KB, ~4 s with sox), and one of 50 minutes. The
// "unknown" copies have STREAMINFO's total-samples field zeroed (allowed: "unknown"), so only
// decoding tells their length.
function soxFlac(file, seconds) {
  execFileSync('sox', ['-D', '-n', '-r', '4000', '-c', '1', '-b', '16', file, 'trim', '0', String(seconds)]);
  return fs.readFileSync(file);
}
function unknownLength(flac) {
  const b = Buffer.from(flac);
  b[21] &= 0xf0;
  b.fill(0, 22, 26);
  return b;
}
const flac3h = soxFlac(path.join(dir, 'three_hours.flac'), 3 * 3600);
const flac3hUnknown = unknownLength(flac3h);
const flac50mUnknown = unknownLength(soxFlac(path.join(dir, 'fifty_minutes.flac'), 50 * 60));

const hugeRate = toneWav();
hugeRate.writeUInt32LE(0xffffffff, 24);  // sample rate
hugeRate.writeUInt32LE(0xfffffffe, 28);  // byte rate

// Cases: [id, file extension, bytes, expectation]. A refusal: { refuse: /message/ } (the previous
// result must stay); an accepted file: { pitches: [...] } (notes expected at these pitches) and an
// optional remark (a message shown next to the new result), or { none: /message/ } (no notes).
const cases = [
  ['empty', '.wav', Buffer.alloc(0), { refuse: /is empty/ }],
  ['truncated', '.wav', goodWav.subarray(0, 44 + 6), { refuse: /truncated WAV file: its header announces \d+ bytes of audio but only 6/ }],
  ['text_as_wav', '.wav', Buffer.from('These are not the sounds you are looking for.\n'.repeat(40)),
   { refuse: /could not be read as audio .*Open a WAV, MP3, OGG, FLAC/ }],
  ['one_sample', '.wav', bf.wav({ frames: 1, sample: () => 0.5 }), { refuse: /too short to transcribe: 1 sample .*at least 100 ms/ }],
  ['rate_4ghz', '.wav', hugeRate, { refuse: /could not be read as audio/ }],
  ['three_hours', '.flac', flac3h, { refuse: /is 180 minutes long; the limit is 45 minutes/ }],
  ['image', '.png', bf.png(), { refuse: /could not be read as audio/ }],
  ['song', '.mid', bf.midi(), { refuse: /is a MIDI file: it holds notes already, not audio/ }],
  ['wav_as_mp3', '.mp3', toneWav(), { pitches: [69] }],
  ['silence', '.wav', bf.wav({ frames: 2 * R }), { none: /No notes found in "[^"]+": it is silent\./ }],
  ['dc_only', '.wav', bf.wav({ frames: 2 * R, sample: () => 0.5 }), { none: /No notes found in "[^"]+": it holds only a constant offset \(DC\), no sound\./ }],
  ['clipped', '.wav', bf.wav({ frames: 2 * R, sample: (i) => Math.max(-1, Math.min(1, 20 * bf.tone(R)(i))) }), { pitches: [69] }],
  ['nan_samples', '.wav', bf.wav({ frames: 2 * R, format: 'float32', sample: (i) => (i % 1000 === 7 ? NaN : bf.tone(R)(i)) }),
   { pitches: [69], remark: /45 samples of "[^"]+" were not a number \(NaN or infinite\) and became silence/ }],
  ['inf_samples', '.wav', bf.wav({ frames: 2 * R, format: 'float32', sample: (i) => (i % 1000 === 7 ? (i % 2 ? Infinity : -Infinity) : bf.tone(R)(i)) }),
   { pitches: [69], remark: /45 samples of "[^"]+" were not a number \(NaN or infinite\) and became silence/ }],
  ['rate_8k', '.wav', toneWav({ rate: 8000 }), { pitches: [69] }],
  ['rate_192k', '.wav', toneWav({ rate: 192000 }), { pitches: [69] }],
  ['eight_channels', '.wav', bf.wav({ channels: 8, frames: 2 * R, sample: (i, c) => (c === 5 ? bf.tone(R)(i) : 0) }), { pitches: [69] }],
];
log(`fixtures ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

// --- Helpers -------------------------------------------------------------------------------------
const snapshot = (page) => page.evaluate(() => ({
  st: window.qscribe.state(),
  notes: window.qscribe.notes().map((n) => [n.onset, n.offset, n.pitch, n.velocity]),
}));

async function putInPage(page, files) {  // [[name, Buffer]] -> window.__qsDrop: File[]
  await page.evaluate((list) => {
    window.__qsDrop = list.map(([name, b64]) => {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return new File([bytes], name);
    });
  }, files.map(([n, b]) => [n, b.toString('base64')]));
}

// Drops window.__qsDrop on the page as a user would (a drop event with a DataTransfer).
const dropFiles = (page) => page.evaluate(() => {
  const dt = new DataTransfer();
  for (const f of window.__qsDrop) dt.items.add(f);
  document.getElementById('canvas').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
});

// Waits until the page settled after `name` went in: not busy and either a message naming it or
// its document on screen.
async function settle(page, base, timeoutMs = 60000) {
  await waitUntil(page, (b) => {
    const s = window.qscribe.state();
    return !s.busy && (s.error.includes(`"${b}`) || s.name === b);
  }, base, { timeoutMs, what: `the page to settle on "${base}"` });
  return snapshot(page);
}

// Opens `bytes` as FILE through `via` ('upload', 'drop' or 'api'). Returns { st, notes, api }
// (api: what transcribe() resolved with or rejected with).
async function openVia(page, via, base, ext, bytes) {
  const fileName = `${base}${ext}`;
  if (via === 'upload') {
    const file = path.join(dir, fileName);
    fs.writeFileSync(file, bytes);
    const chooser = page.waitForEvent('filechooser', { timeout: 15000 });
    await clickUi(page, 'open');
    await (await chooser).setFiles(file);
    return settle(page, base);
  }
  await putInPage(page, [[fileName, bytes]]);
  if (via === 'drop') {
    await dropFiles(page);
    return settle(page, base);
  }
  const api = await page.evaluate(async ([n]) => {
    try {
      const notes = await window.qscribe.transcribe(await window.__qsDrop[0].arrayBuffer(), n);
      return { resolved: notes.length };
    } catch (e) {
      return { rejected: `${e.name}: ${e.message}` };
    }
  }, [base]);
  return { ...(await snapshot(page)), api };
}

// The matrix, recorded for the log: [entry point, case, observed].
const observed = [];

async function fileCases(page, via) {
  // A result on screen first: refused inputs must leave it alone.
  let prev = await openVia(page, via, `${via}_previous`, '.wav', goodWav);
  assert.ok(prev.st.noteCount > 0 && prev.st.error === '', `${via}: the previous file transcribed (${JSON.stringify(prev.st)})`);
  for (const [id, ext, bytes, want] of cases) {
    const base = `${via}_${id}`;
    const t = performance.now();
    const got = await openVia(page, via, base, ext, bytes);
    const secs = (performance.now() - t) / 1000;
    const what = `${via} ${id}${ext}`;
    log(`${what}: ${secs.toFixed(1)} s, error ${JSON.stringify(got.st.error)}, ${got.st.noteCount} notes, name ${got.st.name}` +
        (got.api ? `, api ${JSON.stringify(got.api)}` : ''));
    assert.equal(got.st.busy, false, `${what}: still busy`);
    if (want.refuse) {
      assert.match(got.st.error, want.refuse, `${what}: the message`);
      assert.ok(got.st.error.includes(`"${base}"`), `${what}: the message names the file`);
      assert.equal(got.st.name, prev.st.name, `${what}: the previous document stays on screen`);
      assert.equal(got.st.mode, 'file', `${what}: the previous document stays on screen (mode)`);
      assert.deepEqual(got.notes, prev.notes, `${what}: the previous notes stay`);
      assert.ok(secs < 10, `${what}: refused after ${secs.toFixed(1)} s (expected at once)`);
      if (via === 'api') assert.match(got.api.rejected || '', want.refuse, `${what}: transcribe() rejects with the message`);
      observed.push([via, id, `refused: ${got.st.error}`]);
    } else {
      assert.equal(got.st.name, base, `${what}: the file is the document on screen`);
      assert.equal(got.st.mode, 'file', `${what}: mode`);
      assertWellFormed(got.notes.map(([onset, offset, pitch, velocity]) => ({ onset, offset, pitch, velocity })), what);
      if (want.none) {
        assert.equal(got.st.noteCount, 0, `${what}: no notes expected`);
        assert.match(got.st.error, want.none, `${what}: the no-notes message`);
      } else {
        const pitches = new Set(got.notes.map((n) => n[2]));
        for (const p of want.pitches) assert.ok(pitches.has(p), `${what}: no note at MIDI ${p} (notes at ${[...pitches]})`);
        if (want.remark) assert.match(got.st.error, want.remark, `${what}: the remark`);
        else assert.equal(got.st.error, '', `${what}: no message expected`);
      }
      assert.ok(Math.abs(got.st.duration - 2) < 0.05, `${what}: duration ${got.st.duration} s, the file lasts 2 s`);
      if (via === 'api') assert.equal(got.api.resolved, got.st.noteCount, `${what}: transcribe() resolves with the notes`);
      observed.push([via, id, `${got.st.noteCount} notes${got.st.error ? `, "${got.st.error}"` : ''}`]);
      prev = got;
    }
  }
  return prev;
}

const results = [];

// --- 1. Files: upload, drop, window.qscribe ------------------------------------------------------
results.push(await runTest(NAME, { timeoutMs: 400000 }, async ({ page, screenshot }) => {
  for (const via of ['upload', 'drop', 'api']) await fileCases(page, via);
  await screenshot('files');

  // Two files through the Open button: the file input takes one (no `multiple`), so the chooser
  // itself refuses a second.
  const chooserTwo = page.waitForEvent('filechooser', { timeout: 15000 });
  await clickUi(page, 'open');
  const picker = await chooserTwo;
  assert.equal(picker.isMultiple(), false, 'the file chooser takes one file');
  await assert.rejects(picker.setFiles([good, good]), /Non-multiple file input can only accept single file/);
  await picker.setFiles([]);
  observed.push(['upload', 'two files', 'the file chooser takes one file (no multiple attribute)']);

  // Two files dropped at once: refused (which one was meant is a guess), the result stays.
  const before = await snapshot(page);
  await putInPage(page, [['first.wav', goodWav], ['second.wav', goodWav]]);
  await dropFiles(page);
  await waitUntil(page, () => window.qscribe.state().error.startsWith('Drop one file'), null, { timeoutMs: 10000, what: 'the two-files message' });
  const two = await snapshot(page);
  log(`two files dropped: ${JSON.stringify(two.st.error)}`);
  assert.equal(two.st.error, 'Drop one file at a time: 2 were dropped ("first.wav", "second.wav").');
  assert.equal(two.st.name, before.st.name, 'two files dropped: the previous document stays');
  assert.deepEqual(two.notes, before.notes, 'two files dropped: the previous notes stay');
  observed.push(['drop', 'two files', two.st.error]);

  // window.qscribe with wrong arguments: rejected Promises (or, for the synchronous setters,
  // exceptions) with a readable message; the page and its document are untouched.
  const api = await page.evaluate(async () => {
    const out = {};
    const attempt = async (k, f) => {
      try {
        const v = f();
        out[k] = v && typeof v.then === 'function'
          ? await v.then((x) => `resolved ${Array.isArray(x) ? x.length : x}`, (e) => `rejected ${e.name}: ${e.message}`)
          : `returned ${v}`;
      } catch (e) {
        out[k] = `threw ${e.name}: ${e.message}`;
      }
    };
    const q = window.qscribe;
    await attempt('transcribe(null)', () => q.transcribe(null));
    await attempt('transcribe()', () => q.transcribe());
    await attempt('transcribe(string)', () => q.transcribe('song.mp3'));
    await attempt('transcribe(number)', () => q.transcribe(42));
    await attempt('transcribe({})', () => q.transcribe({}));
    await attempt('transcribe(Float32Array NaN)', () => q.transcribe(new Float32Array(4096).fill(NaN)));
    await attempt('transcribe(Float32Array(0))', () => q.transcribe(new Float32Array(0)));
    await attempt('transcribe(ArrayBuffer(0))', () => q.transcribe(new ArrayBuffer(0), 'zero_length'));
    await attempt('openFile(null)', () => q.openFile(null));
    await attempt('openFile(string)', () => q.openFile('song.wav'));
    await attempt('setDecoding(null)', () => q.setDecoding(null));
    await attempt('setDecoding(NaN)', () => q.setDecoding({ onset: NaN, frame: 'x' }));
    await attempt('setDecoding(onset 5)', () => q.setDecoding({ onset: 5, frame: 0.2 }));
    await attempt('setDecoding(1e300)', () => q.setDecoding({ frame: 1e300 }));
    await attempt('setDecoding(minNoteLength 100 s)', () => q.setDecoding({ minNoteLength: 100 }));
    await attempt('setContrast(NaN)', () => q.setContrast(NaN));
    await attempt('setContrast(string)', () => q.setContrast('2'));
    await attempt('setAnalysis(null)', () => q.setAnalysis(null));
    await attempt('uiRect(null)', () => q.uiRect(null));
    return out;
  });
  const after = await snapshot(page);
  for (const [k, v] of Object.entries(api)) log(`${k}: ${v}`);
  const expect = {
    'transcribe(null)': /^rejected TypeError: transcribe\(\) takes the bytes of an audio file \(ArrayBuffer, Uint8Array or Blob\), not null\.$/,
    'transcribe()': /^rejected TypeError: .*not undefined\.$/,
    'transcribe(string)': /^rejected TypeError: .*not a string\.$/,
    'transcribe(number)': /^rejected TypeError: .*not the number 42\.$/,
    'transcribe({})': /^rejected TypeError: .*not an Object\.$/,
    'transcribe(Float32Array NaN)': /^rejected TypeError: .*not samples in a Float32Array: wrap the samples in a WAV file\.$/,
    'transcribe(Float32Array(0))': /^rejected TypeError: .*not samples in a Float32Array/,
    'transcribe(ArrayBuffer(0))': /^rejected Error: "zero_length" is empty\.$/,
    'openFile(null)': /^rejected TypeError: openFile\(\) takes a File, not null\.$/,
    'openFile(string)': /^rejected TypeError: openFile\(\) takes a File, not a string\.$/,
    'setDecoding(null)': /^threw TypeError: setDecoding\(\) takes an object/,
    'setDecoding(NaN)': /^returned undefined$/,
    // Out of range: refused as the sliders' path refuses it (qs::DecoderParams::validate), all or
    // nothing (the valid frame threshold beside it is not applied either).
    'setDecoding(onset 5)': /^threw RangeError: setDecoding\(\): invalid decoding parameter 'onset_threshold': must be between 0 and 1$/,
    'setDecoding(1e300)': /^threw RangeError: setDecoding\(\): invalid decoding parameter 'frame_threshold'/,
    'setDecoding(minNoteLength 100 s)': /^threw RangeError: setDecoding\(\): invalid decoding parameter 'min_note_length_s': must be between 0 and 60 seconds$/,
    'setContrast(NaN)': /^threw TypeError: setContrast\(\) takes a number \(0\.25\.\.4\), not the number NaN\.$/,
    'setContrast(string)': /^threw TypeError: setContrast\(\) takes a number/,
    'setAnalysis(null)': /^rejected TypeError: setAnalysis\(\) takes an object/,
    'uiRect(null)': /^returned null$/,
  };
  for (const [k, re] of Object.entries(expect)) {
    assert.match(api[k], re, `window.qscribe.${k}`);
    observed.push(['api', k, api[k]]);
  }
  // NaN and non-numbers are ignored by setDecoding (the thresholds stay numbers), values out of
  // range are refused (the thresholds stay as they were, and the app keeps working), the contrast
  // stays a number, and the document is the one from before (the zero-length buffer's message
  // is the only change).
  assert.deepEqual(after.st.decoding, before.st.decoding, 'setDecoding(NaN or out of range) changed the thresholds');
  assert.equal(after.st.spectrogram.contrast, before.st.spectrogram.contrast, 'setContrast(NaN) changed the contrast');
  assert.equal(after.st.name, before.st.name, 'wrong API arguments: the document stays');
  assert.deepEqual(after.notes, before.notes, 'wrong API arguments: the notes stay');
  assert.match(after.st.error, /"zero_length" is empty/, 'the page shows the last refusal');
  // A valid setDecoding after the refusals still applies (the sliders' path, the notes re-decoded
  // at once), and the old thresholds come back the same way.
  const redecoded = await page.evaluate((old) => {
    const q = window.qscribe;
    q.setDecoding({ onset: 1, frame: 1, minNoteLength: 0.2 });  // no probability exceeds 1: no notes
    const strict = { decoding: q.state().decoding, notes: q.notes().length };
    q.setDecoding({ onset: old.onset, frame: old.frame, minNoteLength: old.minNoteLength });
    return { strict, back: { decoding: q.state().decoding, notes: q.notes().length } };
  }, before.st.decoding);
  log(`setDecoding 1/1/0.2 s: ${redecoded.strict.notes} notes; back: ${redecoded.back.notes}`);
  assert.ok(Math.abs(redecoded.strict.decoding.onset - 1) < 1e-6 && Math.abs(redecoded.strict.decoding.frame - 1) < 1e-6 &&
    redecoded.strict.decoding.minNoteLength === 0.2, `setDecoding did not apply: ${JSON.stringify(redecoded.strict.decoding)}`);
  // Thresholds of 1 leave no note whatever the model (a note needs a probability above them), so
  // this shows the notes were decoded again at once.
  assert.ok(before.notes.length > 0, 'the document before has notes');
  assert.equal(redecoded.strict.notes, 0, 'thresholds of 1: no notes');
  assert.deepEqual(redecoded.back.decoding, before.st.decoding, 'setDecoding back: the old thresholds');
  assert.equal(redecoded.back.notes, before.notes.length, 'setDecoding back: the old notes');
  observed.push(['api', 'setDecoding(valid) after refusals', `${redecoded.strict.notes} notes, back to ${redecoded.back.notes}`]);

  // A 50-minute file whose header does not say how long it is: the browser decodes it, then it
  // is refused (and the result on screen stays).
  await putInPage(page, [['fifty_unknown.flac', flac50mUnknown]]);
  let t = performance.now();
  const fifty = await page.evaluate(() => window.qscribe.transcribe(window.__qsDrop[0], 'fifty_unknown').then(
    (n) => `resolved ${n.length}`, (e) => `rejected ${e.message}`));
  const fiftySecs = (performance.now() - t) / 1000;
  const afterFifty = await snapshot(page);
  log(`50 min, length unknown from the header: ${fifty} after ${fiftySecs.toFixed(1)} s`);
  assert.match(fifty, /^rejected "fifty_unknown" is 50 minutes long; the limit is 45 minutes\./);
  assert.deepEqual(afterFifty.notes, before.notes, '50-minute file: the notes stay');
  observed.push(['api', 'long file, length not in the header', `${fifty} (${fiftySecs.toFixed(1)} s)`]);

  // Three hours of it through the Open button: decoding takes long, the page stays responsive and
  // Cancel answers at once (the result on screen stays).
  const file = path.join(dir, 'three_hours_unknown.flac');
  fs.writeFileSync(file, flac3hUnknown);
  const chooser = page.waitForEvent('filechooser', { timeout: 15000 });
  await clickUi(page, 'open');
  await (await chooser).setFiles(file);
  await waitUntil(page, () => window.qscribe.state().stage === 'Decoding audio', null, { timeoutMs: 10000, what: 'decoding to start' });
  await page.waitForTimeout(1000);
  t = performance.now();
  const probe = await page.evaluate(() => window.qscribe.state());  // the page answers while decoding
  const probeMs = performance.now() - t;
  assert.equal(probe.busy, true, 'the 3-hour file is still decoding after 1 s (else this step tests nothing)');
  t = performance.now();
  await clickUi(page, 'cancel');
  await waitUntil(page, () => !window.qscribe.state().busy, null, { timeoutMs: 5000, what: 'Cancel to stop the decoding' });
  const cancelSecs = (performance.now() - t) / 1000;
  const cancelled = await snapshot(page);
  log(`3 h, length unknown: state() answered in ${probeMs.toFixed(0)} ms while decoding; Cancel -> ${JSON.stringify(cancelled.st.error)} in ${cancelSecs.toFixed(2)} s`);
  assert.equal(cancelled.st.error, 'Cancelled.');
  assert.ok(probeMs < 2000, `state() took ${probeMs.toFixed(0)} ms while decoding`);
  assert.deepEqual(cancelled.notes, before.notes, 'cancelled 3-hour file: the notes stay');
  observed.push(['upload', 'long file, length not in the header, Cancel', `Cancelled. after ${cancelSecs.toFixed(2)} s; page answered in ${probeMs.toFixed(0)} ms`]);
  await screenshot('cancelled');

  // The byte containers transcribe() takes besides an ArrayBuffer: a Uint8Array that views the
  // middle of a larger buffer, and a Blob.
  const views = await page.evaluate(async (b64) => {
    const bin = atob(b64);
    const big = new Uint8Array(bin.length + 32).fill(0xee);
    for (let i = 0; i < bin.length; i++) big[16 + i] = bin.charCodeAt(i);
    const view = big.subarray(16, 16 + bin.length);
    const a = await window.qscribe.transcribe(view, 'as_uint8array').then((n) => n.length, (e) => e.message);
    const b = await window.qscribe.transcribe(new Blob([view]), 'as_blob').then((n) => n.length, (e) => e.message);
    return [a, b, big[0] === 0xee && big[16 + bin.length] === 0xee];
  }, goodWav.toString('base64'));
  log(`transcribe(Uint8Array view) -> ${views[0]}, transcribe(Blob) -> ${views[1]}`);
  assert.ok(Number.isInteger(views[0]) && views[0] > 0, `transcribe(Uint8Array view): ${views[0]}`);
  assert.ok(Number.isInteger(views[1]) && views[1] > 0, `transcribe(Blob): ${views[1]}`);
  assert.ok(views[2], 'transcribe() changed the bytes around its view');
  observed.push(['api', 'Uint8Array view, Blob', `transcribed (${views[0]} and ${views[1]} notes)`]);
}));

// --- 2. The microphone ---------------------------------------------------------------------------
const silence48k = path.join(dir, 'silence48k.wav');
fs.writeFileSync(silence48k, bf.wav({ rate: 48000, frames: 48000 * 2 }));
const micOptions = {
  timeoutMs: 180000,
  // A fake capture device, but no --use-fake-ui-for-media-stream: the permission is Playwright's.
  extraArgs: ['--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${silence48k}`,
              '--autoplay-policy=no-user-gesture-required'],
};
results.push(await runTest(`${NAME}-mic`, micOptions, async ({ page, context, origin, screenshot }) => {
  await page.evaluate(() => {  // keep the streams, to unplug the device later
    const md = navigator.mediaDevices;
    const orig = md.getUserMedia.bind(md);
    window.__qsStreams = [];
    md.getUserMedia = async (c) => { const s = await orig(c); window.__qsStreams.push(s); return s; };
  });
  const api = await page.evaluate(async (b64) => {
    const bin = atob(b64);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    return (await window.qscribe.transcribe(u.buffer, 'mic_previous')).length;
  }, goodWav.toString('base64'));
  const before = await snapshot(page);
  assert.ok(api > 0, 'the previous file transcribed');

  // Permission denied (never granted: Playwright refuses the prompt).
  await clickUi(page, 'mic');
  await waitUntil(page, () => window.qscribe.state().error !== '', null, { timeoutMs: 15000, what: 'a message after Mic without permission' });
  const denied = await snapshot(page);
  log(`mic, permission denied: ${JSON.stringify(denied.st.error)}`);
  assert.match(denied.st.error, /^Microphone access was denied\. Allow the microphone for this page/);
  assert.equal(denied.st.live.active, false);
  assert.equal(denied.st.name, 'mic_previous', 'permission denied: the document stays');
  assert.deepEqual(denied.notes, before.notes, 'permission denied: the notes stay');
  observed.push(['mic', 'permission denied', denied.st.error]);
  await screenshot('denied');

  // Granted: the fake device plays silence. Live input runs, reports a low level, finds nothing.
  await context.grantPermissions(['microphone'], { origin });
  await clickUi(page, 'mic');
  await waitUntil(page, () => window.qscribe.state().live.active === true, null, { timeoutMs: 15000, what: 'live.active' });
  await page.waitForTimeout(2500);
  const live = await snapshot(page);
  log(`mic, silence: ${JSON.stringify(live.st.live)}, ${live.st.noteCount} notes, ${live.st.duration.toFixed(2)} s`);
  assert.equal(live.st.error, '', 'silence: no message while listening');
  assert.equal(live.st.noteCount, 0, 'silence: no notes');
  assert.ok(typeof live.st.live.level === 'number' && live.st.live.level < -60, `silence: level ${live.st.live.level} dBFS`);
  assert.ok(live.st.duration > 1, `silence: ${live.st.duration} s recorded`);
  observed.push(['mic', 'silence', `listens, level ${live.st.live.level.toFixed(0)} dBFS, 0 notes, no message`]);

  // Unplugged mid-take: the device's track ends (stop() itself fires no 'ended': dispatch it).
  const ended = await page.evaluate(() => {
    const tracks = window.__qsStreams.flatMap((s) => s.getAudioTracks()).filter((t) => t.readyState === 'live');
    for (const t of tracks) { t.stop(); t.dispatchEvent(new Event('ended')); }
    return tracks.length;
  });
  assert.equal(ended, 1, 'one live microphone track to end');
  await waitUntil(page, () => window.qscribe.state().live.active === false, null, { timeoutMs: 10000, what: 'live input to stop when the track ends' });
  const unplugged = await snapshot(page);
  log(`mic, unplugged: ${JSON.stringify(unplugged.st.error)}, mode ${unplugged.st.mode}, ${unplugged.st.duration.toFixed(2)} s kept`);
  assert.equal(unplugged.st.error, 'The microphone was disconnected. What was played so far is kept.');
  assert.equal(unplugged.st.mode, 'file', 'unplugged: the take stays as a document');
  assert.equal(unplugged.st.name, 'recording');
  assert.ok(unplugged.st.duration >= live.st.duration, `unplugged: ${unplugged.st.duration} s kept, ${live.st.duration} s were recorded`);
  observed.push(['mic', 'unplugged mid-take', `${unplugged.st.error} (${unplugged.st.duration.toFixed(1)} s kept)`]);
  await screenshot('unplugged');
}));

// --- 3. The model, and calls before the app has started ------------------------------------------
const sidecar = JSON.parse(fs.readFileSync(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../models/qscribe-default.json'), 'utf8'));
const mismatched = structuredClone(sidecar);  // a consistent sidecar for a 3-bins-per-semitone model
mismatched.features.bins_per_semitone = 3;
mismatched.features.n_bins = 264;
mismatched.io.input.shape[2] = 264;
if (mismatched.architecture) Object.assign(mismatched.architecture, { n_bins: 264, bins_per_note: 3 });

results.push(await runTest(`${NAME}-model`, { timeoutMs: 180000 }, async ({ page, screenshot }) => {
  const reloadWith = async (pattern, handler) => {
    await page.unrouteAll();
    if (pattern) await page.route(pattern, handler);
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.qscribe === 'object', null, { timeout: 30000 });
    return page.evaluate(() => window.qscribe.ready.then(() => 'resolved', (e) => `rejected ${e.message}`));
  };
  const variants = [
    ['model missing', '**/qscribe-default.onnx', (r) => r.fulfill({ status: 404, body: 'not found' }),
     /^The model could not be loaded: qscribe-default\.onnx: HTTP 404 Not Found$/],
    ['model corrupt', '**/qscribe-default.onnx', (r) => r.fulfill({ status: 200, body: Buffer.from('garbage!'.repeat(4096)), contentType: 'application/octet-stream' }),
     /^The model could not be loaded: qscribe-default\.onnx is not a usable ONNX model \(.*protobuf parsing failed/],
    ['sidecar mismatch', '**/qscribe-default.json', (r) => r.fulfill({ status: 200, body: JSON.stringify(mismatched), contentType: 'application/json' }),
     /^The model could not be loaded: qscribe-default\.onnx does not match its sidecar: it takes 352 CQT bins, the sidecar says 264$/],
  ];
  for (const [label, pattern, handler, re] of variants) {
    const ready = await reloadWith(pattern, handler);
    const st = await page.evaluate(() => window.qscribe.state());
    log(`${label}: ready ${ready}; state().error ${JSON.stringify(st.error)}`);
    assert.match(st.error, re, `${label}: the message`);
    assert.ok(ready.startsWith('rejected ') && st.error.endsWith(ready.slice('rejected '.length)), `${label}: ready rejects with the reason (${ready})`);
    assert.equal(st.modelLoaded, false);
    // Every entry point says so, and nothing starts: transcribe() rejects with the reason, the
    // Open and Microphone buttons are disabled, a dropped file leaves the message.
    const api = await page.evaluate(() => window.qscribe.transcribe(new Uint8Array(64)).then(() => 'resolved', (e) => `rejected ${e.message}`));
    assert.equal(api, ready, `${label}: transcribe() rejects as ready did`);
    let chooser = false;
    const onChooser = () => { chooser = true; };
    page.on('filechooser', onChooser);
    await clickUi(page, 'open');
    await clickUi(page, 'mic');
    await putInPage(page, [['dropped.wav', goodWav]]);
    await dropFiles(page);
    await page.waitForTimeout(1500);
    page.off('filechooser', onChooser);
    const after = await page.evaluate(() => window.qscribe.state());
    assert.equal(chooser, false, `${label}: the Open button opened a file chooser`);
    assert.equal(after.live.active, false, `${label}: the Microphone button started live input`);
    assert.equal(after.busy, false, `${label}: busy after a drop`);
    assert.equal(after.error, st.error, `${label}: the message stays after Open, Microphone and a drop`);
    observed.push(['model', label, `${st.error}; transcribe() rejects; Open/Microphone disabled; a drop is ignored`]);
    await screenshot(label.replace(/\W/g, '_'));
  }

  // Before the app has started: the wasm core is held back 4 s.
  await page.unrouteAll();
  await page.route('**/qscribe_web.wasm', async (r) => { await new Promise((res) => setTimeout(res, 4000)); await r.continue(); });
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => typeof window.qscribe === 'object', null, { timeout: 30000 });
  const early = await page.evaluate(async (b64) => {
    const q = window.qscribe;
    const out = {};
    const sync = (k, f) => { try { out[k] = `returned ${JSON.stringify(f())}`; } catch (e) { out[k] = `threw ${e.message}`; } };
    sync('setDecoding', () => q.setDecoding({ onset: 0.5 }));
    sync('setContrast', () => q.setContrast(2));
    sync('state', () => q.state());
    sync('notes', () => q.notes());
    sync('uiRect', () => q.uiRect('open'));
    sync('analysis', () => q.analysis());
    const bin = atob(b64);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    out.transcribe = await q.transcribe(u.buffer, 'early').then((n) => `resolved ${n.length} notes`, (e) => `rejected ${e.message}`);
    return out;
  }, goodWav.toString('base64'));
  for (const [k, v] of Object.entries(early)) log(`before ready: ${k}: ${v}`);
  assert.equal(early.setDecoding, 'threw qscribe.setDecoding() was called before the app started: await window.qscribe.ready first.');
  assert.equal(early.setContrast, 'threw qscribe.setContrast() was called before the app started: await window.qscribe.ready first.');
  assert.match(early.state, /"modelLoaded":false/);
  assert.equal(early.notes, 'returned []');
  assert.equal(early.uiRect, 'returned null');
  assert.equal(early.analysis, 'returned null');
  assert.match(early.transcribe, /^resolved [1-9]\d* notes$/, 'transcribe() before ready waits for ready and transcribes');
  for (const k of ['setDecoding', 'state', 'transcribe']) observed.push(['api', `before ready: ${k}`, early[k].slice(0, 120)]);
}));

log('observed:');
for (const [via, what, how] of observed) log(`  ${via.padEnd(7)} ${what.padEnd(34)} ${how}`);
log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exitCode = results.every(Boolean) ? 0 : 1;
