// Page weight on the wire of a first visit (cold cache), in headless Chromium, counted by the
// server: every response body web/server.mjs sends (`--log`), until the page is ready
// (window.qscribe.ready) and the network has been quiet for 2 s. Three ways of serving:
//  - site, precompressed: the folder from scripts/build-site, `web/server.mjs --site DIR` (brotli,
//    as Chromium accepts it); the service worker downloads the whole app, Verovio included;
//  - site, uncompressed: the same with `--no-precompressed`;
//  - source tree: `web/server.mjs` over web/ and the wasm build, as ./run serves it (no service
//    worker, no compression; Verovio is only loaded when the Score view opens).
// Prints a markdown table (docs/deploy.md, docs/benchmarks.md). Usage:
//   node tests/e2e/page_weight.mjs [--site DIR]     (default: scripts/build-site build/page-weight/site)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SOURCE_DIR, log, openApp, waitForApp, wasmWebDir } from './browser.mjs';

const args = process.argv.slice(2);
const siteArg = args.indexOf('--site') >= 0 ? args[args.indexOf('--site') + 1] : null;
const site = path.resolve(siteArg || path.join(SOURCE_DIR, 'build/page-weight/site'));
const OUT = path.join(SOURCE_DIR, 'build/page-weight');
fs.mkdirSync(OUT, { recursive: true });
if (!siteArg) {
  log(`building the site into ${site}`);
  execFileSync(path.join(SOURCE_DIR, 'scripts/build-site'), [site, '--quiet'], { stdio: 'inherit' });
}

// web/server.mjs with --log; collects its "METHOD PATH STATUS ENCODING BYTES" lines.
function serve(serverArgs) {
  const child = spawn(process.execPath, [path.join(SOURCE_DIR, 'web/server.mjs'), '--port', '0', '--log', ...serverArgs],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
        if (m) {
          const url = m[0];
          resolve({
            url, origin: new URL(url).origin, lines,
            close: () => new Promise((res) => {
              if (child.exitCode !== null || child.signalCode !== null) return res();
              child.once('exit', () => res());
              child.kill();
            }),
          });
        } else {
          const [method, p, status, encoding, bytes] = line.split(' ');
          lines.push({ method, path: p, status: Number(status), encoding, bytes: Number(bytes), t: performance.now() });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`web/server.mjs exited (${code})`)));
  });
}

async function quiet(server, ms) {
  for (;;) {
    const last = server.lines.length ? server.lines.at(-1).t : 0;
    const wait = last + ms - performance.now();
    if (wait <= 0) return;
    await new Promise((r) => setTimeout(r, wait + 50));
  }
}

async function measure(label, serverArgs, { serviceWorker }) {
  const server = await serve(serverArgs);
  const session = await openApp({ name: `page-weight-${label}`, server, waitReady: false, screenshotDir: OUT });
  try {
    if (serviceWorker) {
      await session.page.waitForFunction(() => !!navigator.serviceWorker?.controller && window.crossOriginIsolated === true,
                                         null, { timeout: 120000, polling: 100 });
    }
    await waitForApp(session.page);
    const readyMs = performance.now() - session.navigationStart;
    await quiet(server, 2000);
    const coi = await session.page.evaluate(() => window.crossOriginIsolated);
    const sent = server.lines.filter((l) => l.method === 'GET');
    const files = new Map();
    for (const l of sent) {
      const name = l.path.replace(/^\//, '') || 'index.html';
      const f = files.get(name) || { bytes: 0, n: 0, encoding: l.encoding };
      f.bytes += l.bytes;
      f.n++;
      files.set(name, f);
    }
    const total = sent.reduce((s, l) => s + l.bytes, 0);
    const verovio = sent.filter((l) => l.path.includes('verovio/')).reduce((s, l) => s + l.bytes, 0);
    return { label, requests: sent.length, total, verovio, readyMs, coi, files: Object.fromEntries(files) };
  } finally {
    await session.close();
  }
}

const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
const results = [];
results.push(await measure('site-precompressed', ['--site', site], { serviceWorker: true }));
results.push(await measure('site-uncompressed', ['--site', site, '--no-precompressed'], { serviceWorker: true }));
results.push(await measure('source-tree', ['--root', path.join(SOURCE_DIR, 'web'), '--root', wasmWebDir()], { serviceWorker: false }));
fs.writeFileSync(path.join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

console.log('\n| first visit (cold cache) | requests | bytes on the wire | of which Verovio | without Verovio | ready after |');
console.log('|---|---:|---:|---:|---:|---:|');
const what = {
  'site-precompressed': 'built site, `web/server.mjs --site` (brotli)',
  'site-uncompressed': 'built site, `--no-precompressed`',
  'source-tree': 'source tree (`./run`), no service worker',
};
for (const r of results) {
  console.log(`| ${what[r.label]} | ${r.requests} | **${mb(r.total)}** | ${mb(r.verovio)} | ${mb(r.total - r.verovio)} | ${(r.readyMs / 1000).toFixed(1)} s |`);
}
console.log('\nLargest responses, built site, precompressed:');
const pre = Object.entries(results[0].files).sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 6);
for (const [name, f] of pre) console.log(`  ${name}: ${mb(f.bytes)} (${f.encoding}${f.n > 1 ? `, ${f.n} responses` : ''})`);
console.log(`\nresults: ${path.join(OUT, 'results.json')}`);
