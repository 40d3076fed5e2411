// Where a watch page leads once its item has ended: the next item with its time and
// countdown, and, when the access link covers it, the page moves there by itself as soon as
// its room opens. What the link covers comes from GET /api/me; the server still decides.

import { el, setShown, setText } from './dom.js';
import { coversRoom } from './joinnow.js';
import { fetchMe } from './registrationapi.js';
import { RoomState, countdown } from './roomstate.js';

/** What an access link may watch: its permissions and rooms, as GET /api/me says. */
export class RoomAccess {
  #rooms;
  #watches;

  constructor(rooms, watches) {
    this.#rooms = rooms;
    this.#watches = watches;
  }

  /** Not known (yet, or the server could not say): nothing is taken as covered. */
  static unknown() {
    return new RoomAccess(null, false);
  }

  /** Ask the server; unknown when it does not answer. */
  static async of(token) {
    try {
      const me = await fetchMe(token);
      const rooms = Array.isArray(me.rooms) ? me.rooms.map(String) : [];
      const permissions = Array.isArray(me.permissions) ? me.permissions : [];
      return new RoomAccess(rooms, permissions.includes('watch'));
    } catch {
      return RoomAccess.unknown();
    }
  }

  get known() {
    return this.#rooms !== null;
  }

  covers(roomId) {
    return this.#watches && coversRoom(this.#rooms, roomId);
  }
}

/** The sentence under "This item has ended": whether the page moves on to `next`, and if not, why. */
export function leadOn(next, access) {
  if (!access.known) return '';
  if (!access.covers(next.room.id)) {
    return 'Your access link does not include the next item. Ask the organizers for a link that does; the agenda shows when it is on.';
  }
  return isOpen(next.room) ? 'Moving on to the next item…' : 'This page moves on to it by itself when its room opens.';
}

/** The "Next: …" line of an ended room's stage, and the move to that room. */
export class NextRoom {
  #line;
  #move;
  #countdown = el('span', { class: 'waiting-next-countdown' });
  #moved = false;

  /** `line`: the element to fill; `move(roomId)` takes the page to that room. */
  constructor(line, move) {
    this.#line = line;
    this.#move = move;
  }

  /** Show `next` (or nothing, when null) at agenda time `now`; move when `access` covers it and it is open. */
  show(next, { now, times, access }) {
    setShown(this.#line, next !== null);
    if (next === null) return;
    const at = next.room.state === RoomState.LIVE ? 'live now' : times.when(next.room.startsAt ?? next.startsAt, now);
    // Rebuilt only when it changes, so the link keeps keyboard focus.
    if (this.#line.dataset.shows !== `${next.id} ${at}`) {
      this.#line.dataset.shows = `${next.id} ${at}`;
      this.#line.replaceChildren('Next: ',
        el('a', { href: `/watch/${encodeURIComponent(next.room.id)}` }, next.title), `, ${at} `, this.#countdown);
    }
    const left = next.room.state === RoomState.LIVE ? null : countdown(next.room, now);
    setText(this.#countdown, left === null ? '' : `(${left})`);
    if (!this.#moved && access.covers(next.room.id) && isOpen(next.room)) {
      this.#moved = true;
      this.#move(next.room.id);
    }
  }
}

function isOpen(room) {
  return room.state === RoomState.LOBBY || room.state === RoomState.LIVE;
}
