// The compact running order on the technician page: one line per item, Ontime-style (what is
// on, what was planned, what it is now, how far ahead or behind), today's day first and the
// other days folded away; and, for those who may, "Delay the rest of today by N minutes",
// asked first. Built again only when what it says changes.

import { dayHeading } from './clock.js';
import { el, setText } from './dom.js';
import { ControlAction } from './roomstate.js';
import {
  delayAnchor, delayedBy, offsetOf, offsetWords, phaseOf, todayFirst,
} from './runningorder.js';
import { groupByDay } from './timetable.js';

const PHASE_WORDS = Object.freeze({ ended: 'Ended', now: 'Now', next: 'Next' });
const DEFAULT_DELAY = 5;
const MAX_DELAY = 240;

export class RunningOrderView {
  #root;
  #format;
  #sendControl;
  #confirm;
  #items = [];
  #now = 0;
  #said = '';
  #opened = new Map(); // day → open, as the user left it
  #days;
  #form;
  #minutes;
  #delayButton;
  #delayNote;
  #problem;
  #done;

  /**
   * In `root`; `sendControl(command)` resolves with the server's ack, `confirm(message,
   * label)` with the user's answer; `mayDelay`: whether to offer the day's delay.
   */
  constructor(root, format, { sendControl, confirm, mayDelay }) {
    this.#root = root;
    this.#format = format;
    this.#sendControl = sendControl;
    this.#confirm = confirm;
    this.#days = el('div', { class: 'ro-days' });
    this.#minutes = el('input', {
      type: 'number', id: 'delay-minutes', name: 'minutes', min: '1', max: String(MAX_DELAY),
      step: '1', value: String(DEFAULT_DELAY), required: true, inputmode: 'numeric',
    });
    this.#delayButton = el('button', { type: 'submit', class: 'control control-delay' }, 'Delay');
    this.#delayNote = el('p', { class: 'delay-note' });
    this.#problem = el('p', { class: 'card-error', role: 'alert' });
    this.#done = el('p', { class: 'card-done', role: 'status' });
    this.#form = el('form', { class: 'delay-form', onsubmit: (event) => this.#delay(event) },
      el('label', { for: 'delay-minutes' }, 'Delay the rest of today by'),
      el('span', { class: 'delay-input' }, this.#minutes, ' minutes'),
      this.#delayButton, this.#delayNote, this.#problem, this.#done);
    root.replaceChildren(
      el('h2', { class: 'panel-heading', id: 'running-order-heading' }, 'Running order'),
      mayDelay ? this.#form : null,
      this.#days);
  }

  show(items, now) {
    this.#items = items;
    this.tick(now);
  }

  tick(now) {
    this.#now = now;
    const today = this.#format.dayKey(now);
    const days = todayFirst(groupByDay(this.#items), today);
    const lines = days.map((day) => ({ day: day.day, lines: day.items.map((item) => this.#line(item, now)) }));
    const anchor = delayAnchor(this.#items, today);
    const said = JSON.stringify([today, lines, anchor?.id ?? null]);
    if (said === this.#said) return;
    this.#said = said;
    this.#days.replaceChildren(...lines.map((day) => this.#day(day, today)));
    this.#delayButton.disabled = anchor === null;
    setText(this.#delayNote, anchor === null
      ? 'Nothing is left to delay today.'
      : `From “${anchor.title}” on.`);
  }

  #line(item, now) {
    const phase = phaseOf(item, now);
    const offset = offsetWords(offsetOf(item, now));
    return {
      id: item.id,
      room: item.room?.id ?? null,
      title: item.title,
      phase,
      planned: this.#format.rangeOnDay(item.scheduledStartsAt, item.scheduledEndsAt, item.day),
      now: this.#format.rangeOnDay(item.startsAt, item.endsAt, item.day),
      offset: offset.text,
      tone: offset.tone,
    };
  }

  #day({ day, lines }, today) {
    const isToday = day === today;
    const heading = `${dayHeading(day)}${isToday ? ' · today' : ''}`;
    const table = el('table', { class: 'ro-table' },
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, 'Item'),
        el('th', { scope: 'col' }, 'Planned'),
        el('th', { scope: 'col' }, 'Now'),
        el('th', { scope: 'col' }, 'Ahead / behind'))),
      el('tbody', {}, lines.map((line) => row(line))));
    // Today is shown open; so is every day when none is today (before or after the event).
    const open = this.#opened.get(day) ?? (isToday || !this.#items.some((item) => item.day === today));
    const details = el('details', { class: 'ro-day', 'data-day': day, 'data-today': String(isToday), open },
      el('summary', { class: 'ro-day-heading' }, heading), table);
    details.addEventListener('toggle', () => this.#opened.set(day, details.open));
    return details;
  }

  async #delay(event) {
    event.preventDefault();
    setText(this.#problem, '');
    setText(this.#done, '');
    const minutes = Number(this.#minutes.value);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_DELAY) {
      setText(this.#problem, `Give a whole number of minutes from 1 to ${MAX_DELAY}.`);
      return;
    }
    const today = this.#format.dayKey(this.#now);
    const anchor = delayAnchor(this.#items, today);
    if (anchor === null) return;
    const moved = delayedBy(this.#items, anchor, this.#now);
    const agreed = await this.#confirm(
      `Delay the rest of today by ${minutes} minutes? ${moved.length} item${moved.length === 1 ? '' : 's'} move, from “${anchor.title}” on; everyone sees the new times at once.`,
      'Delay');
    if (!agreed) return;
    const reply = await this.#sendControl({ room: anchor.room.id, action: ControlAction.DELAY, minutes });
    if (reply.ok) setText(this.#done, `The rest of today is ${minutes} minutes later.`);
    else setText(this.#problem, reply.message ?? `Refused (${reply.error ?? 'unknown error'}).`);
  }
}

function row(line) {
  const title = line.room === null
    ? el('span', { class: 'ro-title ro-break' }, line.title)
    : el('a', { class: 'ro-title', href: `#room-${line.room}` }, line.title);
  return el('tr', { class: 'ro-line', 'data-item': line.id, 'data-phase': line.phase, 'data-tone': line.tone },
    el('th', { scope: 'row' },
      el('span', { class: 'ro-phase' }, PHASE_WORDS[line.phase]), ' ', title),
    el('td', { class: 'ro-planned' }, line.planned),
    el('td', { class: 'ro-now' }, line.now),
    el('td', { class: 'ro-offset' }, line.offset));
}
