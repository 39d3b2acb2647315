// Microphone capture: getUserMedia -> AudioContext at the model's sample rate (the browser
// resamples) -> AudioWorklet -> onSamples(Float32Array, arrivalMs) on the main thread.

function explain(e) {
  switch (e && e.name) {
    case 'NotAllowedError': case 'SecurityError':
      return 'Microphone access was denied. Allow the microphone for this page in the browser\'s site settings, then press Microphone again.';
    case 'NotFoundError': case 'OverconstrainedError':
      return 'No microphone was found. Connect one and press Microphone again.';
    case 'NotReadableError': case 'AbortError':
      return 'The microphone is in use by another application or could not be opened.';
    default:
      return `The microphone could not be started: ${e && e.message ? e.message : e}`;
  }
}

export class Microphone {
  // onLost(message): the device went away mid-way.
  async start(rate, onSamples, onLost) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
      throw new Error('This browser gives this page no microphone access (it needs https or localhost).');
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
      });
      this.ctx = new AudioContext({ sampleRate: rate, latencyHint: 'interactive' });
      await this.ctx.audioWorklet.addModule(new URL('mic-worklet.js', import.meta.url));
      const source = this.ctx.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.ctx, 'qscribe-capture', { numberOfOutputs: 1 });
      this.node.port.onmessage = (e) => onSamples(e.data, performance.now());
      const mute = new GainNode(this.ctx, { gain: 0 });  // keeps the graph pulling the worklet
      source.connect(this.node).connect(mute).connect(this.ctx.destination);
      await this.ctx.resume();
    } catch (e) {
      this.stop();
      throw new Error(explain(e));
    }
    for (const track of this.stream.getAudioTracks())
      track.onended = () => { this.stop(); onLost('The microphone was disconnected. What was played so far is kept.'); };
  }

  stop() {
    if (this.node) this.node.port.onmessage = null;
    if (this.stream) for (const t of this.stream.getTracks()) { t.onended = null; t.stop(); }
    if (this.ctx) this.ctx.close().catch(() => {});
    this.stream = this.ctx = this.node = null;
  }
}
