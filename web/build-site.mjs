// Builds the static site (scripts/build-site runs this; docs/deploy.md): every file the page
// needs, found by following the references from index.html, copied into one folder that works
// on any static host.
//
//   node web/build-site.mjs OUT_DIR [--wasm DIR] [--models DIR] [--no-compress] [--quiet]
//
//  - Sources, as web/server.mjs maps them: the page's own files from web/ and the wasm build
//    (--wasm, default build/wasm/web), models/* from models/ (--models), ort/* from
//    node_modules/onnxruntime-web/dist, verovio/* from node_modules/verovio/dist.
//  - References: in the page's own files (web/, the wasm build's qscribe_web.js, the manifest),
//    every quoted string that names another file of the site ('./app.js', "app.css",
//    'qscribe_web.wasm', 'icons/icon-192.png', ...) is a dependency. ONNX Runtime's, Verovio's and
//    the model's files are leaves (copied as they are).
//  - Content hashes: every file except index.html, sw.js and manifest.webmanifest is renamed
//    NAME.HHHHHHHHHH.EXT (the first 10 hex digits of the SHA-256 of its final bytes), and the
//    strings that named it are rewritten; dependencies first, so a change anywhere changes the
//    names up the chain. Such files can be cached forever.
//  - index.html gets data-service-worker="sw.js" (web/boot.js then installs it) and the CSP as a
//    <meta> tag; sw.js gets the site's version and file list (what it caches for offline use).
//  - Precompressed copies next to each file: FILE.gz (gzip -9) and FILE.br (Debian's brotli,
//    quality 11, 16 MiB window), kept when they save at least 3 %, each checked by decompressing
//    it again. Compressed files are cached by content under build/site-cache (QS_SITE_CACHE), so
//    a rebuild only compresses what changed.
//  - Also _headers (COOP/COEP/CSP and cache lifetimes for hosts that read it: Netlify,
//    Cloudflare Pages) and .nojekyll (GitHub Pages serves the folder as it is).
// The folder is written next to OUT_DIR and renamed into place; an existing OUT_DIR is replaced
// only if it is empty or an earlier site (it has index.html and sw.js).
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { CSP, CSP_META } from './csp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = path.resolve(here, '..');

function usage(message) {
  console.error(`build-site: ${message}\nusage: scripts/build-site OUT_DIR [--wasm DIR] [--models DIR] [--no-compress] [--quiet]`);
  process.exit(2);
}

const args = process.argv.slice(2);
let outDir = null;
let wasmDir = process.env.QSCRIBE_WASM_WEB_DIR || path.join(SOURCE_DIR, 'build/wasm/web');
let modelsDir = path.join(SOURCE_DIR, 'models');
let compress = true;
let quiet = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--wasm') wasmDir = args[++i];
  else if (args[i] === '--models') modelsDir = args[++i];
  else if (args[i] === '--no-compress') compress = false;
  else if (args[i] === '--quiet') quiet = true;
  else if (args[i].startsWith('-')) usage(`unknown option ${args[i]}`);
  else if (outDir) usage('one output folder only');
  else outDir = args[i];
}
if (!outDir) usage('no output folder given');
outDir = path.resolve(outDir);
wasmDir = path.resolve(wasmDir);
modelsDir = path.resolve(modelsDir);
const cacheDir = path.resolve(process.env.QS_SITE_CACHE || path.join(SOURCE_DIR, 'build/site-cache'));
const say = (...a) => { if (!quiet) console.log(...a); };

const MOUNTS = [
  ['models/', modelsDir],
  ['ort/', path.join(SOURCE_DIR, 'node_modules/onnxruntime-web/dist')],
  ['verovio/', path.join(SOURCE_DIR, 'node_modules/verovio/dist')],
];
const OWN_ROOTS = [here, wasmDir];          // the page's own files: scanned for references
const UNHASHED = new Set(['index.html', 'sw.js', 'manifest.webmanifest']);
const SCANNED_EXT = new Set(['.html', '.js', '.mjs', '.css', '.webmanifest']);
const NOT_COMPRESSED = new Set(['.png', '.jpg', '.webp', '.gz', '.br']);

if (!fs.existsSync(path.join(wasmDir, 'qscribe_web.js'))) {
  usage(`no wasm build in ${wasmDir} (build the qscribe_web target of the wasm preset, or pass --wasm DIR)`);
}

// Site path ('ort/ort.wasm.min.mjs') -> { file, scanned } or null.
function source(sitePath) {
  for (const [prefix, dir] of MOUNTS) {
    if (sitePath.startsWith(prefix)) {
      const file = path.join(dir, sitePath.slice(prefix.length));
      return file.startsWith(dir + path.sep) && isFile(file) ? { file, scanned: false } : null;
    }
  }
  for (const root of OWN_ROOTS) {
    const file = path.join(root, sitePath);
    if (file.startsWith(root + path.sep) && isFile(file)) return { file, scanned: SCANNED_EXT.has(path.extname(file)) };
  }
  return null;
}
function isFile(f) {
  try { return fs.statSync(f).isFile(); } catch { return false; }
}

