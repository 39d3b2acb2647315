// Browser benchmark (scripts/bench-web runs it): the web app in headless Debian Chromium.
//  - page weight: bytes the first load transfers until window.qscribe.ready (cold cache)
//  - time to first transcription: navigation start -> transcribe() of a short file finished
//  - whole-file speed: window.qscribe.transcribe(arrayBuffer) on a 3-minute song (decode ->
//    notes), several runs, as x real time; beside it the native `qscribe transcribe` and Basic Pitch
//    (npm 1.0.1 under Node, ../shared/eval/run_basic_pitch.sh) on the same audio, and each one's
//    note F1 (mir_eval, onset only, 50 ms) against the notes the synthesiser rendered.
// Prints a markdown table and writes OUT/results.json. Usage:
//   node tests/e2e/bench_web.mjs [--out DIR] [--runs 3] [--no-basic-pitch]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { SOURCE_DIR, log, openApp, wasmWebDir } from './browser.mjs';
import { midiNotes, noteF1, parseTsv, qscribeBin } from './fixtures.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const OUT = path.resolve(opt('--out', path.join(SOURCE_DIR, 'build/bench-web')));
const RUNS = Number(opt('--runs', 3));
const WITH_BP = !args.includes('--no-basic-pitch');
const SONG_MIDI = opt('--midi', '/usr/share/games/openttd/baseset/openmsx/keep_on_rolling.mid');
const SOUNDFONT = opt('--soundfont', '/usr/share/sounds/sf2/FluidR3_GM.sf2');
const SECONDS = Number(opt('--seconds', 180));
const SHORT_SECONDS = 10;
const EVAL_DIR = process.env.QS_SHARED_EVAL || path.resolve(SOURCE_DIR, '../shared/eval');

