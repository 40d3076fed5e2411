// The speaker's own camera and microphone, before and while on air: getUserMedia with the
// devices picked in the page's <select>s (filled from enumerateDevices), the picture in a
// muted <video>, the microphone level, and swapping a device without going off air.

import { el } from './dom.js';

const VIDEO_SHAPE = Object.freeze({ width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } });
const AUDIO_SHAPE = Object.freeze({ echoCancellation: true, noiseSuppression: true, autoGainControl: true });

/** getUserMedia failed; `message` says what to do about it. */
export class PreviewError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PreviewError';
  }
}

export class DevicePreview {
  #video;
  #cameraSelect;
  #micSelect;
  #meter;
  #trackChanged;
  #wantVideo;
  #stream = null;
  #micMuted = false;

  /**
   * `wantVideo`: false in rooms that carry sound only (the camera is never asked for).
   * `trackChanged(track)` when a picked device replaced a track of the running stream.
   */
  constructor({ video, cameraSelect, micSelect, meter, wantVideo, trackChanged }) {
    this.#video = video;
    this.#cameraSelect = cameraSelect;
    this.#micSelect = micSelect;
    this.#meter = meter;
    this.#wantVideo = wantVideo;
    this.#trackChanged = trackChanged;
    cameraSelect.addEventListener('change', () => this.#switchDevice('video'));
    micSelect.addEventListener('change', () => this.#switchDevice('audio'));
    navigator.mediaDevices?.addEventListener('devicechange', () => this.#listDevices());
  }

  /** The running stream, or null before start(). */
  get stream() {
    return this.#stream;
  }

  get hasVideo() {
    return (this.#stream?.getVideoTracks().length ?? 0) > 0;
  }

  /**
   * Ask for the microphone (and camera). Resolves with a note when the camera could not be
   * used and only sound will go out, else null; throws PreviewError when nothing works.
   */
  async start() {
    if (this.#stream !== null) return null;
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new PreviewError('This browser cannot use a camera or microphone here. Open the page over https, in a current browser.');
    }
    let note = null;
    try {
      this.#stream = await capture({ audio: this.#constraint('audio'), video: this.#wantVideo && this.#constraint('video') });
    } catch (error) {
      if (!this.#wantVideo || !cameraOnlyProblem(error)) throw previewError(error);
      this.#stream = await capture({ audio: this.#constraint('audio'), video: false }).catch((again) => {
        throw previewError(again);
      });
      note = 'No camera could be used, so you will be heard but not seen.';
    }
    this.#show();
    await this.#listDevices();
    return note;
  }

  /** Mute or unmute the microphone (on air too: the same track is sent). */
  setMicMuted(muted) {
    this.#micMuted = muted;
    for (const track of this.#stream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  stop() {
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
    this.#video.srcObject = null;
    this.#meter.detach();
  }

  #show() {
    this.setMicMuted(this.#micMuted);
    const picture = this.hasVideo ? this.#stream : null;
    if (this.#video.srcObject !== picture) this.#video.srcObject = picture;
    if (picture !== null) this.#video.play().catch(() => {});
    this.#meter.attach(this.#stream);
  }

  #constraint(kind) {
    const select = kind === 'audio' ? this.#micSelect : this.#cameraSelect;
    const shape = kind === 'audio' ? AUDIO_SHAPE : VIDEO_SHAPE;
    return select.value ? { ...shape, deviceId: { exact: select.value } } : { ...shape };
  }

  /** Replace the running track of `kind` with one from the device now picked. */
  async #switchDevice(kind) {
    const stream = this.#stream;
    if (stream === null || (kind === 'video' && !this.hasVideo)) return;
    const fresh = await capture({ [kind]: this.#constraint(kind) }).catch(() => null);
    if (fresh === null || this.#stream !== stream) {
      for (const track of fresh?.getTracks() ?? []) track.stop();
      await this.#listDevices();
      return;
    }
    const track = fresh.getTracks()[0];
    for (const old of kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks()) {
      stream.removeTrack(old);
      old.stop();
    }
    stream.addTrack(track);
    this.#show();
    this.#trackChanged(track);
  }

  /** Fill the pickers; labels are only known once the browser was allowed to use a device. */
  async #listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    fillPicker(this.#micSelect, devices.filter((device) => device.kind === 'audioinput'),
      this.#stream?.getAudioTracks()[0], 'Microphone');
    fillPicker(this.#cameraSelect, devices.filter((device) => device.kind === 'videoinput'),
      this.#stream?.getVideoTracks()[0], 'Camera');
  }
}

function fillPicker(select, devices, track, noun) {
  const current = track?.getSettings().deviceId ?? select.value;
  const usable = devices.filter((device) => device.deviceId !== '');
  const options = usable.map((device, index) => el('option', { value: device.deviceId },
    device.label || `${noun} ${index + 1}`));
  if (options.length === 0) options.push(el('option', { value: '' }, `Default ${noun.toLowerCase()}`));
  select.replaceChildren(...options);
  if (usable.some((device) => device.deviceId === current)) select.value = current;
}

async function capture(constraints) {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    // A remembered device that is gone: take the default one instead.
    if (error.name !== 'OverconstrainedError') throw error;
    const loose = Object.fromEntries(Object.entries(constraints).map(([kind, value]) => [
      kind, value && typeof value === 'object' ? withoutDevice(value) : value]));
    return navigator.mediaDevices.getUserMedia(loose);
  }
}

function withoutDevice({ deviceId, ...rest }) {
  return Object.keys(rest).length > 0 ? rest : true;
}

function cameraOnlyProblem(error) {
  return ['NotFoundError', 'NotReadableError', 'OverconstrainedError', 'AbortError'].includes(error.name);
}

function previewError(error) {
  switch (error.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new PreviewError('The browser was not allowed to use the microphone or camera. Allow them for this site (usually from the icon in the address bar), then try again.');
    case 'NotFoundError':
      return new PreviewError('No microphone was found. Plug one in, then try again.');
    case 'NotReadableError':
    case 'AbortError':
      return new PreviewError('The microphone or camera is in use by another program, or the system blocked it. Close that program, then try again.');
    default:
      return new PreviewError(`The microphone or camera could not be started (${error.message || error.name}).`);
  }
}
