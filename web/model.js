// The transcription model in ONNX Runtime Web (wasm backend): loads
// models/NAME.onnx and runs [batch, frames, bins] CQT magnitudes -> the frame and onset outputs.
import * as ort from './ort/ort.wasm.min.mjs';

// Both files by full name (not a folder prefix), so that scripts/build-site can point them at its
// content-hashed copies.
ort.env.wasm.wasmPaths = {
  mjs: new URL('ort/ort-wasm-simd-threaded.mjs', import.meta.url).href,
  wasm: new URL('ort/ort-wasm-simd-threaded.wasm', import.meta.url).href,
};
// One thread per core (up to 4) where the page is cross-origin isolated (SharedArrayBuffer): the
// shipped ensemble runs three networks per window (release 13; release 12 ran two, and two threads
// took the 180 s song from 44x to 57x real time on two cores: docs/benchmarks.md). Elsewhere one
// thread, which needs no isolation.
ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

const fileName = (url) => decodeURIComponent(new URL(url).pathname.split('/').pop());

export class Model {
  // io: what the core read from the sidecar (qs_model_io_json: sample rate, bins, notes, tensor
  // names; onsetOutput null for a frame-only model). Throws a readable Error when the model cannot
  // be fetched, is not an ONNX model, or does not match its sidecar.
  static async load(url, io) {
    const m = new Model();
    m.io = io;
    const name = fileName(url);
    // Fetched here rather than by ONNX Runtime, whose message for a missing file is "failed to
    // load external data file".
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${name}: HTTP ${res.status} ${res.statusText}`.trim());
    const bytes = new Uint8Array(await res.arrayBuffer());
    try {
      m.session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    } catch (e) {
      throw new Error(`${name} is not a usable ONNX model (${e.message || e})`);
    }
    m.check(name);
    return m;
  }

  // The sidecar must describe this model: tensor names, CQT bins in, notes out. A mismatch would
  // otherwise surface as an ONNX Runtime error on every transcription.
  check(name) {
    const io = this.io;
    const mismatch = (what) => new Error(`${name} does not match its sidecar: ${what}`);
    const meta = (list, n) => (list || []).find((v) => v.name === n);
    if (!this.session.inputNames.includes(io.input))
      throw mismatch(`it has no input '${io.input}' (its inputs: ${this.session.inputNames.join(', ')})`);
    for (const out of [io.frameOutput, io.onsetOutput].filter((n) => n !== null))
      if (!this.session.outputNames.includes(out))
        throw mismatch(`it has no output '${out}' (its outputs: ${this.session.outputNames.join(', ')})`);
    const last = (v) => (v && v.isTensor && Array.isArray(v.shape) && typeof v.shape.at(-1) === 'number' ? v.shape.at(-1) : null);
    const bins = last(meta(this.session.inputMetadata, io.input));
    if (bins !== null && bins !== io.bins) throw mismatch(`it takes ${bins} CQT bins, the sidecar says ${io.bins}`);
    const notes = last(meta(this.session.outputMetadata, io.frameOutput));
    if (notes !== null && notes !== io.notes) throw mismatch(`it gives ${notes} notes per frame, the sidecar says ${io.notes}`);
  }

  // Raw outputs {frame, onset} ([batch, frames, notes] each; onset null for a frame-only model).
  async run(input, batch, frames, bins) {
    const feeds = { [this.io.input]: new ort.Tensor('float32', input, [batch, frames, bins]) };
    const out = await this.session.run(feeds);
    return { frame: out[this.io.frameOutput].data, onset: this.io.onsetOutput === null ? null : out[this.io.onsetOutput].data };
  }
}
