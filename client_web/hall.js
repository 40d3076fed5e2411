// The hall's return (hall.html, /hall/{room}, technicians): full screen on the Hofburg's
// projector and loudspeakers, the remote panelists on stage, large, with their names and
// their sound, and never the hall's own feed (WHEP ?view=remote). One click starts the sound.

import { byId, setShown, setText } from './dom.js';
import { LinkState, MediaLink } from './medialink.js';
import { lastingRefusal, startRoomPage } from './roompage.js';
import { RoomState } from './roomstate.js';
import { retryLine, retryNotice } from './retrynotice.js';
import { roomStatusText, startCountdown } from './roomstatus.js';
import { StageSound } from './sound.js';
import { arrangeStage, offeredSlots } from './stage.js';
import { StageView } from './stageview.js';
import { explainLater, showWay } from './stopway.js';
import { REMOTE_VIEW, watchRoom } from './whep.js';

const STOPS = Object.freeze({
  noToken: {
    heading: 'This page needs a technician’s access link',
    text: 'Open it from the technician page, or with a link that ends in #token=….',
    next: 'contact',
  },
  invalidToken: {
    heading: 'The access link is not valid or has expired',
    text: 'Open the hall page again from the technician page.',
    next: 'contact',
  },
  forbidden: { heading: 'This access link does not include the hall’s return', next: 'access' },
  unknownRoom: { heading: 'There is no such room', text: 'Check the link.' },
  failed: { heading: 'The remote panelists could not be shown' },
});

const NOBODY = Object.freeze({
  big: 'No remote panelists on stage',
  small: 'They appear here, with their sound, as soon as they are brought on stage.',
});

class HallPage {
  #doc;
  #roomId;
  #token;
  #link;
  #view = new StageView({ fill: true });
  #sound;
  #item = null;
  #items = [];
  #format = null;
  #now = 0;
  #stop = null;
  #linkState = LinkState.IDLE;
  #linkDetail = {};
  // Once someone has clicked, browsers let the page play sound from then on.
  #clicked = false;

  constructor(doc, roomId, token) {
    this.#doc = doc;
    this.#roomId = roomId;
    this.#token = token;
    byId(doc, 'hall-stage').append(this.#view.root);
    this.#sound = new StageSound(byId(doc, 'hall-sounds'), { changed: () => this.#renderSound() });
    this.#link = new MediaLink({
      token,
      open: ({ iceServers, signal }) => watchRoom({
        room: roomId, token, iceServers, signal, view: REMOTE_VIEW,
        offered: offeredSlots(this.#item?.room.slots ?? null, { soundOnly: this.#item?.audioOnly === true }),
      }),
      report: (state, detail) => this.#linkChanged(state, detail),
      retryRefused: (error) => error.code === 'room_not_open' && this.#item?.room.state === RoomState.LIVE,
    });
    byId(doc, 'start-sound').addEventListener('click', () => this.#startSound());
    byId(doc, 'hall-mute').addEventListener('click', () => this.#toggleMute());
    byId(doc, 'hall-volume').addEventListener('input', (event) => this.#sound.setVolume(Number(event.target.value) / 100));
    byId(doc, 'hall-fullscreen').addEventListener('click', () => toggleFullscreen(doc));
    doc.addEventListener('fullscreenchange', () => this.#renderFullscreen());
    setShown(byId(doc, 'hall-fullscreen'), doc.fullscreenEnabled === true);
    if (token === null) this.#stopFor(STOPS.noToken);
    this.#renderSound();
  }

  changed({ item, items, format, now }) {
    this.#item = item;
    this.#items = items;
    this.#format = format;
    this.#now = now;
    if (item === null) {
      this.#stopShowing(STOPS.unknownRoom);
      return;
    }
    this.#sync();
    this.#render();
  }

  tick(now) {
    this.#now = now;
    this.#render();
  }

  tokenRefused() {
    this.#stopShowing(STOPS.invalidToken);
  }

  leave() {
    this.#link.stop({ leaving: true });
  }

  resume() {
    this.#sync();
  }

  /** Connected while the room is open (the lobby too: the hall checks sound before the start). */
  #sync() {
    const state = this.#item?.room.state;
    const wanted = this.#stop === null && (state === RoomState.LIVE || state === RoomState.LOBBY);
    if (wanted) this.#link.start();
    else this.#link.stop({ serverDone: state === RoomState.ENDED });
  }

  #stopShowing(stop) {
    this.#stopFor(stop);
    this.#link.stop();
    this.#render();
  }

  /** Stopped for good, for `stop`'s reason; its next step is filled in once the server says. */
  #stopFor(stop) {
    this.#stop = stop;
    const context = { token: this.#token, page: 'hall', roomId: this.#roomId };
    explainLater(stop, context, () => this.#stop, (explained) => {
      this.#stop = explained;
      this.#render();
    });
  }

  #linkChanged(state, detail) {
    this.#linkState = state;
    this.#linkDetail = detail;
    if (state === LinkState.CONNECTED) {
      this.#view.attach(detail.connection.videoTracks);
      this.#sound.play(detail.connection.audioTracks);
    } else if (state === LinkState.IDLE || state === LinkState.REFUSED) {
      this.#view.detach();
      this.#sound.stop();
    }
    if (state === LinkState.REFUSED) {
      this.#stopFor(lastingRefusal(detail.error, STOPS) ?? { ...STOPS.failed, text: detail.error.message });
    }
    this.#render();
  }

