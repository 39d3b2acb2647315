// AudioWorklet processor: forwards every 128-sample block of the microphone (mixed to mono) to
// the page, with the number of samples captured so far.
class QscribeCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      const n = input[0].length;
      const mono = new Float32Array(n);
      for (const ch of input) for (let i = 0; i < n; i++) mono[i] += ch[i] / input.length;
      this.port.postMessage(mono, [mono.buffer]);
    }
    return true;
  }
}
registerProcessor('qscribe-capture', QscribeCapture);
