// The JS <-> C++ bridge's codes agree on both sides (no browser): every Step.* and Slot.* name that
// web/*.js uses is defined in wasm/bridge.hpp (the one definition: web/app.js reads the values
// from the core at boot), the definitions are unique, and neither side passes or compares a step
// result or a slot as a bare number.
// Usage: node tests/e2e/bridge_constants.mjs [REPO_ROOT]
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] || join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
const header = readFileSync(join(root, 'wasm', 'bridge.hpp'), 'utf8');

// The X-macro lists: #define QS_BRIDGE_STEP(X) X(kDone, DONE, 0) ... up to the first line that
// does not end in a backslash.
function macroList(name) {
  const start = header.indexOf(`#define ${name}(X)`);
  assert.ok(start >= 0, `wasm/bridge.hpp has no ${name}`);
  const lines = [];
  for (const line of header.slice(start).split('\n')) {
    lines.push(line);
    if (!line.trimEnd().endsWith('\\')) break;
  }
  const entries = [...lines.join('\n').matchAll(/\bX\(\s*(k\w+)\s*,\s*(\w+)\s*,\s*(-?\d+)\s*\)/g)]
    .map(([, cpp, js, value]) => ({ cpp, js, value: Number(value) }));
  assert.ok(entries.length > 0, `${name} lists no codes`);
  for (const key of ['cpp', 'js', 'value']) {
    const seen = entries.map((e) => e[key]);
    assert.equal(new Set(seen).size, seen.length, `${name}: two codes share a ${key}: ${seen.join(', ')}`);
  }
  return entries;
}

const groups = { Step: macroList('QS_BRIDGE_STEP'), Slot: macroList('QS_BRIDGE_SLOT') };
const problems = [];

// JavaScript: the names it uses exist; nothing passes a slot or compares a step result as a number.
const webDir = join(root, 'web');
for (const file of readdirSync(webDir).filter((f) => f.endsWith('.js'))) {
  const src = readFileSync(join(webDir, file), 'utf8');
  for (const [group, entries] of Object.entries(groups)) {
    for (const [, name] of src.matchAll(new RegExp(`\\b${group}\\.([A-Za-z_]\\w*)`, 'g')))
      if (!entries.some((e) => e.js === name)) problems.push(`web/${file}: ${group}.${name} is not defined in wasm/bridge.hpp`);
  }
  for (const [call] of src.matchAll(/\b(?:_qs_request_\w+|runRequest)\(\s*-?\d[^)]*\)/g))
    problems.push(`web/${file}: ${call} passes a bare slot number (use Slot.*)`);
  for (const [cmp] of src.matchAll(/_qs_(?:job|live)_step\([^)]*\)\s*[!=]==?\s*-?\d+/g))
    problems.push(`web/${file}: ${cmp} compares a step result with a bare number (use Step.*)`);
  for (const [, v] of src.matchAll(/\b(?:const|let|var)\s+(\w+)\s*=\s*core\._qs_(?:job|live)_step\(/g))
    for (const [cmp] of src.matchAll(new RegExp(`\\b${v}\\s*[!=]==?\\s*-?\\d+`, 'g')))
      problems.push(`web/${file}: ${cmp} compares a step result with a bare number (use Step.*)`);
}

// C++: the exported step functions return named codes.
const main = readFileSync(join(root, 'wasm', 'main.cpp'), 'utf8');
for (const fn of ['qs_job_step', 'qs_live_step']) {
  const at = main.indexOf(`int ${fn}(`);
  if (at < 0) {
    problems.push(`wasm/main.cpp: no ${fn}`);
    continue;
  }
  const body = main.slice(at, main.indexOf('\n}', at));
  for (const [ret] of body.matchAll(/return\s+-?\d+\s*;/g)) problems.push(`wasm/main.cpp: ${fn}: "${ret}" (use a StepResult)`);
}

for (const p of problems) console.error(p);
assert.equal(problems.length, 0, `${problems.length} disagreement(s) between wasm/bridge.hpp and its users`);
for (const [group, entries] of Object.entries(groups))
  console.log(`${group}: ${entries.map((e) => `${e.js}=${e.value}`).join(' ')}`);
console.log('bridge constants: JS and C++ agree');
