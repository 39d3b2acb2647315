// e2e.score: eight bars of 4/4 piano at 120 bpm (melody over a bass line) opened through the
// Open button. The page's musical reading (analysis()) is logged as estimated, then fixed to
// 120 bpm 4/4 with setAnalysis(); the bar count it gives must match the one computed here from the
// page's notes and beats, the MusicXML's <measure> count and the g.measure elements the Score view
// engraves with Verovio (opened with the Score button; a screenshot is saved). Seeking marks the
// bar being played; a click on a bar seeks to it; a new time signature re-engraves the score. The
// MusicXML and quantised MIDI downloads are read with Python's xml.etree and mido. Verovio comes
// from the page's origin, like every other request.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SOURCE_DIR, clickUi, log, runTest } from './browser.mjs';
import { exportVia, openAndSettle, pageNotes } from './app.mjs';
import { SCORE_FIXTURE, midiMeta, musicxmlSummary, renderFixture, scoreFixtureNotes } from './fixtures.mjs';
import { workDir } from './workdir.mjs';

const NAME = 'e2e-score';
const dir = workDir(NAME);
const fixture = renderFixture(scoreFixtureNotes(), dir, 'score');

// Bars the quantiser must write for `notes` on a steady beat grid: from the bar line at or before
// the first onset (a quarter beat of slack) to the bar holding the end of the last note. The end
// snaps to the grid (at most a quarter beat either way), so a range is returned.
function expectedBars(notes, analysis) {
  const beats = analysis.beats;
  const beat = (beats[beats.length - 1] - beats[0]) / (beats.length - 1);
  const bar = beat * analysis.meter.beatsPerBar;
  const first = Math.min(...notes.map((n) => n.onset));
  const last = Math.max(...notes.map((n) => n.offset));
  let line = analysis.downbeats[0];
  while (line > first + 0.25 * beat) line -= bar;
  while (line + bar <= first + 0.25 * beat) line += bar;
  const count = (end) => Math.max(1, Math.ceil((end - line) / bar - 1e-6));
  return { lo: count(last - 0.25 * beat), hi: count(last + 0.25 * beat), firstBarLine: line, barSeconds: bar };
}

async function scoreDom(page) {
  return page.evaluate(() => {
    const panel = document.getElementById('score');
    const r = panel.getBoundingClientRect();
    const measures = Array.from(panel.querySelectorAll('g.measure'));
    return {
      display: getComputedStyle(panel).display, rect: { x: r.x, y: r.y, w: r.width, h: r.height },
      pages: panel.querySelector('.score-pages').children.length, measures: measures.length,
      stavesPerMeasure: measures.map((m) => m.querySelectorAll('g.staff').length),
      notes: panel.querySelectorAll('g.note').length, playing: measures.findIndex((m) => m.classList.contains('qs-playing')),
      status: panel.querySelector('.score-status').textContent, dataset: { ...panel.dataset },
    };
  });
}

