// A bounded load test of web/server.mjs on loopback: CLIENTS parallel clients (keep-alive
// connections) fetch the built site's files for SECONDS seconds, each request a random file of
// the site with a random Accept-Encoding (br, gzip, both, none), plus a few requests for missing
// files and paths that try to leave the site. Every response is checked: status, Content-Encoding,
// Content-Length, the bytes received and their SHA-256 against the file (or its .br / .gz copy)
// on disk. Before the load, the server's rules one by one (405 for POST, HEAD, ETag and 304,
// "br;q=0", cache lifetimes, the security headers). Prints requests/s, MB/s and latency
// percentiles; exits 1 on any wrong response.
//
//   node tests/e2e/load_test.mjs [--site DIR] [--clients 100] [--seconds 10]
//
// Without --site it builds a site into a scratch folder (scripts/build-site --no-compress, then
// quick gzip/brotli copies made here, so all three encodings are served): ctest e2e.load runs it
// that way for 5 s. docs/deploy.md has the numbers for a real build.
import crypto from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const SOURCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name, def) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : def);
const CLIENTS = Number(opt('--clients', 100));
const SECONDS = Number(opt('--seconds', 10));
let site = opt('--site', null);
const log = (...a) => console.log(`[${(performance.now() / 1000).toFixed(1).padStart(5)} s]`, ...a);

let scratch = null;
if (!site) {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'qscribe-load-'));
  site = path.join(scratch, 'site');
  execFileSync(path.join(SOURCE_DIR, 'scripts/build-site'), [site, '--no-compress', '--quiet'], { stdio: 'inherit' });
  for (const f of walk(site)) {
    if (/\.(png|gz|br)$/.test(f) || path.basename(f).startsWith('.') || path.basename(f) === '_headers') continue;
    const data = fs.readFileSync(f);
    fs.writeFileSync(`${f}.gz`, zlib.gzipSync(data, { level: 1 }));
    fs.writeFileSync(`${f}.br`, zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }));
  }
  log(`site built in ${site} (quick gzip/brotli copies)`);
}
site = path.resolve(site);

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

// What each URL must return, per encoding.
const expected = [];
for (const f of walk(site)) {
  const rel = path.relative(site, f).split(path.sep).join('/');
  if (/\.(gz|br)$/.test(rel) || rel.startsWith('.') || rel === '_headers') continue;
  const v = (file, encoding) => (fs.existsSync(file) ? { encoding, ...(() => { const b = fs.readFileSync(file); return { length: b.length, sha: sha(b) }; })() } : null);
  const plain = v(f, null);
  const e = { path: `/${rel}`, identity: plain, gzip: v(`${f}.gz`, 'gzip') || plain, br: v(`${f}.br`, 'br') || plain };
  expected.push(e);
  if (rel === 'index.html') expected.push({ ...e, path: '/' });
}
const ACCEPT = [['br', 'br'], ['gzip', 'gzip'], ['gzip, deflate, br', 'br'], ['identity', 'identity']];
const BAD = ['/no-such-file.js', '/../package.json', '/%2e%2e/%2e%2e/etc/passwd', '/models/../../README.md'];

function startServer() {
  const child = spawn(process.execPath, [path.join(SOURCE_DIR, 'web/server.mjs'), '--site', site, '--port', '0'],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.on('exit', (code) => reject(new Error(`web/server.mjs exited (${code}): ${out}`)));
  });
}

const { port, child } = await startServer();
log(`web/server.mjs --site ${site} on port ${port}; ${expected.length} URLs; ${CLIENTS} clients for ${SECONDS} s`);
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
const latencies = [];
const shellLatencies = [];
const errors = [];
let bytes = 0;
let requests = 0;

// A keep-alive connection can be closed by the server (after 5 s idle) just as the client sends
// the next request on it; like browsers, the client then retries once on a new connection.
let retried = 0;
function get(urlPath, accept, t0 = performance.now(), retry = true) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent, headers: { 'Accept-Encoding': accept } }, (res) => {
      const hash = crypto.createHash('sha256');
      let n = 0;
      res.on('data', (d) => { hash.update(d); n += d.length; });
      res.on('end', () => resolve({ res, n, sha: hash.digest('hex'), ms: performance.now() - t0 }));
      res.on('error', (e) => resolve({ error: e.message, ms: performance.now() - t0 }));
    });
    req.on('error', (e) => {
      if (retry && req.reusedSocket && e.code === 'ECONNRESET') {
        retried++;
        resolve(get(urlPath, accept, t0, false));
      } else {
        resolve({ error: `${e.message}${req.reusedSocket ? ' (on a reused connection)' : ''}`, ms: performance.now() - t0 });
      }
    });
  });
}

