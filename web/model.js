// The transcription model in ONNX Runtime Web (single-threaded wasm backend): loads
// models/NAME.onnx and runs [batch, frames, bins] CQT magnitudes -> frame and onset logits.
import * as ort from './ort/ort.wasm.min.mjs';

// Both files by full name (not a folder prefix), so that scripts/build-site can point them at its
// content-hashed copies.
ort.env.wasm.wasmPaths = {
  mjs: new URL('ort/ort-wasm-simd-threaded.mjs', import.meta.url).href,
  wasm: new URL('ort/ort-wasm-simd-threaded.wasm', import.meta.url).href,
};
ort.env.wasm.numThreads = 1;

const fileName = (url) => decodeURIComponent(new URL(url).pathname.split('/').pop());

export class Model {
  // config: the parsed sidecar JSON (names of the tensors). Throws a readable Error when the
  // model cannot be fetched, is not an ONNX model, or does not match its sidecar.
  static async load(url, config) {
    const m = new Model();
    m.config = config;
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
    m.inputName = config.io?.input?.name ?? 'cqt';
    m.frameName = config.io?.frame_output?.name ?? 'frame_logits';
    m.onsetName = config.io?.onset_output?.name ?? 'onset_logits';
    m.check(name, config);
    return m;
  }

  // The sidecar must describe this model: tensor names, CQT bins in, notes out. A mismatch would
  // otherwise surface as an ONNX Runtime error on every transcription.
  check(name, config) {
    const mismatch = (what) => new Error(`${name} does not match its sidecar: ${what}`);
    const meta = (list, n) => (list || []).find((v) => v.name === n);
    if (!this.session.inputNames.includes(this.inputName))
      throw mismatch(`it has no input '${this.inputName}' (its inputs: ${this.session.inputNames.join(', ')})`);
    for (const out of [this.frameName, this.onsetName])
      if (!this.session.outputNames.includes(out))
        throw mismatch(`it has no output '${out}' (its outputs: ${this.session.outputNames.join(', ')})`);
    const last = (v) => (v && v.isTensor && Array.isArray(v.shape) && typeof v.shape.at(-1) === 'number' ? v.shape.at(-1) : null);
    const bins = last(meta(this.session.inputMetadata, this.inputName));
    if (bins !== null && config.features && bins !== config.features.n_bins)
      throw mismatch(`it takes ${bins} CQT bins, the sidecar says ${config.features.n_bins}`);
    const notes = last(meta(this.session.outputMetadata, this.frameName));
    const want = config.io?.frame_output?.shape?.at(-1);
    if (notes !== null && typeof want === 'number' && notes !== want)
      throw mismatch(`it gives ${notes} notes per frame, the sidecar says ${want}`);
  }

  async run(input, batch, frames, bins) {
    const feeds = { [this.inputName]: new ort.Tensor('float32', input, [batch, frames, bins]) };
    const out = await this.session.run(feeds);
    return { frame: out[this.frameName].data, onset: out[this.onsetName].data };
  }
}
