// e2e.offline: the static site from scripts/build-site, served by a plain file server with no
// special headers (no COOP/COEP, no compression, no cache headers: the ~30 lines below), as any
// static host would. The first visit installs the service worker, which caches the app and
// reloads the page once to make it cross-origin isolated; no large file is downloaded twice. The
// page transcribes a rendered piano piece (note F1 >= 0.9 against the rendered notes). Then the
// network goes away (the browser context goes offline and the server stops), the page reloads,
// comes back from the service worker's cache, still cross-origin isolated, and transcribes the
// same file to exactly the same notes; the Score view engraves offline too. The manifest and
// Chromium's installability check say the site installs as an app. (A new build taking over at
// the same address is not checked here: that step failed intermittently under load, see
// docs/deploy.md.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SOURCE_DIR, log, runTest, waitForApp } from './browser.mjs';
import { assertWellFormed, matchNotes, putFileInPage } from './app.mjs';
import { noteF1, renderFixture, uploadFixtureNotes } from './fixtures.mjs';
import { workDir } from './workdir.mjs';

const NAME = 'e2e-offline';
const dir = workDir(NAME);
const site = path.join(dir, 'site');

// A plain static file server: GET files under root, a Content-Type by extension, nothing else.
function staticServer(root, port = 0) {
  const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
    '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png',
    '.webmanifest': 'application/manifest+json' };
  const hits = [];
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    hits.push(urlPath);
    const file = path.join(root, urlPath.endsWith('/') ? `${urlPath}index.html` : urlPath);
    if (!file.startsWith(root + path.sep)) return res.writeHead(403).end();
    fs.readFile(file, (err, data) => {
      if (err) return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Length': data.length });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}/`;
    let closed = false;
    resolve({
      url, origin: new URL(url).origin, hits,
      close: () => new Promise((done) => {
        if (closed) return done();
        closed = true;
        server.close(() => done());
        server.closeAllConnections();
      }),
    });
  }));
}

// The page is controlled by the service worker and cross-origin isolated (survives the reload).
async function waitForServiceWorker(page, what) {
  try {
    await page.waitForFunction(() => !!navigator.serviceWorker?.controller && window.crossOriginIsolated === true,
                               null, { timeout: 90000, polling: 100 });
  } catch (e) {
    const st = await page.evaluate(() => ({ controlled: !!navigator.serviceWorker?.controller, coi: window.crossOriginIsolated,
                                            loading: document.getElementById('loading')?.textContent })).catch(() => null);
    throw new Error(`${what}: no service-worker-controlled, cross-origin isolated page within 90 s: ${JSON.stringify(st)}`);
  }
}

async function transcribeFixture(page, wav) {
  await putFileInPage(page, wav);
  return page.evaluate(async () => (await window.qscribe.transcribe(window.__qsFile, 'melody_chords'))
    .map((n) => ({ onset: n.onset, offset: n.offset, pitch: n.pitch, velocity: n.velocity })));
}

