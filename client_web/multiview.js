// The multiview on the technician page: every live room's picture at thumbnail size, as its
// plain players get it (the active speaker's, or the hall's), decoded by the browser. Off until
// the technician turns it on: each picture is the room's full stream (the stage offers no
// smaller one), so nine rooms are nine full-rate pictures to receive and decode.

import { el, setShown, setText } from './dom.js';
import { LinkState, MediaLink } from './medialink.js';
import { RoomState } from './roomstate.js';
import { watchRoom } from './whep.js';

const STATE_WORDS = Object.freeze({
  [LinkState.CONNECTING]: 'connecting…',
  [LinkState.RECONNECTING]: 'reconnecting…',
  [LinkState.FULL]: 'the server is full; trying again',
  [LinkState.REFUSED]: 'refused',
  [LinkState.IDLE]: '',
});

class Thumbnail {
  #video = el('video', { muted: true, playsinline: true, autoplay: true });
  #state = el('span', { class: 'thumb-state' });
  #link;

  constructor(item, token) {
    this.#video.muted = true;
    this.root = el('li', { class: 'thumb', 'data-room': item.room.id },
      el('span', { class: 'thumb-title' }, item.title), this.#video, this.#state);
    this.#link = new MediaLink({
      token,
      // A picture only: no sound to mix or play on a page that watches every room at once.
      open: ({ iceServers, signal }) => watchRoom({
        room: item.room.id, token, iceServers, offered: { audio: 0, video: 1 }, signal,
      }),
      report: (state, detail) => this.#report(state, detail),
    });
    this.#link.start();
  }

  stop() {
    this.#link.stop({ leaving: true });
    this.#video.srcObject = null;
    this.root.remove();
  }

  #report(state, detail) {
    this.root.dataset.state = state;
    if (state === LinkState.CONNECTED) {
      this.#video.srcObject = new MediaStream(detail.connection.videoTracks);
      this.#video.play().catch(() => {}); // muted: browsers allow it; if not, the tile stays still
      setText(this.#state, '');
    } else {
      setText(this.#state, STATE_WORDS[state] ?? '');
    }
  }
}

export class Multiview {
  #token;
  #on = false;
  #toggle;
  #list;
  #empty;
  #thumbs = new Map();
  #live = [];

  constructor(container, token) {
    this.#token = token;
    this.#toggle = el('button', {
      type: 'button', class: 'multiview-toggle', 'aria-pressed': 'false',
      onclick: () => this.#switch(!this.#on),
    }, 'Show the pictures');
    this.#list = el('ul', { class: 'thumbs' });
    this.#empty = el('p', { class: 'thumbs-empty' }, 'No room with pictures is live.');
    container.replaceChildren(
      el('div', { class: 'multiview-head' },
        el('h2', { class: 'panel-heading', id: 'multiview-heading' }, 'Live rooms'), this.#toggle),
      this.#list, this.#empty);
    this.#render();
  }

  /** The rooms' items as they stand: a tile for each live room with pictures while on. */
  show(items) {
    this.#live = items.filter((item) => item.room.state === RoomState.LIVE && !item.audioOnly);
    this.#render();
  }

  #switch(on) {
    this.#on = on;
    this.#toggle.setAttribute('aria-pressed', String(on));
    setText(this.#toggle, on ? 'Hide the pictures' : 'Show the pictures');
    this.#render();
  }

  #render() {
    const wanted = this.#on ? this.#live : [];
    const ids = new Set(wanted.map((item) => item.room.id));
    for (const [id, thumb] of this.#thumbs) {
      if (!ids.has(id)) {
        thumb.stop();
        this.#thumbs.delete(id);
      }
    }
    for (const item of wanted) {
      if (!this.#thumbs.has(item.room.id)) {
        const thumb = new Thumbnail(item, this.#token);
        this.#thumbs.set(item.room.id, thumb);
        this.#list.append(thumb.root);
      }
    }
    setShown(this.#list, this.#on && wanted.length > 0);
    setShown(this.#empty, this.#live.length === 0);
  }
}
