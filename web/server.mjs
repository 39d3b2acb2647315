// Static server for the qscribe web app: serves web/ and the wasm build output, with the MIME
// types browsers insist on, the cross-origin isolation headers (COOP/COEP) and the page's
// Content-Security-Policy (web/csp.mjs). Binds to loopback only.
//
//   node web/server.mjs [--port 8000] [--root DIR ...] [--models DIR]   the source tree (./run)
//   node web/server.mjs --site DIR                                       a folder from scripts/build-site
//
// --port 0 picks a free port; the first line printed always names the actual address.
// Source tree: /models/* comes from models/ (or --models DIR), /ort/* from
// node_modules/onnxruntime-web/dist (ONNX Runtime Web), /verovio/* from node_modules/verovio/dist
// (the Score view's engraver). --site DIR serves only DIR.
//
// Precompressed files: when FILE.br or FILE.gz lies next to FILE (scripts/build-site writes them)
// and the request's Accept-Encoding allows it, that file is sent with Content-Encoding br (preferred)
// or gzip and Vary: Accept-Encoding. --no-precompressed turns that off (to measure the difference).
// Content-hashed names (NAME.0123456789.EXT, from scripts/build-site) are cacheable for a year;
// everything else is revalidated (ETag, 304). --log prints one line per response:
// "METHOD PATH STATUS ENCODING BYTES" (bytes of the body sent).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CSP } from './csp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let port = Number(process.env.PORT || 8000);
const roots = [];
let modelsDir = path.resolve(here, '../models');  // --models DIR serves another model folder
let site = null;
let precompressed = true;
let logRequests = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--root') roots.push(path.resolve(args[++i]));
  else if (args[i] === '--models') modelsDir = path.resolve(args[++i]);
  else if (args[i] === '--site') site = path.resolve(args[++i]);
  else if (args[i] === '--no-precompressed') precompressed = false;
  else if (args[i] === '--log') logRequests = true;
  else {
    console.error(`server: unknown argument ${args[i]} (usage: node web/server.mjs [--port N] [--root DIR ...] ` +
                  '[--models DIR] [--site DIR] [--no-precompressed] [--log])');
    process.exit(2);
  }
}
// Fixed prefixes served from their own folders, whatever the roots (not with --site).
let mounts = [];
if (site) {
  if (!fs.existsSync(path.join(site, 'index.html'))) {
    console.error(`server: ${site}/index.html is missing (build the site with scripts/build-site ${site})`);
    process.exit(2);
  }
  roots.splice(0, roots.length, site);
} else {
  if (roots.length === 0) roots.push(here, path.resolve(here, '../build/wasm/web'));
  mounts = [
    ['models/', modelsDir],
    ['ort/', path.resolve(here, '../node_modules/onnxruntime-web/dist')],
    ['verovio/', path.resolve(here, '../node_modules/verovio/dist')],
  ];
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream',
  '.webmanifest': 'application/manifest+json', '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.wav': 'audio/wav', '.mid': 'audio/midi', '.musicxml': 'application/vnd.recordare.musicxml+xml', '.md': 'text/markdown; charset=utf-8',
  '.br': 'application/x-brotli', '.gz': 'application/gzip',
};
const HASHED = /\.[0-9a-f]{10}\.[a-z0-9]+$/;  // scripts/build-site's content-hashed names

function resolve(urlPath) {
  let clean = path.normalize(decodeURIComponent(urlPath.split('?')[0])).replace(/^([/\\])+/, '');
  let searchRoots = roots;
  for (const [prefix, dir] of mounts) {
    if (clean.startsWith(prefix)) {
      searchRoots = [dir];
      clean = clean.slice(prefix.length);
      break;
    }
  }
  for (const root of searchRoots) {
    let file = path.join(root, clean);
    if (file !== root && !file.startsWith(root + path.sep)) continue;  // no escaping the roots
    try {
      let st = fs.statSync(file);
      if (st.isDirectory()) {
        file = path.join(file, 'index.html');
        st = fs.statSync(file);
      }
      if (st.isFile()) return { file, st };
    } catch { /* try the next root */ }
  }
  return null;
}

// Encodings the client takes, from Accept-Encoding ("br;q=0" refuses br).
function accepted(header) {
  const ok = new Set();
  for (const part of String(header || '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) ok.add(name);
  }
  return ok;
}

// The variant to send: [file, stat, encoding or null, whether variants exist].
function variant(file, st, acceptEncoding) {
  if (!precompressed) return [file, st, null, false];
  const ok = accepted(acceptEncoding);
  let any = false;
  for (const [ext, enc] of [['.br', 'br'], ['.gz', 'gzip']]) {
    let vst;
    try { vst = fs.statSync(file + ext); } catch { continue; }
    if (!vst.isFile()) continue;
    any = true;
    if (ok.has(enc) || (enc === 'gzip' && ok.has('x-gzip'))) return [file + ext, vst, enc, true];
  }
  return [file, st, null, any];
}

function logLine(req, status, encoding, bytes) {
  if (logRequests) console.log(`${req.method} ${req.url} ${status} ${encoding || 'identity'} ${bytes}`);
}

const server = http.createServer((req, res) => {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    logLine(req, 405, null, 0);
    return;
  }
  let found = null;
  try {
    found = resolve(req.url);
  } catch (e) {
    if (e instanceof URIError) {  // broken percent-encoding: the client's mistake, not a missing file
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('bad request');
      logLine(req, 400, null, 11);
      return;
    }
  }
  if (!found) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    logLine(req, 404, null, 9);
    return;
  }
  const [file, st, encoding, hasVariants] = variant(found.file, found.st, req.headers['accept-encoding']);
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}${encoding ? '-' + encoding : ''}"`;
  const headers = {
    'Content-Type': MIME[path.extname(found.file)] || 'application/octet-stream',
    'Cache-Control': HASHED.test(found.file) ? 'public, max-age=31536000, immutable' : 'no-cache',
    ETag: etag,
  };
  if (hasVariants) headers.Vary = 'Accept-Encoding';
  if (encoding) headers['Content-Encoding'] = encoding;
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    res.writeHead(304, headers).end();
    logLine(req, 304, encoding, 0);
    return;
  }
  headers['Content-Length'] = st.size;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    logLine(req, 200, encoding, 0);
    return;
  }
  const stream = fs.createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
  logLine(req, 200, encoding, st.size);
});
server.on('error', (e) => {
  console.error(`server: ${e.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`qscribe is at http://127.0.0.1:${server.address().port}/`));
