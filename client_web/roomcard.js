// One room on the technician page: its state, times, audience and the controls that make
// sense for that state; once the room is open, its sources with a button each to bring them on
// stage or send them backstage; and the links to the hall's return and to the hall's screen of
// the question being answered. Built once, updated in
// place, so keyboard focus stays where it was.

import { el, setShown, setText } from './dom.js';
import { ControlAction, RoomState, countdown, isAllowed, stateBadge } from './roomstate.js';
import { SourceList } from './sourcelist.js';
import { movedWords } from './stagewords.js';
import { isMoved, kindLabel } from './timetable.js';

const EXTEND_MINUTES = Object.freeze([5, 10, 15]);

const DONE_TEXT = Object.freeze({
  [ControlAction.START]: () => 'Started.',
  [ControlAction.EXTEND]: (minutes) => `Extended by ${minutes} minutes.`,
  [ControlAction.END]: () => 'Ended.',
});

export class RoomCard {
  #format;
  #item;
  #busy = false;
  #sendControl;
  #confirm;
  #fields;
  #buttons;
  #sources;
  #hallLink;
  #screenLink;

  /**
   * `sendControl(command)` resolves with the server's ack; `confirm(message, label)` resolves
   * true when the user agrees to end the room; `hallHref(roomId)` and `screenHref(roomId)` are
   * the links to its hall page and its question screen.
   */
  constructor(item, format, { sendControl, confirm, hallHref, screenHref }) {
    this.#format = format;
    this.#sendControl = sendControl;
    this.#confirm = confirm;
    this.#sources = new SourceList({ move: (source, action) => this.#moveSource(source, action) });
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
    setText(fields.times, `${this.#format.range(starts, ends)} ${this.#format.label}`);
    const moved = isMoved(item);
    setShown(fields.published, moved);
    setText(fields.published, moved
      ? `published ${this.#format.range(item.scheduledStartsAt, item.scheduledEndsAt)}` : '');
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

  tick(now) {
    const text = countdown(this.#item.room, now);
    setShown(this.#fields.countdown, text !== null);
    setText(this.#fields.countdown, text ?? '');
  }

  #buildButtons() {
    const button = (label, action, minutes, extraClass = '') => el('button', {
      type: 'button',
      class: `control control-${action} ${extraClass}`.trim(),
      'data-action': action,
      'data-minutes': minutes ?? false,
      onclick: () => this.#run(action, minutes),
    }, label);
    return [
      button('Start now', ControlAction.START),
      button('End now', ControlAction.END, undefined, 'danger'),
      ...EXTEND_MINUTES.map((minutes) => button(`Extend +${minutes}`, ControlAction.EXTEND, minutes)),
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
        el('div', { class: 'wide' }, el('dt', {}, 'Last override'), fields.override)),
      el('div', { class: 'card-actions', role: 'group', 'aria-labelledby': titleId }, this.#buttons),
      this.#sources.root,
      el('p', { class: 'card-links' }, this.#hallLink, ' · ', this.#screenLink),
      fields.error,
      fields.done);
  }

  #updateButtons() {
    for (const button of this.#buttons) {
      // Not disabled while a command is under way: that would throw keyboard focus away.
      button.disabled = !isAllowed(button.dataset.action, this.#item.room.state);
    }
  }

  async #run(action, minutes) {
    if (this.#busy) return;
    setText(this.#fields.error, '');
    setText(this.#fields.done, '');
    if (action === ControlAction.END) {
      const agreed = await this.#confirm(
        `End “${this.#item.title}” now? Speakers and viewers will leave the room.`,
        'End now');
      if (!agreed) return;
    }
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
