// The watch page (watch.html, /watch/{room}): the item's state and countdown, and its stage
// once the room is live (or in the lobby, for those the server lets in early): every picture
// on stage in a tile of its own, the hall's large, and every voice. It connects by itself when
// the room goes live, reconnects after a network drop, and lets go at the end. Beside the
// stage (below it on a phone), the audience's questions (questionpanel.js). When the item
// ends it leads on: the next item with its countdown, and the page moves there by itself once
// that room opens, if the access link covers it (nextroom.js).

import { wayIn } from './contact.js';
import { byId, el, setShown, setText } from './dom.js';
import { LinkState, MediaLink } from './medialink.js';
import { NextRoom, RoomAccess, leadOn } from './nextroom.js';
import { Player } from './player.js';
import { QuestionPanel } from './questionpanel.js';
import { fetchMe, fetchPolicy } from './registrationapi.js';
import { lastingRefusal, startRoomPage } from './roompage.js';
import { RoomState } from './roomstate.js';
import { retryLine, retryNotice } from './retrynotice.js';
import { nextSession, roomStatusText, startCountdown } from './roomstatus.js';
import { arrangeStage, offeredSlots } from './stage.js';
import { emptyStageWords, heardLabel } from './stagewords.js';
import { coveredRooms, roomLinks } from './stopway.js';
import { watchRoom } from './whep.js';

// When a room goes live, every open page connects within this long of the news.
const GO_LIVE_SPREAD_MS = 1500;

// Why the page does not try to watch, with what it says about it.
const STOPS = Object.freeze({
  noToken: {
    heading: 'This page needs your access link',
    text: 'Open it with the personal link you received by e-mail (it ends in #token=…).',
    wayIn: true,
  },
  invalidToken: {
    heading: 'Your access link is not valid or has expired',
    text: 'You can have your link sent again, and you can still follow the agenda.',
    wayIn: true,
  },
  forbidden: {
    heading: 'Your link is for other rooms',
    text: 'Your personal link opens only the rooms it was made for.',
    otherRooms: true,
  },
  unknownRoom: { heading: 'There is no such room', text: 'Check the link, or pick an item from the agenda.' },
  failed: { heading: 'The stream could not be started', retry: true },
});

class WatchPage {
  #doc;
  #player;
  #link;
  #item = null;
  #items = [];
  #times = null;
  #now = 0;
  #stop = null;
  #lobbyRefused = false;
  #soundOnly = false;
  // Between "Audio only" being ticked or unticked and the new session coming up.
  #switching = false;
  #linkState = LinkState.IDLE;
  #linkDetail = {};
  #questions;
  #access = RoomAccess.unknown();
  #nextRoom;
  #description = null;
  #token;
  #policy = null; // the registration policy, fetched for a page without a working link
  #myRooms = null; // the rooms the link covers, fetched once it is refused this one

