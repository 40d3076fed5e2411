// The sound of the stage: every received audio track plays in an <audio> element of its own
// (the browser mixes them), under one volume and one mute. Browsers refuse to start sound
// without a click; then everything plays muted and `blocked` says so until turnOn().

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

  /** Play `tracks` (replacing any before); resolves once started, or muted when refused. */
  async play(tracks) {
    this.stop();
    this.#tracks = [...tracks];
    this.#players = this.#tracks.map((track) => el('audio', { class: 'stage-audio' }));
    this.#players.forEach((player, index) => {
      player.srcObject = new MediaStream([this.#tracks[index]]);
    });
    this.#container.append(...this.#players);
    this.#apply();
    const players = this.#players;
    if (!this.#muted) {
      const refused = await this.#startAll();
      // A newer play() or stop() took over meanwhile.
      if (this.#players !== players) return;
      if (refused) {
        this.#blocked = true;
        this.#muted = true;
        this.#apply();
      }
    }
    if (this.#muted) await this.#startAll();
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

  /** Start every element; resolves true when the browser refused sound. */
  async #startAll() {
    const players = this.#players;
    const results = await Promise.allSettled(players.map((player) => player.play()));
    return results.some((result) => result.status === 'rejected' && result.reason?.name === 'NotAllowedError');
  }
}