// Quoted strings without spaces: module specifiers, new URL(...) arguments, HTML attributes,
// manifest entries.
const LITERAL = /(['"`])([A-Za-z0-9_.\-/]+)\1/g;

// The site path a literal in `fromSitePath` names, or null. A literal that must be a file (in
// web/'s own files one that starts with './'; anywhere, one into models/, ort/ or verovio/) and
// is missing stops the build.
function target(fromSitePath, literal) {
  if (literal.startsWith('/') || literal.endsWith('/') || !/\.[A-Za-z0-9]+$/.test(literal)) return null;
  const p = path.posix.normalize(path.posix.join(path.posix.dirname(fromSitePath), literal));
  if (p.startsWith('..') || p === 'sw.js') return null;  // sw.js: registered by web/boot.js, written last
  if (source(p)) return p;
  const ours = (source(fromSitePath)?.file || '').startsWith(here + path.sep);
  if ((ours && literal.startsWith('./')) || MOUNTS.some(([prefix]) => p.startsWith(prefix))) {
    const mount = MOUNTS.find(([prefix]) => p.startsWith(prefix));
    throw new Error(`${fromSitePath} names ${literal}, which is not there` +
                    (mount ? ` (looked for ${path.join(mount[1], p.slice(mount[0].length))})` : ''));
  }
  return null;
}

function hashed(sitePath, bytes) {
  if (UNHASHED.has(sitePath)) return sitePath;
  const h = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 10);
  const ext = path.posix.extname(sitePath);
  return `${sitePath.slice(0, -ext.length)}.${h}${ext}`;
}

// Depth first from index.html: each file is finished (rewritten, hashed) after its dependencies.
const done = new Map();   // site path -> { out, bytes }
const active = new Set();
function visit(sitePath, chain) {
  if (done.has(sitePath)) return done.get(sitePath);
  if (active.has(sitePath)) throw new Error(`reference cycle: ${[...chain, sitePath].join(' -> ')} (content hashes need a tree)`);
  const src = source(sitePath);
  if (!src) throw new Error(`${chain.at(-1) || '(root)'} names ${sitePath}, which is not there`);
  active.add(sitePath);
  let bytes = fs.readFileSync(src.file);
  if (src.scanned) {
    const text = bytes.toString('utf8').replace(LITERAL, (whole, quote, literal) => {
      const dep = target(sitePath, literal);
      if (!dep) return whole;
      const out = visit(dep, [...chain, sitePath]).out;
      let rel = path.posix.relative(path.posix.dirname(sitePath), out);
      if (literal.startsWith('./') && !rel.startsWith('.')) rel = `./${rel}`;
      return quote + rel + quote;
    });
    bytes = Buffer.from(text, 'utf8');
  }
  if (sitePath === 'index.html') bytes = finishIndex(bytes.toString('utf8'));
  active.delete(sitePath);
  const entry = { out: hashed(sitePath, bytes), bytes, src: src.file };
  done.set(sitePath, entry);
  return entry;
}

function finishIndex(html) {
  const meta = `<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="${CSP_META}">`;
  const out = html.replace('<html lang="en">', '<html lang="en" data-service-worker="sw.js">').replace('<meta charset="utf-8">', meta);
  if (!out.includes('data-service-worker=') || !out.includes('http-equiv="Content-Security-Policy"')) {
    throw new Error('web/index.html: no <html lang="en"> or <meta charset="utf-8"> to extend');
  }
  return Buffer.from(out, 'utf8');
}

function sha(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function run(cmd, argv, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}${e.code === 'ENOENT' ? ' (scripts/setup.sh installs it)' : ''}`)));
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}: ${err}`))));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

// gzip -9 and brotli -q 11 of `bytes`, through the cache; each checked by decompressing it.
async function compressed(bytes) {
  const key = sha(bytes);
  const result = {};
  for (const [enc, cmd, argv, undo] of [
    ['gz', 'gzip', ['-9', '-n', '-c'], zlib.gunzipSync],
    ['br', 'brotli', ['-q', '11', '-w', '24', '-c'], zlib.brotliDecompressSync],
  ]) {
    const cached = path.join(cacheDir, key.slice(0, 2), `${key}.${enc}`);
    let data = null;
    try { data = fs.readFileSync(cached); } catch { /* not yet */ }
    if (!data) {
      data = await run(cmd, argv, bytes);
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, cached);
    }
    if (!undo(data).equals(bytes)) throw new Error(`${cmd} output does not decompress to its input (cache ${cached})`);
    result[enc] = data;
  }
  return result;
}

