// e2e.live: Chromium's fake microphone plays a rendered melody (8 piano notes above C4, looped
// by the fake device). The Mic button starts live transcription; after ~6 s live.active is true,
// the live notes carry most of the melody's pitches and few others, and live.latencyMs is
// measured (NAME.work/latency.json). The Mic button again stops it, keeping the notes.
// The latency goal (<= 150 ms above C3) is wall-clock time and the machine's load as much as the
// app's, so it is not asserted here: scripts/bench-live runs this test N times and prints it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { clickUi, log, runTest, waitUntil } from './browser.mjs';
import { assertWellFormed, pageNotes } from './app.mjs';
import { LIVE_MELODY, describe, liveFixtureNotes, renderFixture } from './fixtures.mjs';
import { workDir } from './workdir.mjs';

const NAME = 'e2e-live';
const dir = workDir(NAME);
// 48 kHz 16-bit mono: the fake capture device's own rate.
const melody = renderFixture(liveFixtureNotes(), dir, 'melody', { sampleRate: 48000, tail: 0.4 });

const options = {
  extraArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
              `--use-file-for-fake-audio-capture=${melody.wav}`,
              '--autoplay-policy=no-user-gesture-required'],
};

await runTest(NAME, options, async ({ page, context, origin, screenshot }) => {
  await context.grantPermissions(['microphone'], { origin });
  await clickUi(page, 'mic');
  await waitUntil(page, () => window.qscribe.state().live.active === true, null,
                  { timeoutMs: 15000, what: 'state().live.active after clicking Mic' });
  log('live transcription started');
  await page.waitForTimeout(6000);
  // State and notes from one evaluation, so they describe the same moment.
  const { st, notes } = await page.evaluate(() => ({
    st: window.qscribe.state(),
    notes: window.qscribe.notes().map((n) => ({ onset: n.onset, offset: n.offset, pitch: n.pitch, velocity: n.velocity })),
  }));
  log(`after 6 s: ${JSON.stringify(st)}`);
  assert.equal(st.live.active, true, 'live.active after 6 s');
  assert.equal(typeof st.live.level, 'number', 'live.level is a number');
  assertWellFormed(notes, 'live notes()');
  log(`live notes: ${describe(notes, 30)}`);
  await screenshot('live');
  const melodySet = new Set(LIVE_MELODY);
  const found = LIVE_MELODY.filter((p) => notes.some((n) => n.pitch === p));
  const wrong = notes.filter((n) => !melodySet.has(n.pitch));
  log(`melody pitches found ${found.length}/${LIVE_MELODY.length} (${found.join(' ')}); ` +
      `notes at other pitches ${wrong.length}/${notes.length}: ${describe(wrong)}`);
  assert.ok(found.length >= 6, `only ${found.length} of the melody's 8 pitches among the live notes`);
  assert.ok(wrong.length <= 0.25 * notes.length,
            `${wrong.length} of ${notes.length} live notes are at pitches not in the melody`);
  const latency = st.live.latencyMs;
  log(`live.latencyMs ${latency}`);
  fs.writeFileSync(path.join(dir, 'latency.json'), JSON.stringify({
    latencyMs: latency, latencies: st.live.latencies, lateNotes: st.live.lateNotes,
  }));

  await clickUi(page, 'mic');
  await waitUntil(page, () => window.qscribe.state().live.active === false, null,
                  { timeoutMs: 10000, what: 'state().live.active false after clicking Mic again' });
  const after = await pageNotes(page);
  log(`stopped: ${after.length} notes kept`);
  // Notes of the last second are provisional while live (more audio can still merge a re-strike,
  // move an onset by a frame, or drop a blip the full context no longer supports: a spurious
  // 93@5.71 of 6.21 s went at the stop in one CI run); everything older must survive stopping
  // unchanged.
  const settled = notes.filter((n) => n.onset < st.duration - 1.0);
  assert.ok(after.length >= settled.length, `notes after stopping: ${after.length}, settled before ${settled.length}`);
  const kept = settled.filter((n) => after.some((m) => m.pitch === n.pitch && Math.abs(m.onset - n.onset) < 1e-6));
  assert.ok(settled.length > 0, 'no settled live notes to check');
  assert.equal(kept.length, settled.length, 'every settled live note is kept after stopping');

  // Checked last, so that a slow page still exercises stopping above.
  assert.ok(typeof latency === 'number' && Number.isFinite(latency) && latency > 0,
            `live.latencyMs is ${latency}, not a measured time`);
});
