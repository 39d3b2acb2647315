// e2e.errors: a text file, an empty file and a truncated WAV (a 16 s header followed by three
// samples) each put a message into state().error (a screenshot of each is saved); after each,
// a good file still transcribes in the same page and the error clears.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { log, runTest } from './browser.mjs';
import { openAndSettle } from './app.mjs';
import { renderFixture, uploadFixtureNotes } from './fixtures.mjs';
import { workDir } from './workdir.mjs';

const NAME = 'e2e-errors';
const dir = workDir(NAME);
const good = renderFixture(uploadFixtureNotes(), dir, 'good');

const bad = [
  ['notes.txt', Buffer.from('These are not the sounds you are looking for.\n'.repeat(40))],
  ['empty.wav', Buffer.alloc(0)],
  // The header still announces the whole file's data; only 6 bytes of it follow.
  ['truncated.wav', fs.readFileSync(good.wav).subarray(0, 44 + 6)],
];

await runTest(NAME, {}, async ({ page, screenshot }) => {
  for (const [name, bytes] of bad) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    const { state } = await openAndSettle(page, file, { expect: 'error', timeoutMs: 60000 });
    log(`${name}: state().error = ${JSON.stringify(state.error)}`);
    await screenshot(name.replace(/\W/g, '_'));
    assert.ok(state.error.trim().length > 0, `${name}: state().error is blank`);
    // The page recovers: a good file transcribes next (and clears the error before the next
    // bad file, so every error checked is a fresh one).
    const after = await openAndSettle(page, good.wav, { expect: 'notes' });
    log(`good file after ${name}: ${after.state.noteCount} notes, error ${JSON.stringify(after.state.error)}`);
    assert.ok(after.state.noteCount > 0, `a good file transcribes after ${name}`);
    assert.equal(after.state.error, '', `the error clears once a good file transcribes (after ${name})`);
  }
});