async function client(end) {
  while (performance.now() < end) {
    const bad = Math.random() < 0.03;
    const e = bad ? null : expected[Math.floor(Math.random() * expected.length)];
    const urlPath = bad ? BAD[Math.floor(Math.random() * BAD.length)] : e.path;
    const [accept, want] = ACCEPT[Math.floor(Math.random() * ACCEPT.length)];
    const r = await get(urlPath, accept);
    requests++;
    latencies.push(r.ms);
    const fail = (why) => { if (errors.length < 20) errors.push(`${urlPath} (Accept-Encoding: ${accept}): ${why}`); else errors.length++; };
    if (r.error) { fail(r.error); continue; }
    bytes += r.n;
    if (bad) {
      if (r.res.statusCode !== 404) fail(`status ${r.res.statusCode}, expected 404`);
      continue;
    }
    if (e.path === '/' || e.path === '/index.html') shellLatencies.push(r.ms);
    const v = e[want];
    const enc = r.res.headers['content-encoding'] || null;
    if (r.res.statusCode !== 200) fail(`status ${r.res.statusCode}`);
    else if (enc !== v.encoding) fail(`Content-Encoding ${enc}, expected ${v.encoding}`);
    else if (Number(r.res.headers['content-length']) !== v.length) fail(`Content-Length ${r.res.headers['content-length']}, expected ${v.length}`);
    else if (r.n !== v.length) fail(`${r.n} bytes received, expected ${v.length}`);
    else if (r.sha !== v.sha) fail('wrong bytes (SHA-256 differs)');
    else if (v.encoding && r.res.headers.vary !== 'Accept-Encoding') fail(`Vary ${r.res.headers.vary}`);
    else if (!r.res.headers['content-security-policy'] || r.res.headers['cross-origin-embedder-policy'] !== 'require-corp') fail('security headers missing');
  }
}

// Before the load: the server's rules, one request each.
function request(method, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, n }));
    });
    req.on('error', reject);
    req.end();
  });
}
const hashedJs = expected.find((e) => /\.[0-9a-f]{10}\.js$/.test(e.path) && e.gzip.encoding && e.br.encoding);
const checks = [];
const check = (what, ok) => { checks.push(what); if (!ok) errors.push(`check failed: ${what}`); };
{
  const r = await request('POST', '/');
  check('POST -> 405', r.status === 405);
  const h = await request('HEAD', '/index.html', { 'Accept-Encoding': 'identity' });
  const idx = expected.find((e) => e.path === '/index.html');
  check('HEAD -> 200, Content-Length, no body', h.status === 200 && Number(h.headers['content-length']) === idx.identity.length && h.n === 0);
  check('index.html: Cache-Control no-cache', h.headers['cache-control'] === 'no-cache');
  const c = await request('GET', '/index.html', { 'Accept-Encoding': 'identity', 'If-None-Match': h.headers.etag });
  check('If-None-Match with its ETag -> 304, no body', c.status === 304 && c.n === 0);
  const q = await request('GET', hashedJs.path, { 'Accept-Encoding': 'br;q=0, gzip' });
  check('Accept-Encoding "br;q=0, gzip" -> gzip', q.headers['content-encoding'] === 'gzip' && q.n === hashedJs.gzip.length);
  check('hashed name: Cache-Control immutable', /immutable/.test(q.headers['cache-control'] || ''));
  const x = await request('GET', hashedJs.path, {});
  check('no Accept-Encoding -> identity', !x.headers['content-encoding'] && x.n === hashedJs.identity.length);
  check('COOP, COEP, CORP, CSP on every response', x.headers['cross-origin-opener-policy'] === 'same-origin' &&
        x.headers['cross-origin-embedder-policy'] === 'require-corp' && x.headers['cross-origin-resource-policy'] === 'same-origin' &&
        /script-src 'self' 'wasm-unsafe-eval'/.test(x.headers['content-security-policy'] || ''));
}
log(`server rules: ${checks.length} checks${errors.length ? `, FAILED: ${errors.join('; ')}` : ', all right'}`);

const t0 = performance.now();
await Promise.all(Array.from({ length: CLIENTS }, () => client(t0 + SECONDS * 1000)));
const wall = (performance.now() - t0) / 1000;
agent.destroy();
child.kill();
if (scratch) fs.rmSync(scratch, { recursive: true, force: true });

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))] : NaN;
};
const ms = (x) => `${x.toFixed(1)} ms`;
console.log(`\n${requests} requests in ${wall.toFixed(1)} s from ${CLIENTS} clients: ${(requests / wall).toFixed(0)} requests/s, ` +
            `${(bytes / wall / 1e6).toFixed(0)} MB/s; wrong responses: ${errors.length}` +
            (retried ? `; ${retried} retried after the server closed an idle keep-alive connection` : ''));
console.log(`latency, all requests: p50 ${ms(pct(latencies, 50))}, p90 ${ms(pct(latencies, 90))}, p99 ${ms(pct(latencies, 99))}, max ${ms(pct(latencies, 100))}`);
console.log(`latency, index.html:   p50 ${ms(pct(shellLatencies, 50))}, p90 ${ms(pct(shellLatencies, 90))}, p99 ${ms(pct(shellLatencies, 99))}, max ${ms(pct(shellLatencies, 100))}`);
if (errors.length || requests === 0) {
  console.error(`FAIL load test: ${errors.length} wrong responses${requests ? '' : ' (no requests at all)'}:\n  ${errors.filter(Boolean).join('\n  ')}`);
  process.exit(1);
}
console.log('PASS load test: every response correct');
