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

export class Model {
  // config: the parsed sidecar JSON (names of the tensors).
  static async load(url, config) {
    const m = new Model();
    m.config = config;
    m.session = await ort.InferenceSession.create(url, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    m.inputName = config.io?.input?.name ?? 'cqt';
    m.frameName = config.io?.frame_output?.name ?? 'frame_logits';
    m.onsetName = config.io?.onset_output?.name ?? 'onset_logits';
    return m;
  }

  async run(input, batch, frames, bins) {
    const feeds = { [this.inputName]: new ort.Tensor('float32', input, [batch, frames, bins]) };
    const out = await this.session.run(feeds);
    return { frame: out[this.frameName].data, onset: out[this.onsetName].data };
  }
}
