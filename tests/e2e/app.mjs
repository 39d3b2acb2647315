// Interactions with the qscribe page through its test contract (window.qscribe: state(),
// notes(), uiRect(id), transcribe()) and real mouse clicks on the ImGui canvas.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { clickUi, log } from './browser.mjs';

// Records changes of the page's state (busy, stage, error, noteCount, duration), polled every
// 4 ms inside the page, for failure reports (quick transitions can fall between two polls).
export async function installStateWatch(page) {
  await page.evaluate(() => {
    if (window.__qsWatch) return;
    const w = { seq: 0, last: '', changes: [] };
    window.__qsWatch = w;
    const poll = () => {
      const s = window.qscribe.state();
      const key = JSON.stringify([s.busy, s.stage, s.error, s.noteCount, s.duration]);
      if (key !== w.last) {
        w.last = key;
        w.seq++;
        w.changes.push({ seq: w.seq, t: Math.round(performance.now()), busy: s.busy, stage: s.stage, error: s.error, noteCount: s.noteCount });
        if (w.changes.length > 500) w.changes.shift();
      }
    };
    poll();
    setInterval(poll, 4);
    window.addEventListener('error', (e) => { window.__qsPageError = String(e.message || e); });
    window.addEventListener('unhandledrejection', (e) => { window.__qsPageError = String(e.reason && e.reason.message || e.reason); });
  });
}

async function watchSeq(page) {
  return page.evaluate(() => window.__qsWatch.seq);
}

// Opens `file` (a path) through the UI: a click on the Open button, then the file chooser.
export async function chooseFile(page, file) {
  const chooserPromise = page.waitForEvent('filechooser', { timeout: 15000 })
    .catch(() => { throw new Error("clicking uiRect('open') opened no file chooser within 15 s"); });
  await clickUi(page, 'open');
  const chooser = await chooserPromise;
  await chooser.setFiles(file);
  log(`opened ${path.basename(file)} (${fs.statSync(file).size} bytes) through the file chooser`);
}

function settledOn(s, want) {
  if (s.busy !== false) return false;
  return want === 'notes' ? s.noteCount > 0 && !s.error : typeof s.error === 'string' && s.error.length > 0;
}

// Opens `file` through the UI and waits until the page has settled on the expected outcome:
// notes (expect 'notes': busy false, noteCount > 0, no error) or an error message (expect
// 'error'). The page must not show that outcome before the file is chosen (so a stale result
// can never pass: after an error, open a good file before the next bad one, and vice versa).
// Returns { state, seconds, changes } (changes: the page's state changes the watch saw).
export async function openAndSettle(page, file, { expect = 'notes', timeoutMs = 120000 } = {}) {
  assert.ok(expect === 'notes' || expect === 'error', `openAndSettle: expect ${expect}`);
  await installStateWatch(page);
  const before = await watchSeq(page);
  const pre = await page.evaluate(() => window.qscribe.state());
  assert.ok(!settledOn(pre, expect), `test order: the page already shows ${expect === 'notes' ? 'notes' : 'an error'} ` +
            `before ${path.basename(file)} is opened (${JSON.stringify(pre)})`);
  const t0 = performance.now();
  await chooseFile(page, file);
  let pageError = null;
  const onPageError = (e) => { pageError = e; };
  page.on('pageerror', onPageError);
  try {
    // Stop waiting as soon as the page throws: an uncaught error will not settle by itself.
    // A function, not a string: Playwright evaluates a string predicate again on every poll,
    // which the page's Content-Security-Policy (no 'unsafe-eval') refuses.
    await page.waitForFunction((want) => {
      if (window.__qsPageError) return true;
      const s = window.qscribe.state();
      if (s.busy !== false) return false;  // the same test as settledOn()
      return want === 'notes' ? s.noteCount > 0 && !s.error : typeof s.error === 'string' && s.error.length > 0;
    }, expect, { timeout: timeoutMs, polling: 50 });
    if (pageError) throw pageError;
  } catch (e) {
    page.off('pageerror', onPageError);
    if (pageError) throw new Error(`the page threw while handling ${path.basename(file)}: ${pageError.message || pageError}`);
    const st = await page.evaluate(() => window.qscribe.state());
    const changes = await page.evaluate((seq) => window.__qsWatch.changes.filter((c) => c.seq > seq).slice(-20), before);
    throw new Error(`after opening ${path.basename(file)}, the page did not settle on ${expect === 'notes'
      ? 'notes (busy false, noteCount > 0, no error)' : 'an error message (busy false, error non-empty)'} ` +
      `within ${timeoutMs / 1000} s.\nstate(): ${JSON.stringify(st)}\nstate changes seen: ${JSON.stringify(changes)}`);
  }
  page.off('pageerror', onPageError);
  const seconds = (performance.now() - t0) / 1000;
  const state = await page.evaluate(() => window.qscribe.state());
  const changes = await page.evaluate((seq) => window.__qsWatch.changes.filter((c) => c.seq > seq), before);
  return { state, seconds, changes };
}