function sh(cmd, argv, opts = {}) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (e) {
    throw new Error(`${cmd} ${argv.join(' ')} failed (${e.status}):\n${e.stderr || e.message}`);
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// ---- audio: SONG_MIDI rendered with FluidR3_GM (its own GM programs), cut to SECONDS -----------
function prepareAudio() {
  for (const f of [SONG_MIDI, SOUNDFONT]) if (!fs.existsSync(f)) throw new Error(`missing ${f}`);
  const render = path.join(OUT, 'render');
  const name = path.basename(SONG_MIDI).replace(/\.midi?$/i, '');
  const rendered = path.join(render, `${name}.wav`);
  if (!fs.existsSync(rendered)) {
    log(`rendering ${SONG_MIDI} with ${path.basename(SOUNDFONT)} (44.1 kHz)`);
    sh(qscribeBin(), ['synth', '--midi', SONG_MIDI, '--soundfont', SOUNDFONT, '--sample-rate', '44100',
                      '-j', '1', '-q', '-o', render]);
  }
  const songDir = path.join(OUT, 'song');
  fs.mkdirSync(songDir, { recursive: true });
  const song = path.join(songDir, 'song.wav');
  const short = path.join(OUT, 'short.wav');
  sh('sox', ['-D', '-V1', rendered, song, 'trim', '0', String(SECONDS)]);
  sh('sox', ['-D', '-V1', rendered, short, 'trim', '30', String(SHORT_SECONDS)]);
  const seconds = Number(sh('soxi', ['-D', song]).trim());
  if (Math.abs(seconds - SECONDS) > 0.01) throw new Error(`${song} lasts ${seconds} s, not ${SECONDS} s (the piece is too short)`);
  const ref = midiNotes(path.join(render, `${name}.mid`)).filter((n) => n.onset < SECONDS - 0.05);
  fs.writeFileSync(path.join(OUT, 'song.ref.json'), JSON.stringify(ref));
  log(`song ${song}: ${seconds} s, ${ref.length} reference notes; short file ${short}`);
  return { song, short, seconds, ref, piece: path.basename(SONG_MIDI) };
}

// ---- the browser ----------------------------------------------------------------------------
async function browser(audio) {
  // The bench folder is served too (same origin) so the page can fetch the audio without
  // the transfer being part of any timing; those requests are left out of the page weight.
  process.env.QS_E2E_ROOTS = [...pageRoots(), OUT].join(':');
  const benchUrls = (u) => /\/(short|song\/song)\.wav$/.test(new URL(u).pathname);
  const session = await openApp({ name: 'bench-web', waitReady: false, timeoutMs: 900000, screenshotDir: OUT });
  try {
    const { page } = session;
    const first = await page.evaluate(async () => {
      while (!window.qscribe) await new Promise((r) => setTimeout(r, 5));
      await window.qscribe.ready;
      const tReady = performance.now();
      const buf = await (await fetch('/short.wav')).arrayBuffer();
      const tFetched = performance.now();
      const notes = await window.qscribe.transcribe(buf);
      const tDone = performance.now();
      return { tReady, fetchMs: tFetched - tReady, tDone, notes: notes.length, version: window.qscribe.version,
               isolated: window.crossOriginIsolated, cores: navigator.hardwareConcurrency };
    });
    const ttftMs = first.tDone - first.fetchMs;
    log(`ready ${first.tReady.toFixed(0)} ms after navigation start; first transcription (${SHORT_SECONDS} s file, ` +
        `${first.notes} notes) done at ${ttftMs.toFixed(0)} ms`);

    // Page weight: every response of the first load except the benchmark's audio.
    await page.waitForTimeout(500);  // let requestfinished handlers collect sizes
    const items = [];
    for (const r of session.responses) {
      if (benchUrls(r.url)) continue;
      let gz = null;
      try {
        const body = fs.readFileSync(resolveServed(r.url));
        gz = zlib.gzipSync(body, { level: 9 }).length;
      } catch { /* not a plain file */ }
      items.push({ path: new URL(r.url).pathname, bytes: r.bodyBytes, headers: r.headerBytes, gzip: gz, status: r.status });
    }
    items.sort((a, b) => b.bytes - a.bytes);
    const weight = {
      requests: items.length,
      bodyBytes: items.reduce((s, i) => s + Math.max(0, i.bytes), 0),
      headerBytes: items.reduce((s, i) => s + Math.max(0, i.headers), 0),
      gzipBytes: items.every((i) => i.gzip !== null) ? items.reduce((s, i) => s + i.gzip, 0) : null,
      items,
    };
    log(`page weight: ${weight.requests} requests, ${(weight.bodyBytes / 1e6).toFixed(2)} MB bodies` +
        (weight.gzipBytes ? ` (${(weight.gzipBytes / 1e6).toFixed(2)} MB gzipped)` : ''));

    // Whole-song runs.
    await page.evaluate(async () => {
      window.__qsSong = await (await fetch('/song/song.wav')).arrayBuffer();
    });
    const runs = [];
    let notes = null;
    for (let i = 0; i < RUNS; i++) {
      const r = await page.evaluate(async () => {
        const bytes = window.__qsSong.slice(0);  // decoding detaches the buffer: one copy per run
        const t0 = performance.now();
        const out = await window.qscribe.transcribe(bytes);
        const ms = performance.now() - t0;
        return { ms, notes: out.map((n) => ({ onset: n.onset, offset: n.offset, pitch: n.pitch, velocity: n.velocity })) };
      });
      runs.push(r.ms / 1000);
      notes = r.notes;
      log(`browser run ${i + 1}: ${(r.ms / 1000).toFixed(2)} s = ${(audio.seconds / (r.ms / 1000)).toFixed(1)}x real time, ${r.notes.length} notes`);
    }
    await session.screenshot('song');
    const off = session.offOrigin();
    if (off.length) throw new Error(`requests left the page's origin: ${off.map((r) => r.url).join(', ')}`);
    return { first, ttftMs, weight, runs, notes, chromium: session.browser.version() };
  } finally {
    await session.close();
  }
}

// The folders the page comes from (QS_E2E_ROOTS as given, else web/ and the wasm web build).
const PAGE_ROOTS = process.env.QS_E2E_ROOTS ? process.env.QS_E2E_ROOTS.split(':') : null;
function pageRoots() {
  return PAGE_ROOTS || [path.join(SOURCE_DIR, 'web'), wasmWebDir()];
}

// Maps a served URL back to its file (the same search as web/server.mjs, for gzip estimates).
function resolveServed(url) {
  const p = decodeURIComponent(new URL(url).pathname).replace(/^\/+/, '');
  const mounts = [['models/', path.join(SOURCE_DIR, 'models')], ['ort/', path.join(SOURCE_DIR, 'node_modules/onnxruntime-web/dist')]];
  for (const [prefix, dir] of mounts) if (p.startsWith(prefix)) return path.join(dir, p.slice(prefix.length));
  for (const root of pageRoots()) {
    const f = path.join(root, p === '' ? 'index.html' : p);
    if (fs.existsSync(f) && fs.statSync(f).isFile()) return f;
  }
  throw new Error(`not found: ${url}`);
}

// ---- native tool and Basic Pitch ------------------------------------------------------------
function native(audio) {
  const tsv = path.join(OUT, 'native.tsv');
  const t0 = performance.now();
  const r = spawnSync(qscribeBin(), ['transcribe', audio.song, '-o', tsv, '--threads', '1'], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`qscribe transcribe failed: ${r.stderr}`);
  // Its summary: "NAME: N notes, S s of audio in T s (Xx real time) -> OUT" (model load excluded)
  const m = /of audio in ([\d.]+) s/.exec(r.stderr);
  const own = m ? Number(m[1]) : null;
  log(`native qscribe transcribe (1 thread): ${r.stderr.trim()}; process wall ${wall.toFixed(2)} s`);
  return { wall, own, notes: parseTsv(fs.readFileSync(tsv, 'utf8')) };
}

function basicPitch(audio) {
  const runner = path.join(EVAL_DIR, 'run_basic_pitch.sh');
  if (!fs.existsSync(runner)) throw new Error(`Basic Pitch runner ${runner} not found (set QS_SHARED_EVAL)`);
  const out = path.join(OUT, 'basic-pitch');
  fs.rmSync(out, { recursive: true, force: true });
  log('Basic Pitch (npm 1.0.1, tfjs-wasm, 1 thread) on the same song');
  const msg = sh('bash', [runner, path.dirname(audio.song), out]);
  log(msg.trim());
  const timing = JSON.parse(fs.readFileSync(path.join(out, 'timing.json'), 'utf8'));
  return { timing, notes: parseTsv(fs.readFileSync(path.join(out, 'song.tsv'), 'utf8')) };
}

// ---- main -----------------------------------------------------------------------------------
fs.mkdirSync(OUT, { recursive: true });
const audio = prepareAudio();
const web = await browser(audio);
const nat = native(audio);
const bp = WITH_BP ? basicPitch(audio) : null;

const f1 = (notes, label) => noteF1(audio.ref, notes, OUT, { label }).f1;
const webMedian = median(web.runs);
const results = {
  date: new Date().toISOString(), piece: audio.piece, soundfont: path.basename(SOUNDFONT), audio_s: audio.seconds,
  chromium: web.chromium, app_version: web.first.version, cross_origin_isolated: web.first.isolated,
  hardware_concurrency: web.first.cores,
  page_weight: { requests: web.weight.requests, body_bytes: web.weight.bodyBytes, header_bytes: web.weight.headerBytes,
                 gzip_bytes: web.weight.gzipBytes, items: web.weight.items },
  ready_ms: Math.round(web.first.tReady), time_to_first_transcription_ms: Math.round(web.ttftMs),
  short_file_s: SHORT_SECONDS,
  browser: { runs_s: web.runs, median_s: webMedian, x_realtime: audio.seconds / webMedian, notes: web.notes.length,
             note_f1: f1(web.notes, 'browser') },
  native: { process_wall_s: nat.wall, transcribe_s: nat.own, x_realtime: audio.seconds / (nat.own ?? nat.wall),
            notes: nat.notes.length, note_f1: f1(nat.notes, 'native') },
  basic_pitch: bp && { inference_s: bp.timing.wall_s, x_realtime: bp.timing.x_realtime, model_load_s: bp.timing.model_load_s,
                       process_wall_s: bp.timing.process_wall_s, notes: bp.notes.length, note_f1: f1(bp.notes, 'basic_pitch') },
};
fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 1) + '\n');

