// The public agenda, day by day: one view per item, built once and updated in place when
// the running order or a room's state changes, so open panel descriptions stay open and
// nothing jumps under the reader's eyes.

import { ReaderTime, dayHeading } from './clock.js';
import { el, setShown, setText } from './dom.js';
import { countdown, stateBadge } from './roomstate.js';
import { groupByDay, isMoved, kindLabel, sameRunningOrder } from './timetable.js';

// What the link to a room's page says while it is open; closed rooms have none.
const WATCH_LABELS = { lobby: 'Open the room', live: 'Watch now' };

// Countdowns further away than this would only be noise on a public page.
const COUNTDOWN_HORIZON_MS = 12 * 60 * 60 * 1000;

export class AgendaView {
  #container;
  #format;
  #localFormat;
  #items = [];
  #views = new Map();

  /** `format` writes event-zone times; `localFormat` the reader's own, or null if the same zone. */
  constructor(container, format, localFormat) {
    this.#container = container;
    this.#format = format;
    this.#localFormat = localFormat;
  }

  /** Show `items`, rebuilding only when the list of items itself changed. */
  show(items) {
    if (!sameRunningOrder(this.#items, items)) this.#build(items);
    for (const item of items) this.#views.get(item.id).update(item);
    this.#items = items;
  }

  /** Move the countdowns to agenda time `now`. */
  tick(now) {
    for (const view of this.#views.values()) view.tick(now);
  }

  #build(items) {
    this.#views.clear();
    const days = groupByDay(items).map((day, index) => this.#buildDay(day, index));
    this.#container.replaceChildren(...days);
  }

  #buildDay(day, index) {
    const headingId = `day-${day.day}`;
    const list = el('ol', { class: 'items' });
    for (const item of day.items) {
      const view = new ItemView(item, this.#format, this.#localFormat);
      this.#views.set(item.id, view);
      list.append(view.root);
    }
    return el('section', { class: 'day', 'aria-labelledby': headingId },
      el('h2', { id: headingId, class: 'day-heading' },
        el('span', { class: 'day-number' }, `Day ${index + 1}`), ' ',
        el('span', { class: 'day-date' }, dayHeading(day.day))),
      list);
  }
}

class ItemView {
  #format;
  #localFormat;
  #reader;
  #item;
  #times;
  #local;
  #moved;
  #title;
  #badge;
  #countdown;
  #watch;
  #calendar;

  constructor(item, format, localFormat) {
    this.#format = format;
    this.#localFormat = localFormat;
    this.#reader = new ReaderTime(format, localFormat);
    this.#times = el('span', { class: 'time-range' });
    this.#local = el('span', { class: 'time-local' });
    this.#moved = el('span', { class: 'time-moved' });
    this.#title = el('h3', { class: 'item-title' });
    this.#badge = el('span', { class: 'badge' });
    this.#countdown = el('span', { class: 'countdown' });
    this.#watch = el('a', { class: 'watch-link' });
    this.#calendar = el('a', {
      class: 'calendar-link',
      type: 'text/calendar',
      href: `/api/agenda/${encodeURIComponent(item.id)}.ics`,
    }, 'Add to calendar');
    this.root = item.kind === 'break' ? this.#buildBreak(item) : this.#buildSession(item);
  }

  update(item) {
    this.#item = item;
    setText(this.#title, item.title);
    this.#calendar.setAttribute('aria-label', `Add “${item.title}” to your calendar`);
    this.#times.replaceChildren(
      timeElement(item.startsAt, this.#format), '–', timeElement(item.endsAt, this.#format));
    this.#updateLocal(item);
    const moved = isMoved(item);
    setShown(this.#moved, moved);
    if (moved) {
      setText(this.#moved, `moved from ${this.#format.range(item.scheduledStartsAt, item.scheduledEndsAt)}`);
    }
    if (item.room) {
      const badge = stateBadge(item.room, this.#reader);
      setText(this.#badge, badge.text);
      this.#badge.className = `badge badge-${badge.tone}`;
      this.root.dataset.state = item.room.state;
      const label = WATCH_LABELS[item.room.state];
      setShown(this.#watch, label !== undefined);
      setText(this.#watch, label ?? '');
      this.#watch.href = `/watch/${encodeURIComponent(item.room.id)}`;
    }
  }

  tick(now) {
    const room = this.#item?.room;
    if (!room) return;
    const soon = room.startsAt !== null && room.startsAt - now < COUNTDOWN_HORIZON_MS;
    const text = soon ? countdown(room, now) : null;
    setShown(this.#countdown, text !== null);
    setText(this.#countdown, text ?? '');
  }

  #updateLocal(item) {
    const local = this.#localFormat;
    const shown = local !== null
      && local.range(item.startsAt, item.endsAt) !== this.#format.range(item.startsAt, item.endsAt);
    setShown(this.#local, shown);
    if (shown) setText(this.#local, `${local.range(item.startsAt, item.endsAt)} your time`);
  }

  #when() {
    return el('p', { class: 'when' },
      this.#times, ' ',
      el('span', { class: 'time-zone' }, this.#format.label), ' ',
      this.#moved, ' ',
      this.#local, ' ',
      this.#calendar);
  }

  #buildBreak(item) {
    return el('li', { class: 'item item-break', id: `item-${item.id}` },
      this.#when(),
      el('div', { class: 'item-body' }, this.#title));
  }

  #buildSession(item) {
    const facts = el('p', { class: 'facts' },
      el('span', { class: `kind kind-${item.kind}` }, kindLabel(item.kind)),
      item.audioOnly ? el('span', { class: 'badge badge-audio' }, 'Audio only') : null,
      item.recorded ? null : el('span', { class: 'badge badge-private' }, 'Not recorded'));
    const state = item.room
      ? el('p', { class: 'room-state' }, this.#badge, ' ', this.#countdown, ' ', this.#watch)
      : null;
    const details = item.description
      ? el('details', { class: 'description' },
        el('summary', {}, item.kind === 'panel' ? 'About this panel' : 'Details'),
        ...item.description.split(/\n\s*\n/).map((paragraph) => el('p', {}, paragraph)))
      : null;
    return el('li', { class: `item item-${item.kind}`, id: `item-${item.id}` },
      this.#when(),
      el('div', { class: 'item-body' }, facts, this.#title, state, details));
  }
}

function timeElement(ms, format) {
  return el('time', { datetime: new Date(ms).toISOString() }, format.time(ms));
}