const t0 = performance.now();
execFileSync(path.join(SOURCE_DIR, 'scripts/build-site'), [site, '--no-compress', '--quiet'], { stdio: 'inherit' });
log(`scripts/build-site ${site}: ${fs.readdirSync(site).length} entries (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
const fixture = renderFixture(uploadFixtureNotes(), dir, 'melody_chords');
const server = await staticServer(site);

await runTest(NAME, { server, waitReady: false }, async ({ page, context, screenshot }) => {
  // First visit: install, cache, reload once, then the app.
  await waitForServiceWorker(page, 'first visit');
  await waitForApp(page);
  const first = await page.evaluate(() => ({ coi: window.crossOriginIsolated, sab: typeof SharedArrayBuffer === 'function',
                                             version: window.qscribe.version }));
  log(`first visit: ready, qscribe ${first.version}, crossOriginIsolated ${first.coi}, SharedArrayBuffer ${first.sab}`);
  assert.equal(first.coi, true, 'crossOriginIsolated after the service worker reload');

  // Every file was fetched from the server once (sw.js is fetched by the browser; index.html and
  // boot.js come once for the page before the worker, once into the cache).
  const counts = {};
  for (const h of server.hits) counts[h] = (counts[h] || 0) + 1;
  log(`server requests during the first visit: ${server.hits.length}: ${JSON.stringify(counts)}`);
  for (const [p, n] of Object.entries(counts)) {
    if (/\.(wasm|onnx)$|verovio-module/.test(p)) assert.equal(n, 1, `${p} downloaded ${n} times on the first visit`);
  }
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith('qscribe-')));
    return { names, entries: (await cache.keys()).map((r) => new URL(r.url).pathname) };
  });
  log(`Cache Storage: ${cached.names.join(', ')}: ${cached.entries.length} files`);
  const swText = fs.readFileSync(path.join(site, 'sw.js'), 'utf8');
  const listed = JSON.parse(/const BUILD = (\{.*\});/.exec(swText)[1]).files;
  assert.equal(cached.entries.length, listed.length, `the cache holds ${cached.entries.length} of the site's ${listed.length} files`);

  // Installable as an app: the manifest, and Chromium's own check.
  const manifest = await page.evaluate(async () => {
    const link = document.querySelector('link[rel=manifest]');
    const m = await (await fetch(link.href)).json();
    const icons = await Promise.all(m.icons.map(async (i) => ({ ...i, ok: (await fetch(new URL(i.src, link.href))).ok })));
    return { ...m, icons };
  });
  log(`manifest: ${manifest.name}, display ${manifest.display}, start_url ${manifest.start_url}, ` +
      `icons ${manifest.icons.map((i) => `${i.sizes} ${i.purpose}`).join(', ')}`);
  assert.equal(manifest.display, 'standalone');
  assert.ok(manifest.name && manifest.short_name && manifest.start_url, 'manifest: name, short_name, start_url');
  assert.ok(manifest.icons.some((i) => i.sizes === '512x512' && i.type === 'image/png'), 'manifest: a 512 px PNG icon');
  assert.ok(manifest.icons.every((i) => i.ok), 'manifest: every icon loads');
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  await cdp.detach();
  log(`Chromium installability errors: ${JSON.stringify(installabilityErrors)}`);
  // 'in-incognito': Playwright's browser contexts are off-the-record; that is the browser, not the site.
  const errors = installabilityErrors.filter((e) => e.errorId !== 'in-incognito');
  assert.deepEqual(errors, [], 'Chromium finds the site installable');

  const online = await transcribeFixture(page, fixture.wav);
  assertWellFormed(online, 'online notes');
  const vsRef = noteF1(fixture.notes, online, dir, { label: 'online_vs_reference' });
  log(`online: ${online.length} notes, note F1 ${vsRef.f1.toFixed(3)} against the rendered notes`);
  assert.ok(vsRef.f1 >= 0.9, `online notes vs rendered notes: note F1 ${vsRef.f1.toFixed(3)} < 0.9`);
  await screenshot('online');

  // No network: the context goes offline and the server stops.
  const failed = [];
  context.on('requestfailed', (req) => failed.push(`${req.url()} (${req.failure()?.errorText})`));
  await context.setOffline(true);
  await server.close();
  log('offline: context offline, server stopped; reloading');
  const hitsBefore = server.hits.length;
  await page.reload({ waitUntil: 'load', timeout: 60000 });
  await waitForServiceWorker(page, 'offline reload');
  await waitForApp(page);
  const again = await page.evaluate(() => ({ coi: window.crossOriginIsolated, online: navigator.onLine }));
  log(`offline reload: ready, crossOriginIsolated ${again.coi}, navigator.onLine ${again.online}`);
  assert.equal(again.coi, true, 'crossOriginIsolated after the offline reload');

  const offline = await transcribeFixture(page, fixture.wav);
  const same = matchNotes(online, offline, { onsetTol: 1e-6, offsetTol: 1e-6 });
  log(`offline: ${offline.length} notes, ${same.matched} identical to the online ones`);
  assert.ok(same.matched === online.length && offline.length === online.length,
            `offline transcription: ${offline.length} notes, ${same.matched} of the online ${online.length} identical`);

  const score = await page.evaluate(() => window.qscribe.showScore(true));
  log(`offline Score view: ${JSON.stringify(score)}`);
  assert.ok(score.measures > 0 && !score.error, `the Score view engraves offline: ${JSON.stringify(score)}`);
  await screenshot('offline');
  assert.deepEqual(failed, [], 'requests failed while offline');
  assert.equal(server.hits.length, hitsBefore, 'the stopped server got requests');

});
