// The microphone level meter: the local microphone's RMS level (Web Audio), drawn as a bar.

export class LevelMeter {
  constructor(bar) {
    this.bar = bar;
    this.context = null;
  }

  start(stream) {
    this.context = new AudioContext();
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 1024;
    this.context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const draw = () => {
      if (!this.context) return;
      analyser.getFloatTimeDomainData(samples);
      const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
      const level = Math.min(1, rms * 6);
      this.bar.style.width = `${Math.round(level * 100)}%`;
      document.body.dataset.micLevel = level.toFixed(3);
      requestAnimationFrame(draw);
    };
    draw();
  }

  stop() {
    this.context?.close();
    this.context = null;
    this.bar.style.width = "0";
  }
}
