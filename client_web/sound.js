// The sound of the stage: every received audio track plays in an <audio> element of its own
// (the browser mixes them), under one volume and one mute. Browsers refuse to start sound
// without a click; then everything is muted and `blocked` says so until turnOn().

import { el } from './dom.js';

export class StageSound {
  #container;
  #changed;
  #players = [];
  #tracks = [];
  #volume = 1;
  #muted = false;
  #blocked = false;

  /** `container` holds the (invisible) elements; `changed()` after every change of state. */
  constructor(container, { changed = () => {} } = {}) {
    this.#container = container;
    this.#changed = changed;
  }

  get muted() {
    return this.#muted;
  }

  get volume() {
    return this.#volume;
  }

  /** The browser refused sound without a click (as opposed to the listener muting it). */
  get blocked() {
    return this.#blocked;
  }

  get playing() {
    return this.#players.length > 0;
  }

  /** The tracks now playing, for a level meter. */
  get tracks() {
    return this.#tracks;
  }

  /** Play `tracks` (replacing any before): with sound, or muted when the browser refuses it. */
  play(tracks) {
    this.stop();
    this.#tracks = [...tracks];
    this.#players = this.#tracks.map((track) => {
      const player = el('audio', { class: 'stage-audio' });
      player.srcObject = new MediaStream([track]);
      return player;
    });
    this.#container.append(...this.#players);
    this.#apply();
    this.#startAll();
    this.#changed();
  }

  /** Sound on, from a click (which is what lets the browser start it). */
  turnOn() {
    this.#blocked = false;
    this.#muted = false;
    this.#apply();
    this.#startAll();
    this.#changed();
  }

  setMuted(muted) {
    if (!muted) {
      this.turnOn();
      return;
    }
    this.#muted = true;
    this.#apply();
    this.#changed();
  }

  /** `volume` from 0 to 1; raising it unmutes. */
  setVolume(volume) {
    this.#volume = Math.max(0, Math.min(1, volume));
    if (this.#volume > 0 && this.#muted) this.turnOn();
    else this.#apply();
    this.#changed();
  }

  stop() {
    for (const player of this.#players) {
      player.srcObject = null;
      player.remove();
    }
    this.#players = [];
    this.#tracks = [];
  }

  #apply() {
    for (const player of this.#players) {
      player.muted = this.#muted;
      player.volume = this.#volume;
    }
  }

  /**
   * Start every element. A slot nobody sends on never starts playing, so nothing waits for
   * that; a refusal of sound comes at once, and then everything waits, muted, for turnOn().
   */
  #startAll() {
    const players = this.#players;
    for (const player of players) {
      player.play().catch((error) => {
        if (error?.name !== 'NotAllowedError' || this.#players !== players || player.muted) return;
        this.#blocked = true;
        this.#muted = true;
        this.#apply();
        this.#changed();
      });
    }
  }
}
