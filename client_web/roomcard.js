// One room on the technician page: its state, times, audience and the controls that make
// sense for that state (start now and end now after asking, extend, and undo a recent end);
// once the room is open, its sources with a button each to bring them on stage or send them
// backstage; and the links to the hall's return and to the hall's screen of the question being
// answered. Controls the holder of the page's access link may not use are not shown. Built
// once, updated in place, so keyboard focus stays where it was.

import { formatDuration } from './clock.js';
import { el, setShown, setText } from './dom.js';
import { viewersWords } from './health.js';
import { ControlAction, RoomState, countdown, isAllowed, stateBadge } from './roomstate.js';
import { overrunMinutes } from './roomsummary.js';
import { canReopen, canStartNow, lengthWords } from './runningorder.js';
import { SourceList } from './sourcelist.js';
import { movedWords } from './stagewords.js';
import { isMoved, kindLabel } from './timetable.js';

const EXTEND_MINUTES = Object.freeze([5, 10, 15]);

const DONE_TEXT = Object.freeze({
  [ControlAction.START]: () => 'Started.',
  [ControlAction.EXTEND]: (minutes) => `Extended by ${minutes} minutes.`,
  [ControlAction.END]: () => 'Ended. It can be undone for a few minutes.',
  [ControlAction.REOPEN]: () => 'Reopened: live again.',
});

export class RoomCard {
  #format;
  #item;
  #now = 0;
  #busy = false;
  #sendControl;
  #confirm;
  #fields;
  #buttons;
  #sources;
  #hallLink;
  #screenLink;
  #reopenButton;
  #controls;

