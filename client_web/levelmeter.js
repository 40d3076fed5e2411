// A sound level drawn in a <canvas> from a Web Audio AnalyserNode (the speaker's microphone,
// or the sound of an audio-only room), and whether any sound comes at all, for people who
// cannot see the bar.

const FLOOR_DB = -60;
// Below this level (0..1 on the meter's scale) the room is as good as silent.
const SOUND_LEVEL = 0.15;
const SILENT_AFTER_MS = 3000;
const FALL_PER_FRAME = 0.04;

export class LevelMeter {
  #canvas;
  #heard;
  #audio = null;
  #sources = [];
  #analyser = null;
  #samples = null;
  #frame = 0;
  #level = 0;
  #lastSoundAt = 0;
  #hearing = null;
  #colors = null;
  #resize = new ResizeObserver(() => this.#fitCanvas());

  /** `heard(true | false)` when sound starts arriving or has been missing for a few seconds. */
  constructor(canvas, { heard = () => {} } = {}) {
    this.#canvas = canvas;
    this.#heard = heard;
  }

  /** Measure every audio track of `stream` together (the meter does not play them). */
  attach(stream) {
    this.detach();
    if (stream.getAudioTracks().length === 0) return;
    if (this.#audio === null) {
      this.#audio = new AudioContext();
      // A meter that cannot measure yet (no click so far) would look like silence: hide it.
      this.#audio.addEventListener('statechange', () => this.#showRunning());
    }
    this.#showRunning();
    this.#analyser = this.#audio.createAnalyser();
    this.#analyser.fftSize = 1024;
    // A stream source takes only its first audio track: one source per track, summed.
    this.#sources = stream.getAudioTracks().map((track) => this.#audio.createMediaStreamSource(new MediaStream([track])));
    for (const source of this.#sources) source.connect(this.#analyser);
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#lastSoundAt = performance.now();
    this.#hearing = null;
    this.#colors = meterColors(this.#canvas);
    this.#resize.observe(this.#canvas);
    this.#fitCanvas();
    this.#frame = requestAnimationFrame(() => this.#draw());
  }

  /** Browsers start audio only after a click: call this from one. */
  resume() {
    if (this.#audio?.state === 'suspended') this.#audio.resume().catch(() => {});
  }

  detach() {
    cancelAnimationFrame(this.#frame);
    this.#resize.disconnect();
    for (const source of this.#sources) source.disconnect();
    this.#sources = [];
    this.#analyser = null;
    this.#level = 0;
    this.#paint();
  }

  close() {
    this.detach();
    this.#audio?.close().catch(() => {});
    this.#audio = null;
  }

  #draw() {
    if (this.#analyser === null) return;
    this.#analyser.getFloatTimeDomainData(this.#samples);
    const measured = levelOf(this.#samples);
    this.#level = Math.max(measured, this.#level - FALL_PER_FRAME);
    this.#paint();
    this.#noteSound(measured);
    this.#frame = requestAnimationFrame(() => this.#draw());
  }

  #showRunning() {
    this.#canvas.hidden = this.#audio?.state !== 'running';
  }

  #noteSound(level) {
    const now = performance.now();
    if (level >= SOUND_LEVEL) this.#lastSoundAt = now;
    const hearing = now - this.#lastSoundAt < SILENT_AFTER_MS;
    if (hearing !== this.#hearing && (hearing || this.#audio.state === 'running')) {
      this.#hearing = hearing;
      this.#heard(hearing);
    }
  }

  #fitCanvas() {
    const scale = window.devicePixelRatio || 1;
    const width = Math.round(this.#canvas.clientWidth * scale);
    const height = Math.round(this.#canvas.clientHeight * scale);
    if (width > 0 && (this.#canvas.width !== width || this.#canvas.height !== height)) {
      this.#canvas.width = width;
      this.#canvas.height = height;
    }
    this.#paint();
  }

  #paint() {
    const canvas = this.#canvas;
    const context = canvas.getContext('2d');
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    if (this.#colors === null) return;
    const radius = height / 2;
    context.fillStyle = this.#colors.track;
    roundedBar(context, 0, width, height, radius);
    const filled = Math.max(0, Math.min(1, this.#level)) * width;
    if (filled < 1) return;
    context.fillStyle = this.#level > 0.85 ? this.#colors.loud : this.#colors.fill;
    roundedBar(context, 0, Math.max(filled, height), height, radius);
  }
}

/** The loudness of `samples` on a 0..1 scale: its RMS level in dBFS, from -60 to 0. */
function levelOf(samples) {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  const rms = Math.sqrt(sum / samples.length);
  if (rms === 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(1, (db - FLOOR_DB) / -FLOOR_DB));
}

function roundedBar(context, x, width, height, radius) {
  context.beginPath();
  context.roundRect(x, 0, width, height, radius);
  context.fill();
}

/** The bar's colours come from the stylesheet (--meter-track, --meter-fill, --meter-loud). */
function meterColors(canvas) {
  const style = getComputedStyle(canvas);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    track: read('--meter-track', '#d5d8dc'),
    fill: read('--meter-fill', '#2f8f4e'),
    loud: read('--meter-loud', '#c0392b'),
  };
}
