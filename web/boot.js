// The page's entry point. In a site built by scripts/build-site (index.html carries
// data-service-worker="sw.js"), it first installs the service worker (web/sw.js), which keeps
// every file of the app for offline use and adds the cross-origin isolation headers a plain
// static host cannot send; then it loads the app (web/app.js). In the source tree (./run) it
// loads the app at once.
//
// First visit to a built site:
//  1. register sw.js; its install step downloads every file of the app into Cache Storage
//     (progress in #loading) and it takes control of this page once done;
//  2. if the page is not cross-origin isolated yet (the host sent no COOP/COEP headers), reload it
//     once: the reloaded page comes from the service worker, with the headers;
//  3. load the app; all its files now come from the cache, so nothing is downloaded twice.
// Later visits, online or offline, start at step 3 (the page is controlled from the start).
const RELOAD_KEY = 'qscribe-coi-reload';
const status = document.getElementById('loading');

function show(text) {
  if (status) status.textContent = text;
}

function failed(reason) {
  show('');
  document.body.classList.add('failed');
  const p = document.getElementById('fallback-reason');
  if (p) p.textContent = reason;
}

// Resolves once a service worker controls this page (null when there is none to wait for).
async function serviceWorker() {
  const script = document.documentElement.dataset.serviceWorker;
  if (!script) return null;  // the source tree: no service worker
  if (!('serviceWorker' in navigator) || !window.isSecureContext) {
    console.warn('qscribe: no service worker here (it needs https or localhost): no offline use');
    return null;
  }
  const sw = navigator.serviceWorker;
  sw.addEventListener('message', ({ data }) => {
    if (data && data.type === 'precache' && !sw.controller) {
      show(`Preparing qscribe for offline use: ${data.done} of ${data.total} files` +
           (data.bytes ? ` (${(data.bytes / 1e6).toFixed(1)} MB)` : ''));
    }
  });
  let reg;
  try {
    reg = await sw.register(new URL(script, document.baseURI), { scope: './' });
  } catch (e) {
    console.warn(`qscribe: the service worker could not be registered (${e.message || e}): no offline use`);
    return null;
  }
  if (!reg) return null;  // a browser (or a test harness) that pretends to register
  if (sw.controller) return sw.controller;
  show('Preparing qscribe for offline use…');
  // Wait until it controls this page (sw.js claims its clients once its files are cached), or
  // gives up (install failed: a file could not be fetched, or the storage quota is exhausted).
  return new Promise((resolve) => {
    const done = (value) => { sw.removeEventListener('controllerchange', onChange); resolve(value); };
    const onChange = () => done(sw.controller);
    sw.addEventListener('controllerchange', onChange);
    const worker = reg.installing || reg.waiting || reg.active;
    if (worker) {
      worker.addEventListener('statechange', () => {
        if (worker.state === 'redundant') {
          console.warn('qscribe: the service worker failed to install: no offline use');
          done(null);
        }
      });
    }
    if (sw.controller) done(sw.controller);
  });
}

async function start() {
  let controller = null;
  try {
    controller = await serviceWorker();
  } catch (e) {
    console.warn(`qscribe: no service worker (${e.message || e}): no offline use`);
  }
  if (controller && !window.crossOriginIsolated) {
    // The service worker re-serves the page with COOP/COEP: reload once to get them. The flag
    // stops a reload loop where the browser does not isolate pages anyway (the app works without
    // isolation: ONNX Runtime Web runs one thread).
    if (!sessionStorage.getItem(RELOAD_KEY)) {
      sessionStorage.setItem(RELOAD_KEY, '1');
      show('Starting…');
      location.reload();
      return;
    }
    console.warn('qscribe: not cross-origin isolated even with the service worker');
  }
  sessionStorage.removeItem(RELOAD_KEY);
  show('');
  try {
    await import('./app.js');
  } catch (e) {
    failed(`The app could not be loaded: ${e.message || e}`);
  }
}

start();
