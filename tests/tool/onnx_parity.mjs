// Runs an exported qscribe model with onnxruntime-node on inputs written by the C++ parity test
// (tests/tool/test_export.cpp) and writes the outputs back for it to compare with LibTorch.
//
//   node tests/tool/onnx_parity.mjs MANIFEST.json
//
// MANIFEST: {"model": "x.onnx", "runtime": "node" (onnxruntime-node) | "web" (onnxruntime-web, wasm),
//            "input": "cqt", "outputs": ["frame_logits", "onset_logits"],
//            "cases": [{"input": "case0.in.f32", "dims": [B, T, F], "out_prefix": "case0.ort"}]}
// Inputs and outputs are raw little-endian float32. For each case and output NAME this writes
// OUT_PREFIX.NAME.f32, and prints one JSON line: {"runtime", "ort_version", "input_names", "output_names",
// "cases": [{"dims": {NAME: [...]}, "ms": ...}]}. Exit status 1 on any error (message on stderr).
import { readFileSync, writeFileSync } from 'node:fs';

async function main() {
  const manifestPath = process.argv[2];
  if (!manifestPath) throw new Error('usage: node onnx_parity.mjs MANIFEST.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const runtime = manifest.runtime ?? 'node';
  let ort;
  let session;
  const options = { graphOptimizationLevel: manifest.optimization ?? 'all' };
  if (runtime === 'node') {
    ort = await import('onnxruntime-node');
    session = await ort.InferenceSession.create(manifest.model, { ...options, intraOpNumThreads: 1, interOpNumThreads: 1 });
  } else if (runtime === 'web') {
    // The browser's runtime (wasm CPU backend, the same binary the web app serves), under Node.
    ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    session = await ort.InferenceSession.create(new Uint8Array(readFileSync(manifest.model)), {
      ...options,
      executionProviders: ['wasm'],
    });
  } else {
    throw new Error(`unknown runtime "${runtime}" (node or web)`);
  }
  const { Tensor } = ort;
  const result = {
    runtime,
    ort_version: ort.env.versions?.[runtime] ?? ort.env.versions?.common ?? 'unknown',
    input_names: session.inputNames,
    output_names: session.outputNames,
    cases: [],
  };
  for (const c of manifest.cases) {
    const buf = readFileSync(c.input);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const expected = c.dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`${c.input}: ${data.length} floats, dims ${c.dims} need ${expected}`);
    const feeds = { [manifest.input]: new Tensor('float32', Float32Array.from(data), c.dims) };
    const t0 = performance.now();
    const out = await session.run(feeds);
    const ms = performance.now() - t0;
    const dims = {};
    for (const name of manifest.outputs) {
      const t = out[name];
      if (!t) throw new Error(`the model has no output "${name}" (outputs: ${session.outputNames.join(', ')})`);
      if (t.type !== 'float32') throw new Error(`output "${name}" is ${t.type}, expected float32`);
      dims[name] = Array.from(t.dims);
      const d = t.data;
      writeFileSync(`${c.out_prefix}.${name}.f32`, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
    result.cases.push({ dims, ms });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`onnx_parity: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
