// qscribe's service worker, for sites built by scripts/build-site (docs/deploy.md). It
//  - keeps every file of the app in Cache Storage, fetched once when it installs, so the app
//    starts and transcribes offline after the first visit (and the Score view engraves offline);
//  - serves every response with Cross-Origin-Opener-Policy / -Embedder-Policy (and the page's
//    Content-Security-Policy), so the page is cross-origin isolated even on a static host that
//    cannot set headers (web/boot.js reloads the page once, the first time, to get them);
//  - fixes the Content-Type of .wasm and JavaScript files when a host sends a wrong one.
//
// scripts/build-site replaces the BUILD line below with the site's version (a hash of all its
// files), its file list and the CSP. In the source tree BUILD stays null: then this worker
// removes itself and its caches (a built site's worker left on the same origin as the
// development server would otherwise keep serving the old build).
const BUILD = /* qscribe:build */ null;

const PREFIX = 'qscribe-';
const CONCURRENCY = 4;  // parallel downloads while installing

if (!BUILD) {
  self.addEventListener('install', () => self.skipWaiting());
  self.addEventListener('activate', (event) => event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith(PREFIX)) await caches.delete(key);
    await self.registration.unregister();
    for (const client of await self.clients.matchAll({ type: 'window' })) client.navigate(client.url);
  })()));
} else {
  const CACHE = PREFIX + BUILD.version;
  const url = (file) => new URL(file, self.location).href;
  const INDEX = url('index.html');
  const SCOPE = new URL('./', self.location).href;
  const HASHED = /\.[0-9a-f]{10}\.[a-z0-9]+$/;

  const tellPages = async (message) => {
    for (const client of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) client.postMessage(message);
  };

  // Download (or copy from an older version's cache: hashed names never change content) every
  // file of this version. Any failure fails the install; the page then runs without a worker.
  self.addEventListener('install', (event) => event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const files = BUILD.files.slice();
    let done = 0, bytes = 0;
    const next = async () => {
      for (let file = files.shift(); file !== undefined; file = files.shift()) {
        const target = url(file);
        if (!(await cache.match(target))) {
          let response = HASHED.test(file) ? await caches.match(target) : undefined;
          if (!response) {
            response = await fetch(target, { cache: HASHED.test(file) ? 'default' : 'no-cache', credentials: 'same-origin' });
            if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
            bytes += Number(response.headers.get('Content-Length')) || 0;  // the progress message's figure
          }
          await cache.put(target, response);
        }
        done++;
        tellPages({ type: 'precache', done, total: BUILD.files.length, bytes });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, next));
    await self.skipWaiting();
  })()));

  // A new version takes over at once (its pages load on the next visit or reload). The previous
  // version's cache stays, so pages still open on it can load what they load lazily (Verovio);
  // older ones go. (Cache Storage lists caches in the order they were created.)
  self.addEventListener('activate', (event) => event.waitUntil((async () => {
    const ours = (await caches.keys()).filter((key) => key.startsWith(PREFIX) && key !== CACHE);
    for (const key of ours.slice(0, -1)) await caches.delete(key);
    await self.clients.claim();
  })()));

  // The headers a static host may not send: cross-origin isolation, the CSP, right MIME types.
  const isolate = (response, requestUrl) => {
    if (!response || response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
    const headers = new Headers(response.headers);
    headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
    headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    if (BUILD.csp) headers.set('Content-Security-Policy', BUILD.csp);
    // The body we hand on is already decoded.
    headers.delete('Content-Encoding');
    headers.delete('Content-Length');
    const path = new URL(requestUrl).pathname;
    const type = headers.get('Content-Type') || '';
    if (path.endsWith('.wasm')) headers.set('Content-Type', 'application/wasm');
    else if (/\.m?js$/.test(path) && !type.includes('javascript')) headers.set('Content-Type', 'text/javascript; charset=utf-8');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };

  const respond = async (request) => {
    const cache = await caches.open(CACHE);
    let cached;
    if (request.mode === 'navigate') {
      // The app shell of this version (cache first: it matches the cached files exactly; a new
      // build arrives as a new worker, and the page after that one shows it).
      const u = new URL(request.url);
      if (u.origin + u.pathname === SCOPE || u.href.split(/[?#]/)[0] === INDEX) cached = await cache.match(INDEX);
    } else {
      cached = (await cache.match(request)) || (await caches.match(request));  // or the previous version's
    }
    if (cached) return isolate(cached, request.url);
    return isolate(await fetch(request), request.url);
  };

  self.addEventListener('fetch', (event) => {
    const request = event.request;
    if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
    event.respondWith(respond(request));
  });
}