async function pool(items, n, fn) {
  const queue = items.slice();
  await Promise.all(Array.from({ length: n }, async () => {
    for (let it = queue.shift(); it !== undefined; it = queue.shift()) await fn(it);
  }));
}

const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;

async function main() {
  const t0 = performance.now();
  visit('index.html', []);
  visit('sw.js', []);  // scanned like the rest (it names no file), finished below
  const files = [...done.entries()].filter(([p]) => p !== 'sw.js').map(([, e]) => e.out).sort();
  const version = sha(Buffer.from([...done.values()].filter((e) => e.out !== 'sw.js').map((e) => e.out).sort().join('\n'))).slice(0, 16);
  const sw = done.get('sw.js');
  const build = JSON.stringify({ version, files, csp: CSP });
  const swText = sw.bytes.toString('utf8').replace('/* qscribe:build */ null', build);
  if (swText === sw.bytes.toString('utf8')) throw new Error('web/sw.js: no "/* qscribe:build */ null" to fill in');
  sw.bytes = Buffer.from(swText, 'utf8');

  const parent = path.dirname(outDir);
  fs.mkdirSync(parent, { recursive: true });
  if (fs.existsSync(outDir)) {
    const entries = fs.readdirSync(outDir);
    if (entries.length && !(entries.includes('index.html') && entries.includes('sw.js'))) {
      throw new Error(`${outDir} exists and is not an earlier site (no index.html and sw.js): not replacing it`);
    }
  }
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(outDir)}.tmp-`));
  fs.chmodSync(tmp, 0o755);  // mkdtemp makes it private; a web server may run as another user
  try {
    const rows = [];
    const entries = [...done.values()].sort((a, b) => a.out.localeCompare(b.out));
    for (const e of entries) {
      const file = path.join(tmp, e.out);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, e.bytes);
    }
    if (compress) {
      const jobs = entries.filter((e) => !NOT_COMPRESSED.has(path.extname(e.out)) && e.bytes.length >= 256);
      await pool(jobs, Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length), async (e) => {
        const c = await compressed(e.bytes);
        for (const enc of ['gz', 'br']) {
          if (c[enc].length <= 0.97 * e.bytes.length) {
            fs.writeFileSync(path.join(tmp, `${e.out}.${enc}`), c[enc]);
            e[enc] = c[enc].length;
          }
        }
      });
    }
    for (const e of entries) rows.push({ file: e.out, bytes: e.bytes.length, gz: e.gz ?? e.bytes.length, br: e.br ?? e.bytes.length });

    // Hosts that read a _headers file (Netlify, Cloudflare Pages): the headers web/server.mjs sends.
    const headers = ['/*', '  Cross-Origin-Opener-Policy: same-origin', '  Cross-Origin-Embedder-Policy: require-corp',
      '  Cross-Origin-Resource-Policy: same-origin', `  Content-Security-Policy: ${CSP}`, '  X-Content-Type-Options: nosniff',
      '  Referrer-Policy: no-referrer', ''];
    for (const e of entries) {
      if (!UNHASHED.has(e.out)) headers.push(`/${e.out}`, '  Cache-Control: public, max-age=31536000, immutable');
    }
    headers.push('/sw.js', '  Cache-Control: no-cache', '/index.html', '  Cache-Control: no-cache', '');
    fs.writeFileSync(path.join(tmp, '_headers'), headers.join('\n'));
    fs.writeFileSync(path.join(tmp, '.nojekyll'), '');

    if (fs.existsSync(outDir)) fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(tmp, outDir);

    const total = rows.reduce((s, r) => ({ bytes: s.bytes + r.bytes, gz: s.gz + r.gz, br: s.br + r.br }), { bytes: 0, gz: 0, br: 0 });
    if (!quiet) {
      const w = Math.max(...rows.map((r) => r.file.length));
      console.log(`${'file'.padEnd(w)}  ${'bytes'.padStart(10)}  ${'gzip -9'.padStart(10)}  ${'brotli'.padStart(10)}`);
      for (const r of rows) console.log(`${r.file.padEnd(w)}  ${String(r.bytes).padStart(10)}  ${String(r.gz).padStart(10)}  ${String(r.br).padStart(10)}`);
      console.log(`${'all'.padEnd(w)}  ${String(total.bytes).padStart(10)}  ${String(total.gz).padStart(10)}  ${String(total.br).padStart(10)}`);
    }
    say(`site ${outDir}: ${rows.length} files (version ${version}), ${mb(total.bytes)}; ` +
        (compress ? `gzip ${mb(total.gz)}, brotli ${mb(total.br)}` : 'not compressed') +
        ` (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

main().catch((e) => {
  console.error(`build-site: ${e.message}`);
  process.exit(1);
});