  #startSound() {
    this.#clicked = true;
    this.#sound.turnOn();
    this.#renderSound();
  }

  #toggleMute() {
    if (this.#sound.muted) this.#startSound();
    else this.#sound.setMuted(true);
  }

  #render() {
    const doc = this.#doc;
    const connection = this.#link.connection;
    const showing = this.#stop === null && this.#linkState === LinkState.CONNECTED && connection !== null;
    setShown(byId(doc, 'hall-stage'), showing);
    setShown(byId(doc, 'hall-waiting'), !showing);
    const status = byId(doc, 'media-status');
    status.dataset.state = this.#stop === null ? this.#linkState : 'stopped';
    if (showing) {
      const arrangement = arrangeStage(this.#item?.room.sources ?? null, connection.offered,
        { remoteOnly: true, featureHall: false });
      this.#view.show(arrangement, NOBODY);
      setText(status, arrangement.tiles.length === 0 ? 'Connected' : 'Live');
    } else {
      const { big, small } = this.#waitingText();
      setText(byId(doc, 'waiting-big'), big);
      setText(byId(doc, 'waiting-small'), small);
      setText(status, big);
    }
    showWay(byId(doc, 'waiting-way'), showing ? null : this.#stop, this.#items);
    this.#renderSound();
  }

  /** What the screen says while nothing is shown: {big, small}. */
  #waitingText() {
    const item = this.#item;
    if (this.#stop !== null) return { big: this.#stop.heading, small: this.#stop.text ?? '' };
    if (item === null || this.#format === null) return { big: 'Loading…', small: '' };
    switch (this.#linkState) {
      case LinkState.CONNECTING:
        return { big: 'Connecting…', small: '' };
      case LinkState.RECONNECTING:
        return { big: 'Reconnecting…', small: 'The connection dropped; the panelists come back by themselves.' };
      case LinkState.FULL:
        return { big: retryNotice(this.#linkDetail.error).heading, small: retryLine(this.#linkDetail.retryAt) };
      default:
        return {
          big: startCountdown(item, this.#now) ?? roomStatusText(item, this.#items, this.#now, this.#format),
          small: item.room.state === RoomState.ENDED ? '' : 'The remote panelists appear here once the room opens.',
        };
    }
  }

  #renderSound() {
    const doc = this.#doc;
    const muted = this.#sound.muted;
    const mute = byId(doc, 'hall-mute');
    setText(mute, muted ? 'Unmute' : 'Mute');
    mute.setAttribute('aria-pressed', String(muted));
    const volume = byId(doc, 'hall-volume');
    const value = String(Math.round(this.#sound.volume * 100));
    if (volume.value !== value) volume.value = value;
    const needsClick = this.#stop === null && (this.#sound.blocked || (!this.#clicked && !this.#sound.playing));
    setShown(byId(doc, 'start-sound'), needsClick);
  }

  #renderFullscreen() {
    setText(byId(this.#doc, 'hall-fullscreen'), this.#doc.fullscreenElement ? 'Exit full screen' : 'Full screen');
  }
}

function toggleFullscreen(doc) {
  if (doc.fullscreenElement) doc.exitFullscreen().catch(() => {});
  else doc.documentElement.requestFullscreen?.().catch(() => {});
}

startRoomPage('Hall', (doc, roomId, token) => new HallPage(doc, roomId, token));
