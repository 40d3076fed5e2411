// The speaker's return on the speak page: while on air, backstage or on stage, the others on
// stage seen and heard over a WHEP session of the speaker's own, laid out as on the watch page.
// The server never sends a session its own subject's media, so the speaker's slot stays empty.

import { byId, setShown, setText } from './dom.js';
import { LinkState, MediaLink } from './medialink.js';
import { Player } from './player.js';
import { retryNotice } from './retrynotice.js';
import { arrangeStage, offeredSlots } from './stage.js';
import { emptyStageWords, heardLabel } from './stagewords.js';
import { watchRoom } from './whep.js';

export class StageReturn {
  #doc;
  #link;
  #player;
  #state = LinkState.IDLE;
  #detail = {};
  #item = null;
  #ownId = null;
  #onAir = false;

  /** `mayConnect()`: whether a refusal for a room not open yet is worth asking again. */
  constructor(doc, roomId, token, { mayConnect }) {
    this.#doc = doc;
    this.#player = new Player(byId(doc, 'return-player'), { label: 'The stage, as the audience sees and hears it' });
    this.#link = new MediaLink({
      token,
      open: ({ iceServers, signal }) => watchRoom({
        room: roomId, token, iceServers, signal, offered: offeredSlots(this.#item?.room.slots ?? null),
      }),
      report: (state, detail) => this.#changed(state, detail),
      retryRefused: (error) => error.code === 'room_not_open' && mayConnect(),
    });
  }

  start() {
    this.#link.start();
  }

  /** As MediaLink.stop(): `leaving` the page, or `serverDone` when the room has ended. */
  stop(options) {
    this.#link.stop(options);
  }

  /**
   * Show `item`'s stage, leaving out `ownId` (the speaker's own source, when known); nothing
   * at all unless the speaker is `onAir`.
   */
  show(item, ownId, onAir) {
    this.#item = item;
    this.#ownId = ownId;
    this.#onAir = onAir;
    this.#render();
  }

  #render() {
    const doc = this.#doc;
    const connection = this.#link.connection;
    const showing = this.#state === LinkState.CONNECTED && connection !== null;
    setShown(byId(doc, 'return-area'), this.#onAir);
    setShown(byId(doc, 'return-player'), showing);
    setShown(byId(doc, 'return-status'), !showing);
    setText(byId(doc, 'return-status'), this.#statusText());
    if (!showing) return;
    const arrangement = arrangeStage(this.#item?.room.sources ?? null, connection.offered, { without: this.#ownId });
    this.#player.stage(arrangement, emptyStageWords(arrangement, 'Nobody else is on stage yet'),
      heardLabel(arrangement, { soundOnly: connection.offered.video === 0 }));
  }

  #changed(state, detail) {
    this.#state = state;
    this.#detail = detail;
    if (state === LinkState.CONNECTED) {
      this.#player.play(detail.connection, {
        audioOnly: detail.connection.offered.video === 0,
        roomAudioOnly: this.#item?.audioOnly === true,
        title: 'The stage',
        note: 'You hear the others on stage; the audience hears you with them once you are on stage.',
      });
    } else if (state === LinkState.IDLE || state === LinkState.REFUSED) {
      this.#player.clear();
    }
    this.#render();
  }

  #statusText() {
    switch (this.#state) {
      case LinkState.CONNECTED:
        return '';
      case LinkState.RECONNECTING:
        return 'The stage comes back by itself…';
      case LinkState.FULL:
        return `${retryNotice(this.#detail.error).heading} — trying again by itself`;
      case LinkState.REFUSED:
        return `The stage cannot be shown here: ${this.#detail.error.message}`;
      default:
        return 'Connecting to the stage…';
    }
  }
}