  /**
   * `sendControl(command)` resolves with the server's ack; `confirm(message, label)` resolves
   * true when the user agrees to start or end the room; `hallHref(roomId)` and
   * `screenHref(roomId)` are the links to its hall page and its question screen. `may`:
   * {control, move}, whether the page's access link may control this room and move its
   * sources.
   */
  constructor(item, format, { sendControl, confirm, hallHref, screenHref, may }) {
    this.#format = format;
    this.#sendControl = sendControl;
    this.#confirm = confirm;
    this.#controls = may.control;
    this.#sources = new SourceList({
      move: (source, action) => this.#moveSource(source, action), movable: may.move,
    });
    this.#hallLink = el('a', {
      class: 'hall-link', href: hallHref(item.room.id), target: '_blank', rel: 'noopener',
    }, 'Hall screen for the projector');
    this.#screenLink = el('a', {
      class: 'screen-link', href: screenHref(item.room.id), target: '_blank', rel: 'noopener',
    }, 'Question screen');
    this.#fields = {
      badge: el('span', { class: 'badge' }),
      countdown: el('span', { class: 'countdown' }),
      times: el('span', { class: 'time-range' }),
      published: el('span', { class: 'time-moved' }),
      opens: el('dd'),
      viewers: el('dd', { class: 'number' }),
      publishers: el('dd', { class: 'number' }),
      reception: el('dd', {}, '—'),
      override: el('dd'),
      error: el('p', { class: 'card-error', role: 'alert' }),
      done: el('p', { class: 'card-done', role: 'status' }),
    };
    this.#buttons = this.#buildButtons();
    this.root = this.#build(item);
  }

  get roomId() {
    return this.#item.room.id;
  }

  update(item, lastOverride) {
    this.#item = item;
    const { room } = item;
    const fields = this.#fields;
    const badge = stateBadge(room, this.#format);
    setText(fields.badge, badge.text);
    fields.badge.className = `badge badge-${badge.tone}`;
    this.root.dataset.state = room.state;
    const starts = room.startsAt ?? item.startsAt;
    const ends = room.endsAt ?? item.endsAt;
    setText(fields.times, `${this.#format.rangeOnDay(starts, ends, item.day)} ${this.#format.label}`);
    const moved = isMoved(item);
    setShown(fields.published, moved);
    setText(fields.published, moved
      ? `published ${this.#format.rangeOnDay(item.scheduledStartsAt, item.scheduledEndsAt, item.day)}` : '');
    setText(fields.opens, room.opensAt === null ? '—' : this.#format.time(room.opensAt));
    setText(fields.viewers, room.viewers === null ? '—' : String(room.viewers));
    setText(fields.publishers, room.publishers === null ? '—' : String(room.publishers));
    setText(fields.override, lastOverride
      ? `${lastOverride.by ?? 'someone'} at ${this.#format.timeWithSeconds(lastOverride.at)}`
      : 'none');
    const open = room.state === RoomState.LOBBY || room.state === RoomState.LIVE;
    setShown(this.#sources.root, open);
    if (open) this.#sources.update(room.sources);
    this.#updateButtons();
  }

  /** The room's latest `health` (health.js `parseHealth`), at page time `now` in seconds. */
  showHealth(health, now) {
    setText(this.#fields.reception, viewersWords(health));
    this.#sources.updateHealth(health.tracks, now);
  }

  tick(now) {
    this.#now = now;
    const text = countdown(this.#item.room, now);
    setShown(this.#fields.countdown, text !== null);
    setText(this.#fields.countdown, text ?? '');
    this.root.dataset.overrun = String(overrunMinutes(this.#item.room, now) !== null);
    this.#updateButtons();
  }

  #buildButtons() {
    const button = (label, action, minutes, extraClass = '') => el('button', {
      type: 'button',
      class: `control control-${action} ${extraClass}`.trim(),
      'data-action': action,
      'data-minutes': minutes ?? false,
      onclick: () => this.#run(action, minutes),
    }, label);
    this.#reopenButton = button('Undo end', ControlAction.REOPEN);
    return [
      button('Start now', ControlAction.START),
      button('End now', ControlAction.END, undefined, 'danger'),
      ...EXTEND_MINUTES.map((minutes) => button(`Extend +${minutes}`, ControlAction.EXTEND, minutes)),
      this.#reopenButton,
    ];
  }

  #build(item) {
    const titleId = `room-${item.room.id}-title`;
    const fields = this.#fields;
    return el('li', { class: 'card', id: `room-${item.room.id}`, 'aria-labelledby': titleId },
      el('div', { class: 'card-head' },
        el('p', { class: 'card-context' }, kindLabel(item.kind)),
        el('h3', { class: 'card-title', id: titleId }, item.title),
        el('p', { class: 'room-state' }, fields.badge, ' ', fields.countdown)),
      el('dl', { class: 'card-facts' },
        el('div', {}, el('dt', {}, 'Time'), el('dd', {}, fields.times, ' ', fields.published)),
        el('div', {}, el('dt', {}, 'Lobby opens'), fields.opens),
        el('div', {}, el('dt', {}, 'Viewers'), fields.viewers),
        el('div', {}, el('dt', {}, 'Publishers'), fields.publishers),
        el('div', { class: 'wide' }, el('dt', {}, 'Viewers receive'), fields.reception),
        el('div', { class: 'wide' }, el('dt', {}, 'Last override'), fields.override)),
      this.#controls
        ? el('div', { class: 'card-actions', role: 'group', 'aria-labelledby': titleId }, this.#buttons)
        : null,
      this.#sources.root,
      el('p', { class: 'card-links' }, this.#hallLink, ' · ', this.#screenLink),
      fields.error,
      fields.done);
  }

  #updateButtons() {
    const item = this.#item;
    const today = this.#format.dayKey(this.#now);
    for (const button of this.#buttons) {
      // Not disabled while a command is under way: that would throw keyboard focus away.
      const action = button.dataset.action;
      button.disabled = action === ControlAction.START
        ? !canStartNow(item, today) : !isAllowed(action, item.room.state);
    }
    const reopenable = canReopen(item, this.#now);
    setShown(this.#reopenButton, reopenable);
    setText(this.#reopenButton, reopenable
      ? `Undo end (${formatDuration(item.room.reopenUntil - this.#now)} left)` : 'Undo end');
    this.#reopenButton.setAttribute('aria-label', 'Undo end: reopen the room live');
  }

  /** Whether the user agrees to `action`, for those that ask first. */
  async #agreed(action) {
    const title = this.#item.title;
    if (action === ControlAction.END) {
      return this.#confirm(`End “${title}” now? Speakers and viewers will leave the room.`, 'End now');
    }
    if (action === ControlAction.START) {
      const length = this.#item.endsAt - this.#item.startsAt;
      const until = this.#format.time(this.#now + length);
      return this.#confirm(
        `Start “${title}” now? It goes live at once and keeps its length of ${lengthWords(length)}, until about ${until}.`,
        'Start now');
    }
    return true;
  }

  async #run(action, minutes) {
    if (this.#busy) return;
    setText(this.#fields.error, '');
    setText(this.#fields.done, '');
    if (!(await this.#agreed(action))) return;
    const command = { room: this.roomId, action };
    if (minutes !== undefined) command.minutes = minutes;
    this.#setBusy(true);
    try {
      const reply = await this.#sendControl(command);
      if (reply.ok) setText(this.#fields.done, DONE_TEXT[action](minutes));
      else setText(this.#fields.error, reply.message ?? `Refused (${reply.error ?? 'unknown error'}).`);
    } finally {
      this.#setBusy(false);
    }
  }

  async #moveSource(source, action) {
    if (this.#busy) return;
    setText(this.#fields.error, '');
    setText(this.#fields.done, '');
    this.#setBusy(true);
    try {
      const reply = await this.#sendControl({ room: this.roomId, action, source: source.id });
      if (reply.ok) setText(this.#fields.done, movedWords(source.name, action));
      else setText(this.#fields.error, reply.message ?? `Refused (${reply.error ?? 'unknown error'}).`);
    } finally {
      this.#setBusy(false);
    }
  }

  #setBusy(busy) {
    this.#busy = busy;
    this.root.setAttribute('aria-busy', String(busy));
    this.#updateButtons();
  }
}
