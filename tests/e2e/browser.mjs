// Shared harness of the browser end-to-end tests and the browser benchmark: starts
// web/server.mjs on a free port, launches Debian's Chromium headless through playwright-core,
// logs every request the page makes (so a test can prove nothing leaves the page's origin),
// saves screenshots into the working directory, and stops everything on a watchdog timeout.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const SOURCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.QS_CHROMIUM || '/usr/bin/chromium';

// DESIGN.md "Browser tests": software WebGL (SwiftShader) and no background traffic.
export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync',
];

export function log(...args) {
  console.log(`[${(performance.now() / 1000).toFixed(1).padStart(6)} s]`, ...args);
}

// The folder the page comes from: the wasm build's web/ (QSCRIBE_WASM_WEB_DIR, or the wasm
// preset's build/wasm/web).
export function wasmWebDir() {
  const dir = process.env.QSCRIBE_WASM_WEB_DIR || path.join(SOURCE_DIR, 'build/wasm/web');
  if (!fs.existsSync(path.join(dir, 'qscribe_web.js'))) {
    throw new Error(`no wasm web build in ${dir} (build the qscribe_web target of the wasm preset, ` +
                    'or set QSCRIBE_WASM_WEB_DIR)');
  }
  return dir;
}

// Starts `node web/server.mjs --port 0 --root web --root WASM_WEB_DIR`; resolves once it prints
// its address. Returns { url, origin, close() }.
// QS_E2E_ROOTS (colon-separated folders) replaces the roots, e.g. to try the harness on another page.
export function startServer({ roots } = {}) {
  if (!roots) {
    roots = process.env.QS_E2E_ROOTS ? process.env.QS_E2E_ROOTS.split(':')
                                     : [path.join(SOURCE_DIR, 'web'), wasmWebDir()];
  }
  const args = [path.join(SOURCE_DIR, 'web/server.mjs'), '--port', '0'];
  for (const r of roots) args.push('--root', r);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`web/server.mjs did not start within 10 s; output: ${out}`));
    }, 10000);
    child.stderr.on('data', (d) => { out += d; process.stderr.write(`[server] ${d}`); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        const url = m[0];
        resolve({
          url, origin: new URL(url).origin, process: child,
          close: () => new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            child.once('exit', () => res());
            child.kill();
          }),
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`web/server.mjs exited (${code}) before listening: ${out}`));
    });
  });
}

