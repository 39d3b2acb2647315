// e2e.download: after a transcription, the export buttons download NAME.mid, NAME.tsv and
// NAME.json; each holds the page's notes (the MIDI file read with python3-mido: same pitches,
// onsets within 2 ms, offsets within 10 ms; TSV and JSON within 1 ms).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { log, runTest } from './browser.mjs';
import { assertWellFormed, exportVia, matchNotes, openAndSettle, pageNotes } from './app.mjs';
import { describe, midiNotes, parseTsv, renderFixture, uploadFixtureNotes } from './fixtures.mjs';
import { workDir } from './workdir.mjs';

const NAME = 'e2e-download';
const dir = workDir(NAME);
const fixture = renderFixture(uploadFixtureNotes(), dir, 'song');

function assertSameNotes(pageList, fileList, what, tol) {
  const m = matchNotes(pageList, fileList, tol);
  const detail = `${what}: ${fileList.length} notes, page ${pageList.length}, matched ${m.matched}` +
    (m.unmatchedA.length ? `\n  page notes missing from the file: ${describe(m.unmatchedA)}` : '') +
    (m.unmatchedB.length ? `\n  file notes not on the page: ${describe(m.unmatchedB)}` : '');
  log(detail);
  assert.ok(m.matched === pageList.length && fileList.length === pageList.length, detail);
}

await runTest(NAME, {}, async ({ page }) => {
  await openAndSettle(page, fixture.wav, { expect: 'notes' });
  const notes = await pageNotes(page);
  assert.ok(notes.length > 0, 'the page has notes');

  const mid = await exportVia(page, 'export-mid', dir);
  assert.equal(mid.suggested, 'song.mid', 'MIDI download name');
  const head = fs.readFileSync(mid.file).subarray(0, 4).toString('latin1');
  assert.equal(head, 'MThd', 'the .mid download is a Standard MIDI File');
  const midNotes = midiNotes(mid.file);  // mido: an independent reader
  assertWellFormed(midNotes, 'MIDI download (mido)');
  assertSameNotes(notes, midNotes, 'MIDI download (mido)', { onsetTol: 0.002, offsetTol: 0.01 });
  for (const n of midNotes) {
    const p = notes.find((q) => q.pitch === n.pitch && Math.abs(q.onset - n.onset) <= 0.002);
    assert.equal(n.velocity, Math.round(p.velocity), `MIDI velocity of ${n.pitch}@${n.onset}`);
  }

  const tsv = await exportVia(page, 'export-tsv', dir);
  assert.equal(tsv.suggested, 'song.tsv', 'TSV download name');
  const tsvNotes = parseTsv(fs.readFileSync(tsv.file, 'utf8'));
  assertWellFormed(tsvNotes, 'TSV download');
  assertSameNotes(notes, tsvNotes, 'TSV download', { onsetTol: 0.001, offsetTol: 0.001 });

  const json = await exportVia(page, 'export-json', dir);
  assert.equal(json.suggested, 'song.json', 'JSON download name');
  const doc = JSON.parse(fs.readFileSync(json.file, 'utf8'));
  const list = Array.isArray(doc) ? doc : doc.notes;
  assert.ok(Array.isArray(list), 'the JSON download is a note array or {"notes": [...]}');
  const jsonNotes = list.map((n) => ({ onset: n.onset, offset: n.offset, pitch: n.pitch, velocity: n.velocity }));
  assertWellFormed(jsonNotes, 'JSON download');
  assertSameNotes(notes, jsonNotes, 'JSON download', { onsetTol: 0.001, offsetTol: 0.001 });
});
