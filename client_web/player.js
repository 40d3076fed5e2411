// The player on the watch page: one <video> element for a received stream, or a calm panel
// when the room sends sound only, with sound on/off, volume, full screen and "Audio only".
// Browsers refuse to start sound without a click, so playback falls back to muted with a big
// "Turn sound on" button.

import { el, setShown, setText } from './dom.js';
import { LevelMeter } from './levelmeter.js';

export class Player {
  #root;
  #video;
  #audioPanel;
  #audioTitle;
  #audioNote;
  #soundOn;
  #mute;
  #volume;
  #audioOnly;
  #fullscreen;
  #meter;
  #caption;
  #stream = null;
  // The browser refused to start with sound (as opposed to the viewer muting it).
  #soundBlocked = false;

  /**
   * Build the player in `container`. `audioOnlyChanged(checked)` when the viewer asks for
   * sound only (or for the picture back).
   */
  constructor(container, { audioOnlyChanged }) {
    this.#video = el('video', { class: 'player-video', playsinline: true, 'aria-label': 'Live stream' });
    this.#audioTitle = el('p', { class: 'audio-panel-title' });
    this.#audioNote = el('p', { class: 'audio-panel-note' });
    const meterCanvas = el('canvas', { class: 'level-meter audio-panel-meter', 'aria-hidden': 'true' });
    this.#audioPanel = el('div', { class: 'audio-panel' },
      el('span', { class: 'audio-panel-icon', 'aria-hidden': 'true' }),
      this.#audioTitle, this.#audioNote, meterCanvas);
    this.#meter = new LevelMeter(meterCanvas);
    this.#caption = el('p', { class: 'player-caption', hidden: true });
    this.#soundOn = el('button', { type: 'button', class: 'sound-on', onclick: () => this.#turnSoundOn() },
      'Turn sound on');
    this.#mute = el('button', { type: 'button', class: 'player-mute', 'aria-pressed': 'false', onclick: () => this.#toggleMute() },
      'Mute');
    this.#volume = el('input', {
      type: 'range', id: 'player-volume', class: 'player-volume', min: '0', max: '100', value: '100',
      oninput: () => this.#setVolume(),
    });
    this.#audioOnly = el('input', {
      type: 'checkbox', id: 'player-audio-only',
      onchange: () => audioOnlyChanged(this.#audioOnly.checked),
    });
    this.#fullscreen = el('button', { type: 'button', class: 'player-fullscreen', onclick: () => this.#toggleFullscreen() },
      'Full screen');
    this.#root = el('div', { class: 'player', 'data-mode': 'video' },
      el('div', { class: 'player-screen' }, this.#video, this.#audioPanel, this.#caption, this.#soundOn),
      el('div', { class: 'player-controls' },
        this.#mute,
        el('label', { class: 'player-volume-label', for: 'player-volume' }, 'Volume'), this.#volume,
        el('label', { class: 'player-audio-only' }, this.#audioOnly, 'Audio only (saves data)'),
        this.#fullscreen));
    container.replaceChildren(this.#root);
    // Browsers let sound be measured only after a click on the page.
    this.#root.addEventListener('click', () => this.#meter.resume());
    this.#video.addEventListener('volumechange', () => this.#showSound());
    document.addEventListener('fullscreenchange', () => this.#showFullscreen());
    setShown(this.#fullscreen, fullscreenPossible(this.#video));
    this.#showSound();
  }

  /**
   * Play `stream`. `audioOnly`: show the panel with `title` and `note` instead of a picture;
   * `roomAudioOnly`: the room never sends video, so there is no picture to ask for.
   */
  async play(stream, { audioOnly, roomAudioOnly, title, note }) {
    this.#stream = stream;
    this.#root.dataset.mode = audioOnly ? 'audio' : 'video';
    setText(this.#audioTitle, title);
    setText(this.#audioNote, note);
    this.#audioOnly.checked = audioOnly;
    this.#audioOnly.disabled = roomAudioOnly;
    setShown(this.#audioOnly.parentElement, !roomAudioOnly);
    setShown(this.#fullscreen, !audioOnly && fullscreenPossible(this.#video));
    if (this.#video.srcObject !== stream) this.#video.srcObject = stream;
    if (audioOnly) this.#meter.attach(stream);
    else this.#meter.detach();
    await this.#start();
  }

  /** A line over the picture (e.g. nobody is sending yet), or null for none. */
  caption(text) {
    setShown(this.#caption, text !== null);
    setText(this.#caption, text ?? '');
  }

  /** Stop showing anything (the stream ended or the room closed). */
  clear() {
    this.#stream = null;
    this.#meter.detach();
    this.#video.srcObject = null;
    setShown(this.#soundOn, false);
    if (document.fullscreenElement === this.#root) document.exitFullscreen().catch(() => {});
  }

  async #start() {
    const video = this.#video;
    if (!video.muted) {
      try {
        await video.play();
        this.#showSound();
        return;
      } catch (error) {
        if (error.name !== 'NotAllowedError') return;
        video.muted = true;
        this.#soundBlocked = true;
      }
    }
    try {
      await video.play();
    } catch {
      // A newer stream replaced this one before it started; it plays instead.
    }
    this.#showSound();
  }

  #turnSoundOn() {
    this.#soundBlocked = false;
    this.#video.muted = false;
    this.#meter.resume();
    this.#video.play().catch(() => {});
    this.#showSound();
    this.#mute.focus();
  }

  #toggleMute() {
    if (this.#video.muted) {
      this.#turnSoundOn();
    } else {
      this.#video.muted = true;
      this.#showSound();
    }
  }

  #setVolume() {
    this.#video.volume = Number(this.#volume.value) / 100;
    if (this.#video.volume > 0 && this.#video.muted) this.#turnSoundOn();
  }

  #showSound() {
    const muted = this.#video.muted;
    setText(this.#mute, muted ? 'Unmute' : 'Mute');
    this.#mute.setAttribute('aria-pressed', String(muted));
    setShown(this.#soundOn, muted && this.#soundBlocked && this.#stream !== null);
    const value = String(Math.round(this.#video.volume * 100));
    if (this.#volume.value !== value) this.#volume.value = value;
  }

  #toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    } else if (this.#root.requestFullscreen) {
      this.#root.requestFullscreen().catch(() => {});
    } else {
      // iPhone Safari offers full screen for the video element only.
      this.#video.webkitEnterFullscreen?.();
    }
  }

  #showFullscreen() {
    setText(this.#fullscreen, document.fullscreenElement === this.#root ? 'Exit full screen' : 'Full screen');
  }
}

function fullscreenPossible(video) {
  return document.fullscreenEnabled === true || typeof video.webkitEnterFullscreen === 'function';
}