// Clicks an export button and saves the download into dir. Returns { file, suggested }.
export async function exportVia(page, id, dir) {
  const downloadPromise = page.waitForEvent('download', { timeout: 30000 })
    .catch(() => { throw new Error(`clicking uiRect('${id}') started no download within 30 s`); });
  await clickUi(page, id);
  const download = await downloadPromise;
  const suggested = download.suggestedFilename();
  const failure = await download.failure();
  assert.equal(failure, null, `download from '${id}' failed: ${failure}`);
  const file = path.join(dir, `downloaded-${suggested}`);
  await download.saveAs(file);
  log(`${id}: downloaded ${suggested} (${fs.statSync(file).size} bytes) -> ${file}`);
  return { file, suggested };
}

export async function pageNotes(page) {
  return page.evaluate(() => window.qscribe.notes().map((n) => ({
    onset: n.onset, offset: n.offset, pitch: n.pitch, velocity: n.velocity,
  })));
}

// Every note is well formed: finite seconds, onset < offset, MIDI pitch 21..108, velocity 1..127.
export function assertWellFormed(notes, what) {
  for (const n of notes) {
    const ok = Number.isFinite(n.onset) && Number.isFinite(n.offset) && n.onset >= 0 && n.offset > n.onset &&
               Number.isInteger(n.pitch) && n.pitch >= 21 && n.pitch <= 108 &&
               Number.isFinite(n.velocity) && n.velocity >= 1 && n.velocity <= 127;
    assert.ok(ok, `${what}: malformed note ${JSON.stringify(n)}`);
  }
}

// One-to-one matching of two note lists: same pitch, onsets within onsetTol and offsets within
// offsetTol seconds (greedy by onset distance). Returns { matched, unmatchedA, unmatchedB }.
export function matchNotes(a, b, { onsetTol = 0.002, offsetTol = Infinity } = {}) {
  const used = new Array(b.length).fill(false);
  const unmatchedA = [];
  let matched = 0;
  for (const n of a) {
    let best = -1;
    let bestD = Infinity;
    b.forEach((m, j) => {
      if (used[j] || m.pitch !== n.pitch) return;
      const d = Math.abs(m.onset - n.onset);
      if (d <= onsetTol && Math.abs(m.offset - n.offset) <= offsetTol && d < bestD) { best = j; bestD = d; }
    });
    if (best >= 0) { used[best] = true; matched++; } else unmatchedA.push(n);
  }
  return { matched, unmatchedA, unmatchedB: b.filter((_, j) => !used[j]) };
}

// Transfers a file into the page as an ArrayBuffer (window.__qsFile) without a network request.
export async function putFileInPage(page, file) {
  const b64 = fs.readFileSync(file).toString('base64');
  await page.evaluate((data) => {
    const bin = atob(data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    window.__qsFile = bytes.buffer;
  }, b64);
}
