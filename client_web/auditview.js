// Today's audit log on the technician page: when (agenda time, in the event's zone), which room,
// what happened in words and who did it, newest first, in a panel that scrolls by itself. Read
// on load and again a moment after the page hears of a change (a room's state, its stage, an
// alert, a notice), never more often than every few seconds.

import { actorWords, auditTone, auditWords, parseAuditLog } from './auditwords.js';
import { el, setShown, setText } from './dom.js';
import { bodyOf, send } from './http.js';

const SETTLE_MS = 500; // changes come in bursts: a start moves a room, its stage and an alert
const LEAST_GAP_MS = 3_000; // the most often the log is read again
const LIMIT = 500;

export class AuditLogView {
  #token;
  #format;
  #titleOf;
  #covers;
  #today;
  #list;
  #empty;
  #status;
  #due = null;
  #readAt = -Infinity;
  #reading = false;
  #again = false;

  /**
   * `section`: the panel; `format`: ZoneFormat; `titleOf(roomId)`: a room's title or null;
   * `covers(roomId)`: whether the page's access link covers a room; `today()`: the day to show
   * ("2021-06-14", agenda time in the event's zone).
   */
  constructor(section, { token, format, titleOf, covers, today }) {
    this.#token = token;
    this.#format = format;
    this.#titleOf = titleOf;
    this.#covers = covers;
    this.#today = today;
    this.#list = el('ol', { class: 'audit-list', reversed: true });
    this.#empty = el('p', { class: 'audit-empty' }, 'Reading the log…');
    this.#status = el('p', { class: 'audit-status', role: 'status' });
    const scroller = el('div', {
      class: 'audit-scroll', tabindex: '0', role: 'region', 'aria-label': 'Today’s log entries, newest first',
    }, this.#list, this.#empty);
    section.replaceChildren(
      el('h2', { class: 'panel-heading', id: 'audit-heading' }, 'Today’s log'),
      el('p', { class: 'audit-explain' }, `Newest first, ${format.label}.`),
      scroller,
      this.#status);
    this.changed();
  }

  /** Something the log records may have happened: read it again soon. */
  changed() {
    if (this.#due !== null) return;
    const wait = Math.max(SETTLE_MS, this.#readAt + LEAST_GAP_MS - performance.now());
    this.#due = setTimeout(() => {
      this.#due = null;
      this.#read();
    }, wait);
  }

  async #read() {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    this.#readAt = performance.now();
    try {
      const query = new URLSearchParams({ day: this.#today(), limit: String(LIMIT) });
      const body = await bodyOf(await send('GET', `/api/audit?${query}`, { token: this.#token }));
      this.#show(parseAuditLog(body));
      setText(this.#status, '');
    } catch (error) {
      setText(this.#status, `Could not read the log (${error.message}); trying again.`);
      this.#again = true;
    } finally {
      this.#reading = false;
      if (this.#again) {
        this.#again = false;
        this.changed();
      }
    }
  }

  #show(entries) {
    const shown = entries.filter((entry) => entry.room === null || this.#covers(entry.room));
    this.#list.replaceChildren(...shown.map((entry) => this.#row(entry)));
    setText(this.#empty, 'Nothing yet today.');
    setShown(this.#empty, shown.length === 0);
    setShown(this.#list, shown.length > 0);
  }

  #row(entry) {
    const room = entry.room === null ? 'Every room' : (this.#titleOf(entry.room) ?? entry.room);
    return el('li', { class: 'audit-entry', 'data-tone': auditTone(entry), 'data-action': entry.action },
      el('time', { class: 'audit-time', datetime: new Date(entry.at).toISOString() },
        this.#format.timeWithSeconds(entry.at)),
      el('span', { class: 'audit-room' }, room),
      el('span', { class: 'audit-what' }, auditWords(entry, this.#titleOf)),
      el('span', { class: 'audit-by' }, `by ${actorWords(entry.by)}`));
  }
}