// A request stays on the page's origin when its URL has that origin; data: URLs and blob: URLs
// of the same origin never touch the network.
export function isSameOrigin(url, origin) {
  if (url.startsWith('data:')) return true;
  if (url.startsWith('blob:')) return url.startsWith(`blob:${origin}/`);
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

// Opens the app. Options: name (used in screenshot file names), timeoutMs (watchdog for the
// whole session: on expiry a screenshot is saved, everything is closed and the process exits 1),
// extraArgs (more Chromium flags), path (page path, default '/'), waitReady (await
// window.qscribe.ready, default true), screenshotDir (default: the working directory), server (a
// started server { url, origin, close() } to use instead of web/server.mjs; closed with the session).
// Returns a session object: { server, browser, context, page, origin, requests, responses,
// pageErrors, consoleLines, screenshot(label), offOrigin(), assertSameOrigin(), close() }.
export async function openApp({
  name, timeoutMs = 240000, extraArgs = [], path: pagePath = '/', waitReady = true,
  screenshotDir = process.cwd(), readyTimeoutMs = 120000, acceptDownloads = true, server = null,
} = {}) {
  if (!name) throw new Error('openApp: name is required');
  for (const f of fs.readdirSync(screenshotDir)) {  // screenshots of an earlier run of this test
    if (f.startsWith(`${name}-`) && f.endsWith('.png')) fs.rmSync(path.join(screenshotDir, f), { force: true });
  }
  const session = {
    name, requests: [], responses: [], pageErrors: [], consoleLines: [], closed: false,
  };
  session.screenshot = async (label) => {
    if (!session.page || session.page.isClosed()) return null;
    const file = path.join(screenshotDir, `${name}${label ? '-' + label : ''}.png`);
    try {
      // The DevTools capture directly: page.screenshot() waits for fonts and stable frames,
      // which can take half a minute while the app renders continuously with SwiftShader.
      const cdp = await session.context.newCDPSession(session.page);
      let timer;
      const shot = await Promise.race([
        cdp.send('Page.captureScreenshot', { format: 'png' }),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no frame within 30 s')), 30000); }),
      ]).finally(() => clearTimeout(timer));
      await cdp.detach().catch(() => {});
      fs.writeFileSync(file, Buffer.from(shot.data, 'base64'));
      log(`screenshot: ${file}`);
      return file;
    } catch (e) {
      log(`screenshot ${file} failed: ${e.message}`);
      return null;
    }
  };
  session.close = async () => {
    if (session.closed) return;
    session.closed = true;
    clearTimeout(session.watchdog);
    try { if (session.browser) await session.browser.close(); } catch { /* already gone */ }
    if (session.server) await session.server.close();
  };
  session.watchdog = setTimeout(async () => {
    console.error(`TIMEOUT: ${name} did not finish within ${timeoutMs / 1000} s`);
    await session.screenshot('timeout');
    await dumpState(session);
    await session.close();
    process.exit(1);
  }, timeoutMs);
  session.watchdog.unref?.();

  try {
    session.server = server || await startServer();
    session.origin = session.server.origin;
    log(`server ${session.server.url}`);
    session.browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...extraArgs],
      timeout: 60000,
    });
    log(`chromium ${session.browser.version()}`);
    session.context = await session.browser.newContext({
      acceptDownloads, viewport: { width: 1280, height: 800 },
    });
    // Context-level events also see requests of workers and any other page the app might open.
    session.context.on('request', (req) => {
      session.requests.push({ url: req.url(), method: req.method(), type: req.resourceType(), t: performance.now() });
    });
    session.context.on('requestfinished', async (req) => {
      try {
        const sizes = await req.sizes();
        const resp = await req.response();
        session.responses.push({
          url: req.url(), status: resp ? resp.status() : 0,
          bodyBytes: sizes.responseBodySize, headerBytes: sizes.responseHeadersSize,
          timing: req.timing(),
        });
      } catch { /* context closed meanwhile */ }
    });
    session.context.on('requestfailed', (req) => {
      log(`request failed: ${req.url()} (${req.failure()?.errorText})`);
    });
    // Anything the CSP blocks also reaches the console this way (runTest fails on it).
    await session.context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} [${e.sample}] ` +
                      `(${e.sourceFile}:${e.lineNumber})`);
      });
    });
    session.page = await session.context.newPage();
    session.page.on('websocket', (ws) => session.requests.push({ url: ws.url(), method: 'WEBSOCKET', type: 'websocket' }));
    session.page.on('pageerror', (e) => {
      session.pageErrors.push(String(e && e.stack || e));
      log(`page error: ${e}`);
    });
    session.page.on('console', (msg) => {
      const line = `${msg.type()}: ${msg.text()}`;
      session.consoleLines.push(line);
      if (process.env.QS_E2E_VERBOSE || msg.type() === 'error' || msg.type() === 'warning') log(`[page] ${line}`);
    });
    session.page.on('crash', () => log('page crashed'));
    session.page.setDefaultTimeout(30000);

    session.navigationStart = performance.now();
    await session.page.goto(session.server.url.replace(/\/$/, '') + pagePath, { waitUntil: 'load', timeout: 60000 });
    if (waitReady) await waitForApp(session.page, readyTimeoutMs);
  } catch (e) {
    await session.screenshot('setup-failed');
    await session.close();
    throw e;
  }

  session.offOrigin = () => session.requests.filter((r) => !isSameOrigin(r.url, session.origin));
  session.assertSameOrigin = () => {
    const off = session.offOrigin();
    if (off.length) {
      throw new Error(`${off.length} request(s) left the page's origin ${session.origin}:\n` +
                      off.map((r) => `  ${r.method} ${r.url}`).join('\n'));
    }
    log(`request log: ${session.requests.length} requests, all to ${session.origin}`);
  };
  return session;
}

