// e2e.upload: a piano melody + chords rendered with `qscribe synth` is opened through the page's
// Open button and file chooser; the page's notes must match the rendered notes (mir_eval note F1,
// onset only, 50 ms: >= 0.9) and the native `qscribe transcribe` of the same file (F1 >= 0.95).
// window.qscribe.transcribe() on the same bytes must give the same notes as the UI.
import assert from 'node:assert/strict';
import path from 'node:path';
import { log, runTest } from './browser.mjs';
import { assertWellFormed, matchNotes, openAndSettle, pageNotes, putFileInPage } from './app.mjs';
import { describe, wavSeconds, nativeTranscribe, noteF1, renderFixture, uploadFixtureNotes } from './fixtures.mjs';
import { workDir } from './workdir.mjs';

const NAME = 'e2e-upload';
const dir = workDir(NAME);
const fixture = renderFixture(uploadFixtureNotes(), dir, 'melody_chords');

await runTest(NAME, {}, async ({ page, screenshot }) => {
  const st0 = await page.evaluate(() => window.qscribe.state());
  log(`ready: version ${await page.evaluate(() => window.qscribe.version)}, state ${JSON.stringify(st0)}`);
  assert.equal(st0.modelLoaded, true, 'state().modelLoaded after ready');
  assert.equal(st0.busy, false, 'state().busy after ready');
  assert.equal(st0.error, '', 'state().error after ready');

  const { state, seconds } = await openAndSettle(page, fixture.wav, { expect: 'notes' });
  log(`transcribed in ${seconds.toFixed(2)} s: ${JSON.stringify(state)}`);
  await screenshot('transcribed');
  const notes = await pageNotes(page);
  assert.equal(notes.length, state.noteCount, 'notes().length === state().noteCount');
  assertWellFormed(notes, 'notes()');
  const seconds0 = wavSeconds(fixture.wav);
  assert.ok(Math.abs(state.duration - seconds0) < 0.05, `state().duration ${state.duration} s, the file lasts ${seconds0} s`);

  const vsRef = noteF1(fixture.notes, notes, dir, { label: 'page_vs_reference' });
  log(`page vs rendered notes: F1 ${vsRef.f1.toFixed(3)} (P ${vsRef.precision.toFixed(3)}, R ${vsRef.recall.toFixed(3)}; ` +
      `${vsRef.n_est} notes vs ${vsRef.n_ref})`);
  log(`  reference: ${describe(fixture.notes, 40)}`);
  log(`  page:      ${describe(notes, 40)}`);

  const native = nativeTranscribe(fixture.wav, path.join(dir, 'native.tsv'));
  const vsNative = noteF1(native, notes, dir, { label: 'page_vs_native' });
  log(`page vs native qscribe transcribe: F1 ${vsNative.f1.toFixed(3)} (${vsNative.n_est} notes vs ${vsNative.n_ref})`);
  const nativeVsRef = noteF1(fixture.notes, native, dir, { label: 'native_vs_reference' });
  log(`  (native vs rendered notes: F1 ${nativeVsRef.f1.toFixed(3)})`);

  // The scripting entry point gives the same notes as the UI path.
  await putFileInPage(page, fixture.wav);
  const api = await page.evaluate(async () => (await window.qscribe.transcribe(window.__qsFile))
    .map((n) => ({ onset: n.onset, offset: n.offset, pitch: n.pitch, velocity: n.velocity })));
  assertWellFormed(api, 'transcribe()');
  const same = matchNotes(notes, api, { onsetTol: 0.001, offsetTol: 0.001 });
  log(`transcribe(arrayBuffer): ${api.length} notes, ${same.matched} identical to the UI's`);

  assert.ok(vsRef.f1 >= 0.9, `page notes vs rendered notes: note F1 ${vsRef.f1.toFixed(3)} < 0.9`);
  assert.ok(vsNative.f1 >= 0.95, `page notes vs native transcription: note F1 ${vsNative.f1.toFixed(3)} < 0.95`);
  assert.ok(same.matched === notes.length && api.length === notes.length,
            `transcribe() gave ${api.length} notes, ${same.matched} of the UI's ${notes.length} (expected identical)`);
});
