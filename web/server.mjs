// Static server for the qscribe web app: serves web/ and the wasm build output, with the MIME
// types browsers insist on and the cross-origin isolation headers ONNX Runtime Web's threads
// need. Binds to loopback only. Usage: node web/server.mjs [--port 8000] [--root DIR ...]
// --port 0 picks a free port; the first line printed always names the actual address.
// /models/* comes from models/ (or --models DIR), /ort/* from node_modules/onnxruntime-web/dist (ONNX Runtime Web),
// /verovio/* from node_modules/verovio/dist (the Score view's engraver).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let port = Number(process.env.PORT || 8000);
const roots = [];
let modelsDir = path.resolve(here, '../models');  // --models DIR serves another model folder
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--root') roots.push(path.resolve(args[++i]));
  else if (args[i] === '--models') modelsDir = path.resolve(args[++i]);
}
if (roots.length === 0) roots.push(here, path.resolve(here, '../build/wasm/web'));
// Fixed prefixes served from their own folders, whatever the roots.
const mounts = [
  ['models/', modelsDir],
  ['ort/', path.resolve(here, '../node_modules/onnxruntime-web/dist')],
  ['verovio/', path.resolve(here, '../node_modules/verovio/dist')],
];

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream',
  '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.wav': 'audio/wav', '.mid': 'audio/midi', '.musicxml': 'application/vnd.recordare.musicxml+xml', '.md': 'text/markdown; charset=utf-8',
};

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
    const file = path.join(root, clean === '' ? 'index.html' : clean);
    if (file !== root && !file.startsWith(root + path.sep)) continue;  // no escaping the roots
    try {
      if (fs.statSync(file).isFile()) return file;
    } catch { /* try the next root */ }
  }
  return null;
}

const server = http.createServer((req, res) => {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-cache');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  let file = null;
  try { file = resolve(req.url); } catch { /* malformed URL */ }
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, {
    'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
    'Content-Length': fs.statSync(file).size,
  });
  if (req.method === 'HEAD') res.end();
  else fs.createReadStream(file).pipe(res);
});
server.on('error', (e) => {
  console.error(`server: ${e.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`qscribe is at http://127.0.0.1:${server.address().port}/`));