  constructor(doc, roomId, token, follower) {
    this.#doc = doc;
    this.#nextRoom = new NextRoom(byId(doc, 'waiting-next'),
      (room) => window.location.replace(`/watch/${encodeURIComponent(room)}`));
    if (token !== null) {
      RoomAccess.of(token).then((access) => {
        this.#access = access;
        this.#render();
      });
    }
    this.#questions = new QuestionPanel(doc, roomId, token, follower);
    this.#player = new Player(byId(doc, 'player'), {
      audioOnlyChanged: (checked) => this.#chooseSoundOnly(checked),
    });
    this.#link = new MediaLink({
      token,
      open: ({ iceServers, signal }) => watchRoom({
        room: roomId, token, iceServers, signal,
        offered: offeredSlots(this.#item?.room.slots ?? null, { soundOnly: this.#audioOnly() }),
      }),
      report: (state, detail) => this.#linkChanged(state, detail),
      // The room_state "live" can reach us a moment before the media relay opens the room.
      retryRefused: (error) => error.code === 'room_not_open' && this.#item?.room.state === RoomState.LIVE,
    });
    byId(doc, 'retry').addEventListener('click', () => this.#retry());
    this.#token = token;
    if (token === null) this.#stopFor(STOPS.noToken);
  }

  changed({ event, item, items, times, previous, now }) {
    setText(byId(this.#doc, 'event-name'), event.name);
    this.#questions.changed({ item });
    this.#items = items;
    this.#times = times;
    this.#now = now;
    this.#item = item;
    if (item === null) {
      this.#stopWatching(STOPS.unknownRoom);
      return;
    }
    this.#showDescription(item);
    const changedState = previous !== null && previous !== item.room.state;
    if (changedState) this.#lobbyRefused = false;
    this.#sync({ spreadMs: changedState ? GO_LIVE_SPREAD_MS : 0 });
    this.#render();
  }

  tick(now) {
    this.#now = now;
    this.#render();
  }

  tokenRefused() {
    this.#questions.tokenRefused();
    this.#stopWatching(STOPS.invalidToken);
  }

  linkStatus(status) {
    this.#questions.linkStatus(status);
  }

  question(body) {
    this.#questions.question(body);
  }

  /** The page goes away (or into the back/forward cache): end the session at once. */
  leave() {
    this.#link.stop({ leaving: true });
  }

  /** The page came back from the back/forward cache. */
  resume() {
    this.#sync();
  }

  /** Watch when the room is live, and try in the lobby (the server decides who may). */
  #sync({ spreadMs = 0 } = {}) {
    const state = this.#item?.room.state;
    const wanted = this.#stop === null
      && (state === RoomState.LIVE || (state === RoomState.LOBBY && !this.#lobbyRefused));
    if (wanted) this.#link.start({ spreadMs });
    else this.#link.stop({ serverDone: state === RoomState.ENDED });
  }

  #audioOnly() {
    return this.#item?.audioOnly === true || this.#soundOnly;
  }

  #chooseSoundOnly(checked) {
    this.#soundOnly = checked;
    this.#switching = this.#link.wanted;
    this.#link.restart();
  }

  #retry() {
    this.#stop = null;
    this.#sync();
    this.#render();
    // The button has gone: keep the keyboard where the news will appear.
    byId(this.#doc, 'stage').focus();
  }

  #stopWatching(stop) {
    this.#stopFor(stop);
    this.#link.stop();
    this.#render();
  }

  /** Stopped for good, for `stop`'s reason; the link is stopped by whoever calls. */
  #stopFor(stop) {
    this.#stop = stop;
    this.#learnWayOut(stop);
  }

  /** What the stop's next steps need to know: the policy, or the rooms the link covers. */
  async #learnWayOut(stop) {
    try {
      if (stop.wayIn && this.#policy === null) this.#policy = await fetchPolicy();
      if (stop.otherRooms && this.#myRooms === null && this.#token !== null) {
        const me = await fetchMe(this.#token);
        this.#myRooms = Array.isArray(me.rooms) ? me.rooms : [];
      }
    } catch {
      return; // the words alone still say what happened
    }
    this.#render();
  }

  /** The stop's next steps, as nodes: register or ask again, or the rooms the link opens. */
  #wayOut(stop) {
    if (stop.wayIn && this.#policy !== null) return wayIn(this.#policy);
    if (!stop.otherRooms || this.#myRooms === null) return [];
    return roomLinks('watch', coveredRooms(this.#myRooms, this.#items));
  }

  #renderWayOut() {
    const node = byId(this.#doc, 'waiting-actions');
    const stop = this.#stop;
    const key = stop === null ? '' : `${stop.heading}|${this.#policy !== null}|${this.#myRooms}|${this.#items.length}`;
    if (node.dataset.shows === key) return;
    node.dataset.shows = key;
    node.replaceChildren(...(stop === null ? [] : this.#wayOut(stop)));
    setShown(node, node.childElementCount > 0);
  }

  #linkChanged(state, detail) {
    this.#linkState = state;
    this.#linkDetail = detail;
    if (state !== LinkState.CONNECTING) this.#switching = false;
    if (state === LinkState.CONNECTED) {
      this.#play(detail.connection);
    } else if (state === LinkState.IDLE) {
      this.#player.clear();
    } else if (state === LinkState.REFUSED) {
      this.#refused(detail.error);
    }
    this.#render();
  }

  #play(connection) {
    const item = this.#item;
    this.#player.play(connection, {
      audioOnly: connection.offered.video === 0,
      roomAudioOnly: item.audioOnly,
      title: item.title,
      note: soundOnlyNote(item),
    });
  }

  #refused(error) {
    this.#player.clear();
    const lasting = lastingRefusal(error, STOPS);
    if (error.status === 403) {
      this.#stopFor(STOPS.forbidden); // the server's words name room ids, not rooms
    } else if (lasting !== null) {
      this.#stopFor(lasting);
    } else if (error.code === 'room_not_open') {
      // Not open to us yet (attendees wait for "live") or not any more: the room state says which.
      this.#lobbyRefused = this.#item?.room.state === RoomState.LOBBY;
    } else {
      this.#stop = { ...STOPS.failed, text: error.message };
    }
  }

  #render() {
    // While switching to or from sound only, the player (and the focus in it) stays put.
    const playing = this.#stop === null && (this.#linkState === LinkState.CONNECTED || this.#switching);
    const status = byId(this.#doc, 'media-status');
    setText(status, this.#statusText());
    status.dataset.state = this.#stop === null ? this.#linkState : 'stopped';
    setShown(byId(this.#doc, 'player'), playing);
    setShown(byId(this.#doc, 'waiting'), !playing);
    if (playing) this.#renderStage();
    else this.#renderWaiting();
  }

  #renderStage() {
    const connection = this.#link.connection;
    if (connection === null) return;
    const arrangement = this.#arrangement(connection);
    const nobody = this.#nobodySending();
    // The programme's one picture, before the server has said who is on stage.
    this.#player.caption(nobody && arrangement.tiles.length > 0 ? 'Waiting for the speaker…' : null);
    this.#player.stage(arrangement, emptyStageWords(arrangement, 'Waiting for the speaker…'),
      heardLabel(arrangement, { soundOnly: connection.offered.video === 0 }));
  }

  #arrangement(connection) {
    return arrangeStage(this.#item?.room.sources ?? null, connection.offered);
  }

  /** The room is open but nobody is on its stage (between speakers, or before the first). */
  #nobodySending() {
    const connection = this.#link.connection;
    if (this.#linkState !== LinkState.CONNECTED || connection === null) return false;
    const onStage = this.#arrangement(connection).onStage;
    return onStage === null ? this.#item?.room.publishers === 0 : onStage === 0;
  }

  #statusText() {
    if (this.#stop !== null) return this.#stop.heading;
    const item = this.#item;
    switch (this.#linkState) {
      case LinkState.CONNECTING:
        if (this.#switching) return this.#soundOnly ? 'Switching to sound only…' : 'Switching the picture on…';
        return 'Connecting…';
      case LinkState.CONNECTED:
        if (this.#nobodySending()) return 'Connected — waiting for the speaker';
        return item?.room.state === RoomState.LOBBY ? 'Live — lobby preview, not public yet' : 'Live';
      case LinkState.RECONNECTING:
        return 'Reconnecting…';
      case LinkState.FULL:
        // Read out by screen readers (aria-live): no countdown here, the stage shows it.
        return `${retryNotice(this.#linkDetail.error).heading} — this page keeps trying`;
      default:
        return item === null || this.#times === null ? 'Loading…' : roomStatusText(item, this.#items, this.#now, this.#times);
    }
  }

  #renderWaiting() {
    const { big, small, next } = this.#waitingText();
    setText(byId(this.#doc, 'waiting-big'), big);
    setText(byId(this.#doc, 'waiting-small'), small);
    setShown(byId(this.#doc, 'retry'), this.#stop?.retry === true);
    this.#renderWayOut();
    this.#nextRoom.show(next, { now: this.#now, times: this.#times, access: this.#access });
  }

  /** The item's description from the agenda, folded, as on the agenda's card. */
  #showDescription(item) {
    const about = byId(this.#doc, 'item-about');
    if (this.#description === item.description) return;
    this.#description = item.description;
    setShown(about, item.description !== '');
    setText(byId(this.#doc, 'item-about-label'), item.kind === 'panel' ? 'About this panel' : 'About this item');
    byId(this.#doc, 'item-description').replaceChildren(
      ...item.description.split(/\n\s*\n/).filter(Boolean).map((paragraph) => el('p', {}, paragraph)));
  }

  /** What the stage says while there is no picture: {big, small, next}. */
  #waitingText() {
    const item = this.#item;
    if (this.#stop !== null) return { big: this.#stop.heading, small: this.#stop.text ?? '', next: null };
    if (item === null) return { big: 'Loading…', small: '', next: null };
    switch (this.#linkState) {
      case LinkState.CONNECTING:
        return { big: 'Connecting…', small: '', next: null };
      case LinkState.RECONNECTING:
        return { big: 'Reconnecting…', small: 'The connection dropped; the stream comes back by itself.', next: null };
      case LinkState.FULL: {
        const { heading, reason } = retryNotice(this.#linkDetail.error);
        const small = [reason, retryLine(this.#linkDetail.retryAt)].filter(Boolean).join(' ');
        return { big: heading, small, next: null };
      }
      default:
        return this.#roomText(item);
    }
  }

  #roomText(item) {
    const room = item.room;
    if (room.state === RoomState.ENDED) {
      const next = nextSession(this.#items, item);
      return {
        big: 'This item has ended',
        small: next === null ? 'That was the last item. Thank you for joining.' : leadOn(next, this.#access),
        next,
      };
    }
    if (room.state === RoomState.LIVE) return { big: 'Live now', small: '', next: null };
    const notes = [];
    if (room.state === RoomState.LOBBY) notes.push('The stream starts when the item goes live; this page connects by itself.');
    if (item.audioOnly) notes.push(soundOnlyNote(item));
    return { big: startCountdown(item, this.#now) ?? 'Starting shortly', small: notes.join(' '), next: null };
  }
}

function soundOnlyNote(item) {
  if (item.audioOnly) {
    return item.recorded
      ? 'Audio only — this item is not shown on video'
      : 'Audio only — this statement is not shown on video and is never recorded';
  }
  return 'Audio only — the picture is off to save data. Untick “Audio only” to see it again.';
}

startRoomPage('Watch', (doc, roomId, token, follower) => new WatchPage(doc, roomId, token, follower));
