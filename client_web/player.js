// The player of a room's stage (the watch page, and the speaker's return on the speak page):
// the stage's pictures as tiles (stageview.js), or a calm panel when only sound comes, with
// one sound on/off and volume for every voice on stage, full screen and "Audio only".
// Browsers refuse to start sound without a click, so playback falls back to muted with a big
// "Turn sound on" button.

import { el, setShown, setText } from './dom.js';
import { LevelMeter } from './levelmeter.js';
import { StageSound } from './sound.js';
import { StageView, showHeard } from './stageview.js';

export class Player {
  #root;
  #view;
  #sound;
  #audioPanel;
  #audioTitle;
  #audioNote;
  #heard;
  #soundOn;
  #mute;
  #volume;
  #audioOnly;
  #fullscreen;
  #meter;
  #caption;
  #playing = false;

  /**
   * Build the player in `container`. `audioOnlyChanged(checked)` when the viewer asks for
   * sound only (or for the picture back); without it there is no "Audio only". `label`
   * names the player for screen readers.
   */
  constructor(container, { audioOnlyChanged = null, label = 'Live stream' } = {}) {
    this.#view = new StageView();
    this.#audioTitle = el('p', { class: 'audio-panel-title' });
    this.#audioNote = el('p', { class: 'audio-panel-note' });
    const meterCanvas = el('canvas', { class: 'level-meter audio-panel-meter', 'aria-hidden': 'true' });
    this.#audioPanel = el('div', { class: 'audio-panel' },
      el('span', { class: 'audio-panel-icon', 'aria-hidden': 'true' }),
      this.#audioTitle, this.#audioNote, meterCanvas);
    this.#meter = new LevelMeter(meterCanvas);
    this.#caption = el('p', { class: 'player-caption', hidden: true });
    this.#heard = el('p', { class: 'stage-heard', hidden: true });
    this.#soundOn = el('button', { type: 'button', class: 'sound-on', onclick: () => this.#turnSoundOn() },
      'Turn sound on');
    this.#mute = el('button', { type: 'button', class: 'player-mute', 'aria-pressed': 'false', onclick: () => this.#toggleMute() },
      'Mute');
    const volumeId = `${container.id || 'player'}-volume`;
    this.#volume = el('input', {
      type: 'range', id: volumeId, class: 'player-volume', min: '0', max: '100', value: '100',
      oninput: () => this.#sound.setVolume(Number(this.#volume.value) / 100),
    });
    this.#audioOnly = audioOnlyChanged === null ? null : el('input', {
      type: 'checkbox', id: 'player-audio-only',
      onchange: () => audioOnlyChanged(this.#audioOnly.checked),
    });
    this.#fullscreen = el('button', { type: 'button', class: 'player-fullscreen', onclick: () => this.#toggleFullscreen() },
      'Full screen');
    const sounds = el('div', { class: 'stage-sounds', hidden: true });
    this.#sound = new StageSound(sounds, { changed: () => this.#showSound() });
    this.#root = el('div', { class: 'player', 'data-mode': 'video', role: 'region', 'aria-label': label },
      el('div', { class: 'player-screen' }, this.#view.root, this.#audioPanel, this.#caption, this.#soundOn),
      this.#heard,
      el('div', { class: 'player-controls' },
        this.#mute,
        el('label', { class: 'player-volume-label', for: volumeId }, 'Volume'), this.#volume,
        this.#audioOnly === null ? null : el('label', { class: 'player-audio-only' }, this.#audioOnly, 'Audio only (saves data)'),
        this.#fullscreen),
      sounds);
    container.replaceChildren(this.#root);
    // Browsers let sound be measured only after a click on the page.
    this.#root.addEventListener('click', () => this.#meter.resume());
    document.addEventListener('fullscreenchange', () => this.#showFullscreen());
    setShown(this.#fullscreen, fullscreenPossible());
    this.#showSound();
  }

  /**
   * Play `connection` (whep.js watchRoom's). `audioOnly`: show the panel with `title` and
   * `note` instead of pictures; `roomAudioOnly`: the room never sends video, so there is no
   * picture to ask for.
   */
  play(connection, { audioOnly, roomAudioOnly, title, note }) {
    this.#playing = true;
    this.#root.dataset.mode = audioOnly ? 'audio' : 'video';
    setText(this.#audioTitle, title);
    setText(this.#audioNote, note);
    if (this.#audioOnly !== null) {
      this.#audioOnly.checked = audioOnly;
      this.#audioOnly.disabled = roomAudioOnly;
      setShown(this.#audioOnly.parentElement, !roomAudioOnly);
    }
    setShown(this.#fullscreen, !audioOnly && fullscreenPossible());
    this.#view.attach(audioOnly ? [] : connection.videoTracks);
    if (audioOnly) this.#meter.attach(new MediaStream(connection.audioTracks));
    else this.#meter.detach();
    this.#sound.play(connection.audioTracks);
  }

  /**
   * Lay out the stage: `arrangement` from stage.js arrangeStage(), `empty` = {big, small}
   * said when no picture is on stage, `heardLabel` before the names of who is only heard.
   */
  stage(arrangement, empty, heardLabel) {
    this.#view.show(arrangement, empty);
    showHeard(this.#heard, heardLabel, arrangement.heard);
  }

  /** A line over the picture (e.g. nobody is sending yet), or null for none. */
  caption(text) {
    setShown(this.#caption, text !== null);
    setText(this.#caption, text ?? '');
  }

  /** Stop showing anything (the stream ended or the room closed). */
  clear() {
    this.#playing = false;
    this.#meter.detach();
    this.#view.detach();
    this.#sound.stop();
    this.#showSound();
    if (document.fullscreenElement === this.#root) document.exitFullscreen().catch(() => {});
  }

  #turnSoundOn() {
    this.#meter.resume();
    this.#sound.turnOn();
    this.#mute.focus();
  }

  #toggleMute() {
    if (this.#sound.muted) this.#turnSoundOn();
    else this.#sound.setMuted(true);
  }

  #showSound() {
    const muted = this.#sound.muted;
    setText(this.#mute, muted ? 'Unmute' : 'Mute');
    this.#mute.setAttribute('aria-pressed', String(muted));
    setShown(this.#soundOn, muted && this.#sound.blocked && this.#playing);
    const value = String(Math.round(this.#sound.volume * 100));
    if (this.#volume.value !== value) this.#volume.value = value;
  }

  #toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    } else if (this.#root.requestFullscreen) {
      this.#root.requestFullscreen().catch(() => {});
    } else {
      // iPhone Safari offers full screen for a video element only: the large picture.
      this.#view.mainVideo()?.webkitEnterFullscreen?.();
    }
  }

  #showFullscreen() {
    setText(this.#fullscreen, document.fullscreenElement === this.#root ? 'Exit full screen' : 'Full screen');
  }
}

function fullscreenPossible() {
  return document.fullscreenEnabled === true
    || typeof HTMLVideoElement.prototype.webkitEnterFullscreen === 'function';
}