const fmt = (x, d = 1) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
const lines = [
  `### ${audio.seconds} s of ${audio.piece} (${path.basename(SOUNDFONT)}, 44.1 kHz mono WAV), ${results.date.slice(0, 10)}`,
  '',
  '| | qscribe in Chromium | qscribe native | Basic Pitch (Node) |',
  '|---|---:|---:|---:|',
  `| what is timed | \`transcribe(arrayBuffer)\`: decode, resample, CQT, model, notes | \`qscribe transcribe\`, 1 thread: read, resample, CQT, model, notes (model load excluded) | inference + note decoding of 22.05 kHz samples (model load, file read and resampling excluded) |`,
  `| seconds (median of ${RUNS} for the browser) | ${fmt(webMedian, 2)} | ${fmt(nat.own ?? nat.wall, 2)} | ${bp ? fmt(bp.timing.wall_s, 2) : '—'} |`,
  `| **× real time** | **${fmt(results.browser.x_realtime)}** | ${fmt(results.native.x_realtime)} | ${bp ? fmt(bp.timing.x_realtime) : '—'} |`,
  `| notes | ${web.notes.length} | ${nat.notes.length} | ${bp ? bp.notes.length : '—'} |`,
  `| note F1 vs rendered MIDI (onset, 50 ms) | ${fmt(results.browser.note_f1, 3)} | ${fmt(results.native.note_f1, 3)} | ${bp ? fmt(results.basic_pitch.note_f1, 3) : '—'} |`,
  '',
  '| first visit (cold cache, served by web/server.mjs) | |',
  '|---|---:|',
  `| page weight (everything fetched up to the first transcription) | ${mb(web.weight.bodyBytes + web.weight.headerBytes)} in ${web.weight.requests} requests` +
    (web.weight.gzipBytes ? ` (${mb(web.weight.gzipBytes)} if gzipped)` : '') + ' |',
  `| largest | ${web.weight.items.slice(0, 4).map((i) => `${i.path} ${mb(i.bytes)}`).join(', ')} |`,
  `| navigation start → \`ready\` (wasm + model loaded) | ${fmt(web.first.tReady / 1000, 2)} s |`,
  `| navigation start → first transcription done (${SHORT_SECONDS} s file) | ${fmt(web.ttftMs / 1000, 2)} s |`,
  '',
  `Chromium ${web.chromium} headless (SwiftShader WebGL), crossOriginIsolated ${web.first.isolated}, ` +
    `hardwareConcurrency ${web.first.cores}; browser runs: ${web.runs.map((s) => s.toFixed(2)).join(', ')} s.`,
];
console.log('\n' + lines.join('\n'));
console.log(`\n(results: ${path.join(OUT, 'results.json')})`);
