// "On now" and "Up next" at the top of the agenda: rebuilt only when what is on or next
// changes, with its countdowns moved every tick.

import { formatDuration } from './clock.js';
import { el, setText } from './dom.js';
import { countdown, stateBadge } from './roomstate.js';
import { itemsOnNow, nextItem } from './timetable.js';

export class SummaryView {
  #onNow;
  #upNext;
  #format;
  #key = '';
  #timers = [];

  /** `format` writes times for the reader (a ReaderTime: both zones, labelled). */
  constructor({ onNow, upNext }, format) {
    this.#onNow = onNow;
    this.#upNext = upNext;
    this.#format = format;
  }

  /** Show what is on and next among `items` at agenda time `now`. */
  show(items, now) {
    const current = itemsOnNow(items, now);
    const next = nextItem(items, now);
    const key = JSON.stringify([current.map(signature), next && signature(next)]);
    if (key !== this.#key) {
      this.#key = key;
      this.#timers = [];
      this.#onNow.replaceChildren(...this.#currentEntries(current, items));
      this.#upNext.replaceChildren(this.#nextEntry(next));
    }
    for (const timer of this.#timers) setText(timer.node, timer.text(now));
  }

  #currentEntries(current, items) {
    if (current.length > 0) return current.map((item) => this.#entry(item, 'now'));
    const over = items.length > 0 && items.every((item) => (item.room ? item.room.state === 'ended' : true));
    return [el('p', { class: 'summary-empty' }, over
      ? 'The conference has ended. Thank you for joining.'
      : 'Nothing is live at the moment.')];
  }

  #nextEntry(next) {
    if (next === null) return el('p', { class: 'summary-empty' }, 'Nothing more on the agenda.');
    return this.#entry(next, 'next');
  }

  #entry(item, role) {
    const room = item.room;
    const timer = el('span', { class: 'countdown' });
    this.#timers.push({ node: timer, text: (now) => entryCountdown(item, role, now) });
    const badge = room ? stateBadge(room, this.#format) : null;
    return el('div', { class: 'summary-entry' },
      el('p', { class: 'summary-title' },
        el('a', { href: `#item-${item.id}` }, item.title)),
      el('p', { class: 'summary-meta' },
        badge ? el('span', { class: `badge badge-${badge.tone}` }, badge.text) : null, ' ',
        el('span', { class: 'summary-time' },
          this.#format.range(item.startsAt, item.endsAt)), ' ',
        timer));
  }
}

function signature(item) {
  return [item.id, item.room?.state ?? null, item.startsAt, item.endsAt];
}

function entryCountdown(item, role, now) {
  if (item.room) return countdown(item.room, now) ?? '';
  const target = role === 'now' ? item.endsAt : item.startsAt;
  const left = target - now;
  if (left <= 0) return '';
  return `${role === 'now' ? 'ends' : 'starts'} in ${formatDuration(left)}`;
}