// Waits for window.qscribe and its ready promise (wasm + default model loaded).
export async function waitForApp(page, timeoutMs = 120000) {
  try {
    await page.waitForFunction(() => typeof window.qscribe === 'object' && window.qscribe !== null,
                               null, { timeout: Math.min(timeoutMs, 30000) });
  } catch {
    throw new Error('window.qscribe did not appear within 30 s of the page loading');
  }
  await page.evaluate((ms) => Promise.race([
    window.qscribe.ready,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`qscribe.ready did not settle within ${ms} ms`)), ms)),
  ]), timeoutMs);
}

// Polls the page until fn(arg) (run in the page) is truthy; on timeout throws with the last
// state() so failures say what the app was doing.
export async function waitUntil(page, fn, arg, { timeoutMs = 60000, what = 'condition' } = {}) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 100 });
  } catch (e) {
    let st = '(unavailable)';
    try { st = JSON.stringify(await page.evaluate(() => window.qscribe.state())); } catch { /* page gone */ }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; state(): ${st}`);
  }
}

export async function appState(page) {
  return page.evaluate(() => window.qscribe.state());
}

// Clicks the centre of the app's UI element `id` (window.qscribe.uiRect: CSS pixels relative to
// the canvas' top-left) with real mouse events, as a user would.
export async function clickUi(page, id) {
  // One round trip (a busy page answers slowly): the control's rect and the canvas' position.
  const { rect, box } = await page.evaluate((uid) => {
    const c = document.getElementById('canvas');
    const b = c ? c.getBoundingClientRect() : null;
    return { rect: window.qscribe.uiRect(uid), box: b && { x: b.left, y: b.top } };
  }, id);
  if (!rect) throw new Error(`qscribe.uiRect('${id}') is null: the control is not on screen`);
  if (!box) throw new Error('the page has no #canvas');
  const x = box.x + rect.x + rect.w / 2;
  const y = box.y + rect.y + rect.h / 2;
  await page.mouse.move(x, y);
  // ImGui registers hover on one frame and the press on a later one: let a few frames pass.
  await page.waitForTimeout(100);
  await page.mouse.down();
  await page.waitForTimeout(100);
  await page.mouse.up();
  await page.waitForTimeout(50);
}

async function dumpState(session) {
  try {
    const st = await session.page.evaluate(() => window.qscribe && window.qscribe.state());
    console.error(`state(): ${JSON.stringify(st)}`);
  } catch { /* page not usable */ }
}

// Lines Chromium logs when the page's Content-Security-Policy (web/csp.mjs) blocks something.
export function cspViolations(session) {
  return session.consoleLines.filter((l) => /Content Security Policy/i.test(l));
}

// Runs one end-to-end test body with a session; always closes the browser and server, saves a
// final screenshot, checks the request log, page errors and CSP violations, and sets the exit code.
export async function runTest(name, options, body) {
  let session;
  let failed = false;
  try {
    session = await openApp({ name, ...options });
    await body(session);
    session.assertSameOrigin();
    if (session.pageErrors.length) {
      throw new Error(`uncaught errors in the page:\n${session.pageErrors.join('\n')}`);
    }
    const csp = cspViolations(session);
    if (csp.length) throw new Error(`the Content-Security-Policy blocked something:\n${csp.join('\n')}`);
  } catch (e) {
    failed = true;
    console.error(`FAIL ${name}: ${e && e.stack || e}`);
    if (session) await dumpState(session);
  } finally {
    if (session) {
      await session.screenshot(failed ? 'failed' : 'final');
      await session.close();
    }
  }
  if (!failed) log(`PASS ${name}`);
  process.exitCode = failed ? 1 : 0;
  return !failed;
}