await runTest(NAME, {}, async ({ page, screenshot, requests }) => {
  await openAndSettle(page, fixture.wav, { expect: 'notes' });
  const notes = await pageNotes(page);
  log(`${notes.length} notes on the page (${fixture.notes.length} rendered)`);
  for (const id of ['score', 'tempo', 'meter', 'key', 'contrast', 'export-musicxml', 'export-qmid']) {
    assert.ok(await page.evaluate((i) => window.qscribe.uiRect(i), id), `uiRect('${id}') is on screen`);
  }
  assert.equal(await page.evaluate(() => document.querySelectorAll('script[src*="verovio"]').length), 0);
  assert.ok(!requests.some((r) => r.url.includes('/verovio/')), 'Verovio is not loaded before the Score view opens');

  // The estimate, as the page makes it.
  const auto = await page.evaluate(() => window.qscribe.analysis());
  assert.ok(auto && auto.beats.length >= 2 && auto.downbeats.length >= 1 && auto.bars >= 1, `analysis(): ${JSON.stringify(auto)}`);
  log(`estimated: ${auto.tempo} bpm, ${auto.meter.timeSignature}, ${auto.key.name}, ${auto.bars} bars, ` +
      `${auto.beats.length} beats, ${auto.staves} staves, analysis + notation ${auto.analysisMs} ms ` +
      `(the piece: ${SCORE_FIXTURE.bpm} bpm ${SCORE_FIXTURE.timeSignature} ${SCORE_FIXTURE.key}, ${SCORE_FIXTURE.bars} bars)`);
  assert.equal(auto.overrides.tempo, 0);
  assert.equal(auto.overrides.timeSignature, '');
  // The beats follow the shipped beat network, fetched from the page's origin.
  assert.ok((await page.evaluate(() => window.qscribe.state())).beatNet, 'state().beatNet: the beat network is loaded');
  assert.ok(requests.some((r) => new URL(r.url).pathname.endsWith('/models/beat_net.json')), 'models/beat_net.json was fetched');
  assert.ok(Math.abs(auto.tempo - SCORE_FIXTURE.bpm) < 2, `estimated tempo ${auto.tempo}, the piece's ${SCORE_FIXTURE.bpm}`);

  // A bad override is refused with a reason and changes nothing.
  const bad = await page.evaluate(() => window.qscribe.setAnalysis({ timeSignature: '5/3' }).then(() => '', (e) => e.message));
  log(`setAnalysis({timeSignature: '5/3'}) -> ${bad}`);
  assert.ok(/time signature/i.test(bad), `a bad time signature is refused with a reason (got "${bad}")`);
  assert.equal((await page.evaluate(() => window.qscribe.analysis())).revision, auto.revision, 'a refused override changes nothing');

  // Fixed tempo and meter: a bar count that follows from the notes.
  const an = await page.evaluate((f) => window.qscribe.setAnalysis({ tempo: f.bpm, timeSignature: f.timeSignature }), SCORE_FIXTURE);
  log(`fixed: ${an.tempo} bpm, ${an.meter.timeSignature}, ${an.key.name}, ${an.bars} bars, first bar line ` +
      `${an.barTimes[0]} s, ${an.scoreNotes} score notes, ${an.analysisMs} ms`);
  assert.equal(an.meter.timeSignature, '4/4');
  assert.ok(Math.abs(an.tempo - SCORE_FIXTURE.bpm) < 1, `tempo ${an.tempo}`);
  assert.deepEqual(an.overrides, { tempo: SCORE_FIXTURE.bpm, timeSignature: '4/4', key: '' });
  const want = expectedBars(notes, an);
  log(`expected from the notes: ${want.lo}..${want.hi} bars of ${want.barSeconds.toFixed(3)} s from ${want.firstBarLine.toFixed(3)} s`);
  assert.ok(an.bars >= want.lo && an.bars <= want.hi, `analysis().bars ${an.bars}, expected ${want.lo}..${want.hi}`);
  assert.equal(an.barTimes.length, an.bars + 1, 'barTimes: one start per bar and the end');
  const xml = await page.evaluate(() => window.qscribe.musicxml());
  assert.ok(xml.startsWith('<?xml'), 'musicxml() starts with <?xml');
  assert.ok(xml.includes('<score-partwise'), 'musicxml() is score-partwise');
  assert.equal((xml.match(/<measure\b/g) || []).length, an.bars, 'musicxml() has analysis().bars measures');

  // The Score view, through its button.
  await clickUi(page, 'score');
  const t0 = performance.now();
  const info = await page.evaluate(() => window.qscribe.showScore(true));
  log(`Score view: ${JSON.stringify(info)} (${((performance.now() - t0) / 1000).toFixed(1)} s after the click)`);
  assert.equal(info.error, '', 'the Score view engraves without error');
  let dom = await scoreDom(page);
  log(`Score view DOM: ${dom.pages} page(s), ${dom.measures} measures, ${dom.notes} notes, staves per measure ` +
      `${[...new Set(dom.stavesPerMeasure)].join('/')}, panel ${JSON.stringify(dom.rect)}`);
  assert.equal(dom.display, 'block', 'the panel is shown');
  assert.ok(dom.rect.w > 300 && dom.rect.h > 150, 'the panel has room');
  assert.ok(dom.pages >= 1, 'at least one page of SVG');
  assert.equal(dom.measures, an.bars, 'g.measure elements = analysis().bars');
  assert.ok(dom.stavesPerMeasure.every((n) => n === an.staves && n >= 1), `every measure has ${an.staves} staves`);
  assert.equal(an.staves, 2, 'melody over a bass line: a grand staff');
  assert.ok(dom.notes >= an.scoreNotes * 0.9, `engraved notes ${dom.notes} (score notes ${an.scoreNotes})`);
  assert.ok((await page.evaluate(() => window.qscribe.state())).showScore, 'state().showScore');
  // The bar being played is marked: seek (a click on the time axis) into the third bar.
  const st = await page.evaluate(() => window.qscribe.state());
  const target = (an.barTimes[2] + an.barTimes[3]) / 2;
  const timeline = await page.evaluate(() => window.qscribe.uiRect('timeline'));
  const span = Math.max(1, st.duration);  // the view fits the whole file
  await page.mouse.click(timeline.x + (target / span) * timeline.w, timeline.y + timeline.h / 2);
  await page.waitForFunction(() => document.querySelector('#score g.measure.qs-playing'), null, { timeout: 10000 });
  const playTime = (await page.evaluate(() => window.qscribe.state())).playTime;
  const bar = an.barTimes.findIndex((t, i) => i < an.bars && playTime >= t && playTime < an.barTimes[i + 1]);
  dom = await scoreDom(page);
  log(`seek to ${playTime.toFixed(2)} s: bar ${bar + 1} expected, measure ${dom.playing + 1} marked`);
  assert.equal(dom.playing, bar, 'the measure being played is marked');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#score g.measure.qs-playing').length), 1);

  // The picture (with the third bar marked as playing).
  await page.mouse.move(1250, 78);  // over the status line: no tooltip in the picture
  await page.waitForTimeout(300);
  const shot = await screenshot('score');
  if (shot) {
    fs.copyFileSync(shot, path.join(dir, 'score-view.png'));
    if (process.env.QS_UPDATE_DOCS_IMG) {  // the README's picture: only when asked, so tests leave the tree alone
      fs.copyFileSync(shot, path.join(SOURCE_DIR, 'docs/img/score-view.png'));
      log('docs/img/score-view.png updated');
    }
  }

  // A click on the fifth bar seeks to its start.
  const box = await page.evaluate(() => {
    const r = document.querySelectorAll('#score g.measure')[4].querySelector('g.staff').getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
  await page.mouse.click(box.x, box.y);
  await page.waitForFunction((t) => Math.abs(window.qscribe.state().playTime - t) < 0.02, an.barTimes[4], { timeout: 5000 });
  log(`click on measure 5: play position ${(await page.evaluate(() => window.qscribe.state())).playTime.toFixed(3)} s ` +
      `(bar 5 starts at ${an.barTimes[4]} s)`);

  // Playing from there: the mark moves on with the music (bar 5 -> bar 6).
  await clickUi(page, 'play');
  await page.waitForFunction((t) => window.qscribe.state().playing && window.qscribe.state().playTime > t,
                             an.barTimes[5] + 0.2, { timeout: 10000 });
  const during = await page.evaluate(() => ({ t: window.qscribe.state().playTime, bar: window.qscribe.scoreView().bar }));
  await clickUi(page, 'play');  // pause
  log(`playing: ${during.t.toFixed(2)} s, measure ${during.bar + 1} marked`);
  assert.ok(during.bar >= 5, `the marked bar follows playback (bar ${during.bar + 1} at ${during.t.toFixed(2)} s)`);

  // Another time signature re-engraves the score.
  const an3 = await page.evaluate(() => window.qscribe.setAnalysis({ timeSignature: '3/4' }));
  const info3 = await page.evaluate(() => window.qscribe.showScore(true));
  dom = await scoreDom(page);
  log(`3/4: ${an3.bars} bars, Score view ${dom.measures} measures (engraved in ${info3.engraveMs.toFixed(0)} ms)`);
  assert.equal(an3.meter.timeSignature, '3/4');
  assert.equal(dom.measures, an3.bars, 'the Score view follows the time signature');
  assert.equal(Number(dom.dataset.revision), an3.revision, 'the engraving is of the current analysis');
  await page.evaluate(() => window.qscribe.setAnalysis({ timeSignature: '4/4' }));

  // Downloads.
  const mx = await exportVia(page, 'export-musicxml', dir);
  assert.equal(mx.suggested, 'score.musicxml', 'MusicXML download name');
  const text = fs.readFileSync(mx.file, 'utf8');
  assert.ok(text.startsWith('<?xml'), 'the MusicXML download starts with <?xml');
  assert.ok(text.includes('<score-partwise'), 'the MusicXML download has <score-partwise>');
  const sum = musicxmlSummary(mx.file);
  log(`MusicXML (xml.etree): ${JSON.stringify({ ...sum, bad_bars: sum.bad_bars.slice(0, 4) })}`);
  assert.equal(sum.root, 'score-partwise');
  assert.deepEqual(sum.measures, [an.bars], 'one part with analysis().bars measures');
  assert.deepEqual(sum.time, [4, 4]);
  assert.equal(sum.staves, 2);
  assert.ok(sum.durations_ok, `every voice fills its bars: ${JSON.stringify(sum.bad_bars)}`);

  const qm = await exportVia(page, 'export-qmid', dir);
  assert.equal(qm.suggested, 'score.quantized.mid', 'quantised MIDI download name');
  const meta = midiMeta(qm.file);
  log(`quantised MIDI (mido): ${meta.ticks_per_beat} ticks/quarter, tempos ${JSON.stringify(meta.tempos.slice(0, 3))}` +
      `${meta.tempos.length > 3 ? ` … (${meta.tempos.length})` : ''}, time signatures ${JSON.stringify(meta.time_signatures)}, ` +
      `keys ${JSON.stringify(meta.key_signatures)}, ${meta.notes.length} notes`);
  assert.ok(meta.tempos.length >= 1, 'a tempo event');
  // A tempo event per beat follows the tracked beats (the fixed tempo sets their period, the
  // tracker still places each beat): around the fixed tempo, the median on it.
  const bpms = meta.tempos.map(([, bpm]) => bpm).sort((a, b) => a - b);
  assert.ok(bpms.every((bpm) => Math.abs(bpm / SCORE_FIXTURE.bpm - 1) < 0.1), `tempos near ${SCORE_FIXTURE.bpm} bpm: ${bpms}`);
  assert.ok(Math.abs(bpms[bpms.length >> 1] - SCORE_FIXTURE.bpm) < 1, `median tempo ${bpms[bpms.length >> 1]}`);
  assert.deepEqual(meta.time_signatures[0], [0, 4, 4], 'a 4/4 time signature at tick 0');
  assert.ok(meta.key_signatures.length >= 1, 'a key signature');
  assert.equal(meta.notes.length, an.scoreNotes, 'one MIDI note per score note');
  const grid = meta.ticks_per_beat / 12;  // sixteenths and eighth-note triplets fall on it
  assert.ok(meta.notes.every(([on, off]) => on % grid === 0 && off % grid === 0), 'notes on the beat grid');
  const barTicks = 4 * meta.ticks_per_beat;
  assert.ok(Math.max(...meta.notes.map(([, off]) => off)) <= an.bars * barTicks, 'the notes end within the bars');

  // Spectrogram contrast: the level range follows the file and scales with the control.
  const s1 = (await page.evaluate(() => window.qscribe.state())).spectrogram;
  await page.evaluate(() => window.qscribe.setContrast(2));
  await page.waitForTimeout(400);
  const s2 = (await page.evaluate(() => window.qscribe.state())).spectrogram;
  log(`spectrogram levels: ${JSON.stringify(s1)} -> contrast 2: ${JSON.stringify(s2)}`);
  assert.ok(s1.topDb > -60 && s1.topDb < 12, `top level ${s1.topDb} dB follows the file`);
  assert.ok(Math.abs(s1.topDb - s1.bottomDb - 60) < 1e-6, '60 dB range at contrast 1');
  assert.ok(Math.abs(s2.topDb - s2.bottomDb - 30) < 1e-6, '30 dB range at contrast 2');

  // Verovio came from this origin, when the Score view first opened.
  const vrv = requests.filter((r) => r.url.includes('/verovio/') || r.url.includes('score-worker'));
  log(`engraver requests: ${vrv.map((r) => new URL(r.url).pathname).join(', ') || '(none seen)'}`);
  assert.ok(vrv.length >= 1, 'the engraver was loaded from the page origin');
});
