// The notices panel of the technician page: write a notice ("We are restoring the hall
// feed") to one room or to every room, with a level, and see the notices up now with "Clear"
// beside each. The list follows the `notice` and `notices` events, so it shows what the
// watch and agenda pages show, whoever posted it.

import { el, setShown, setText } from './dom.js';

const MAX_TEXT = 500;
const LEVELS = Object.freeze([
  ['info', 'Info'],
  ['warning', 'Warning'],
  ['urgent', 'Urgent'],
]);
const EVERY_ROOM = '';

export class NoticeComposer {
  #send;
  #roomTitle;
  #text;
  #room;
  #level;
  #counter;
  #problem;
  #done;
  #list;
  #none;
  #up = new Map();

  /**
   * In `root`; `send(command)` resolves with the server's ack; `rooms`: [{id, title}] the
   * notices may be for; `everyRoom`: whether "Every room" may be chosen; `roomTitle(id)`.
   */
  constructor(root, { send, rooms, everyRoom, roomTitle }) {
    this.#send = send;
    this.#roomTitle = roomTitle;
    this.#text = el('textarea', {
      id: 'notice-text', name: 'text', rows: '2', maxlength: String(MAX_TEXT), required: true,
      'aria-describedby': 'notice-counter',
      oninput: () => this.#count(),
    });
    this.#room = el('select', { id: 'notice-room', name: 'room' },
      everyRoom ? el('option', { value: EVERY_ROOM }, 'Every room') : null,
      rooms.map((room) => el('option', { value: room.id }, room.title)));
    this.#level = el('select', { id: 'notice-level', name: 'level' },
      LEVELS.map(([value, label]) => el('option', { value }, label)));
    this.#counter = el('span', { class: 'notice-counter', id: 'notice-counter' });
    this.#problem = el('p', { class: 'card-error', role: 'alert' });
    this.#done = el('p', { class: 'card-done', role: 'status' });
    this.#list = el('ul', { class: 'notice-list', 'aria-labelledby': 'notices-up-heading' });
    this.#none = el('p', { class: 'notice-none' }, 'No notices are up.');
    const form = el('form', { class: 'notice-form', onsubmit: (event) => this.#post(event) },
      el('label', { for: 'notice-text' }, 'Notice'),
      this.#text,
      this.#counter,
      el('div', { class: 'notice-choices' },
        el('span', { class: 'notice-choice' }, el('label', { for: 'notice-room' }, 'To'), this.#room),
        el('span', { class: 'notice-choice' }, el('label', { for: 'notice-level' }, 'Level'), this.#level),
        el('button', { type: 'submit', class: 'control-post' }, 'Post notice')),
      this.#problem, this.#done);
    root.replaceChildren(
      el('h2', { class: 'panel-heading', id: 'notice-panel-heading' }, 'Notices'),
      form,
      el('h3', { class: 'notices-up-heading', id: 'notices-up-heading' }, 'Up now'),
      this.#list, this.#none);
    this.#count();
    this.#render();
  }

  /** One `notice` event. */
  notice(body) {
    if (typeof body?.id !== 'string') return;
    if (body.active === false) this.#up.delete(body.id);
    else this.#up.set(body.id, body);
    this.#render();
  }

  /** The `notices` sent on (re)connecting: exactly those are up. */
  notices(body) {
    this.#up = new Map((Array.isArray(body?.notices) ? body.notices : [])
      .filter((notice) => typeof notice?.id === 'string')
      .map((notice) => [notice.id, notice]));
    this.#render();
  }

  async #post(event) {
    event.preventDefault();
    this.#say('', '');
    const text = this.#text.value.trim();
    if (text === '') {
      this.#say('Write the notice first.', '');
      return;
    }
    const command = { text, level: this.#level.value, room: this.#room.value === EVERY_ROOM ? null : this.#room.value };
    const reply = await this.#send(command);
    if (!reply.ok) {
      this.#say(reply.message ?? `Refused (${reply.error ?? 'unknown error'}).`, '');
      return;
    }
    this.#text.value = '';
    this.#count();
    if (reply.notice) this.notice(reply.notice);
    this.#say('', `Posted to ${this.#where(command.room)}.`);
  }

  async #clear(notice) {
    this.#say('', '');
    const reply = await this.#send({ id: notice.id, action: 'clear' });
    // Already gone is gone: the list follows the server either way.
    if (reply.ok || reply.error === 'not_found') this.notice({ id: notice.id, active: false });
    if (reply.ok) this.#say('', 'Cleared.');
    else this.#say(reply.message ?? `Refused (${reply.error ?? 'unknown error'}).`, '');
  }

  #render() {
    const rows = [...this.#up.values()].reverse().map((notice) => el('li', {
      class: `notice-up notice-up-${notice.level}`, 'data-id': notice.id,
    },
      el('span', { class: 'notice-up-level' }, notice.level),
      el('span', { class: 'notice-up-text' }, notice.text),
      el('span', { class: 'notice-up-where' }, this.#where(notice.room)),
      el('button', {
        type: 'button', class: 'notice-clear', 'aria-label': `Clear notice: ${notice.text}`,
        onclick: () => this.#clear(notice),
      }, 'Clear')));
    this.#list.replaceChildren(...rows);
    setShown(this.#list, rows.length > 0);
    setShown(this.#none, rows.length === 0);
  }

  #where(room) {
    return room === null || room === undefined ? 'every room' : this.#roomTitle(room) ?? room;
  }

  #count() {
    setText(this.#counter, `${this.#text.value.length} / ${MAX_TEXT}`);
  }

  #say(problem, done) {
    setText(this.#problem, problem);
    setText(this.#done, done);
  }
}
