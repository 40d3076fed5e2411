// What a signed-in attendee is offered in the bar at the top of the agenda: "Join now" for the
// item that is live in a room their link covers (one click to the room), or "Next: … at …" for
// the next such item. Pure choice (`joinTarget`) apart from the view that shows it.

import { el } from './dom.js';
import { RoomState } from './roomstate.js';

/** Whether a link's `rooms` (from /api/me: room ids, or ["*"]) covers a room. */
export function coversRoom(rooms, roomId) {
  return Array.isArray(rooms) && (rooms.includes('*') || rooms.includes(roomId));
}

/**
 * {live: true, item} for the item live now in a covered room (the one started last, if two
 * are), else {live: false, item} for the next covered item not ended, else null.
 */
export function joinTarget(items, rooms) {
  const covered = items.filter((item) => item.room !== null && coversRoom(rooms, item.room.id));
  const live = covered.filter((item) => item.room.state === RoomState.LIVE);
  if (live.length > 0) {
    return { live: true, item: live.reduce((a, b) => (b.startsAt > a.startsAt ? b : a)) };
  }
  const coming = covered.filter((item) => item.room.state !== RoomState.ENDED);
  coming.sort((a, b) => a.startsAt - b.startsAt);
  return coming.length > 0 ? { live: false, item: coming[0] } : null;
}

export function watchPath(item) {
  return `/watch/${encodeURIComponent(item.room.id)}`;
}

export class JoinNowView {
  #node;
  #times;
  #key = '';

  /** `times`: the reader's times (ReaderTime): the event's zone, labelled, and the reader's. */
  constructor(node, times) {
    this.#node = node;
    this.#times = times;
  }

  /** Rebuilt only when what it says changes, so a focused link keeps the focus. */
  show(items, rooms, now) {
    const target = rooms === null ? null : joinTarget(items, rooms);
    const at = target && !target.live ? this.#times.when(target.item.startsAt, now) : '';
    const key = target === null ? 'none' : `${target.live} ${target.item.id} ${at}`;
    if (key === this.#key) return;
    this.#key = key;
    this.#node.hidden = target === null;
    if (target === null) {
      this.#node.replaceChildren();
    } else if (target.live) {
      this.#node.replaceChildren(
        el('a', { class: 'action-link primary join-now', id: 'join-now', href: watchPath(target.item) },
          'Join now'),
        ' ', el('span', { class: 'join-title' }, target.item.title, ' is live'));
    } else {
      this.#node.replaceChildren(
        el('span', { class: 'join-next', id: 'join-next' }, 'Next: ',
          el('a', { href: watchPath(target.item) }, target.item.title),
          ` at ${at}`));
    }
  }
}
