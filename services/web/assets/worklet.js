// Runs on the audio thread: takes the microphone at the context's rate, low-passes and resamples it to
// 16 kHz mono, and posts 20 ms frames (320 samples, Int16) to the page, with the frame's RMS level.
class HearthCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / 16000;   // input samples per output sample
    this.pos = 0;                      // where the next output sample falls, in input samples
    this.prev = 0;                     // the last input sample of the previous block
    this.lp = 0;                       // one-pole low-pass state (anti-aliasing before decimation)
    this.alpha = Math.min(1, (2 * Math.PI * 7000) / sampleRate);
    this.frame = new Int16Array(320);
    this.fill = 0;
  }
  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const ch = input[0];
    const filtered = new Float32Array(ch.length);
    for (let i = 0; i < ch.length; i++) {
      this.lp += this.alpha * (ch[i] - this.lp);
      filtered[i] = this.lp;
    }
    // Linear interpolation between the input samples around each output position.
    while (this.pos < ch.length) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = i === 0 ? this.prev : filtered[i - 1];
      const b = filtered[i];
      const v = Math.max(-1, Math.min(1, a + (b - a) * frac));
      this.frame[this.fill++] = v < 0 ? v * 32768 : v * 32767;
      if (this.fill === 320) {
        let sum = 0;
        for (const s of this.frame) sum += (s / 32768) * (s / 32768);
        this.port.postMessage({ pcm: this.frame.buffer, rms: Math.sqrt(sum / 320) }, [this.frame.buffer]);
        this.frame = new Int16Array(320);
        this.fill = 0;
      }
      this.pos += this.step;
    }
    this.pos -= ch.length;
    this.prev = filtered[ch.length - 1];
    return true;
  }
}
registerProcessor('hearth-capture', HearthCapture);
