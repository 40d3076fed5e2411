// What the pages say about themselves: the connection status, the notices technicians
// send, and a polite screen-reader announcer for changes that happen without a click.

import { LinkStatus } from './live.js';
import { el, setText } from './dom.js';

const STATUS_TEXT = Object.freeze({
  [LinkStatus.IDLE]: 'not connected',
  [LinkStatus.CONNECTING]: 'connecting…',
  [LinkStatus.LIVE]: 'live updates',
  [LinkStatus.RECONNECTING]: 'reconnecting…',
  [LinkStatus.INVALID_TOKEN]: 'not connected',
  [LinkStatus.REFUSED]: 'not connected',
});

const NOTICE_LEVELS = new Set(['info', 'warning', 'urgent']);
const MAX_NOTICES = 3;

/** Show the link status in `node` (text plus a `data-status` for the coloured dot). */
export function showLinkStatus(node, status) {
  setText(node, STATUS_TEXT[status] ?? status);
  node.dataset.status = status;
}

/**
 * Notices from technicians, newest first, each dismissible; one taken down by a technician
 * (`{id, active: false}`) goes away. `accepts(body)` says which notices this page shows (a
 * room page: its room's and every room's); `context(room)` is what a notice about `room` is
 * prefixed with, or null.
 */
export class NoticeBoard {
  #container;
  #accepts;
  #context;
  #shown = new Map();
  #dismissed = new Set();

  constructor(container, { accepts = () => true, context = () => null } = {}) {
    this.#container = container;
    this.#accepts = accepts;
    this.#context = context;
  }

  /** One `notice` event: put up, or (active false) taken down. */
  show(body) {
    const id = noticeId(body);
    if (body?.active === false) {
      if (id !== null) this.#remove(id);
      return;
    }
    const text = typeof body?.text === 'string' ? body.text.trim() : '';
    if (text === '' || !this.#accepts(body) || this.#dismissed.has(id)) return;
    if (id !== null) this.#remove(id);
    const level = NOTICE_LEVELS.has(body.level) ? body.level : 'info';
    const context = typeof body.room === 'string' ? this.#context(body.room) : null;
    const notice = el('div', {
      class: `notice notice-${level}`, role: level === 'info' ? 'status' : 'alert', 'data-id': id,
    },
      el('p', { class: 'notice-text' }, context ? el('span', { class: 'notice-room' }, `${context}: `) : null, text),
      el('button', {
        type: 'button', class: 'notice-close', 'aria-label': 'Dismiss notice',
        onclick: () => this.#dismiss(id, notice),
      }, '×'));
    if (id !== null) this.#shown.set(id, notice);
    this.#container.prepend(notice);
    while (this.#container.children.length > MAX_NOTICES) {
      const oldest = this.#container.lastElementChild;
      this.#shown.delete(oldest.dataset.id);
      oldest.remove();
    }
  }

  /** The `notices` sent on (re)connecting: exactly those are up now. */
  showAll(body) {
    const notices = Array.isArray(body?.notices) ? body.notices : [];
    const up = new Set(notices.map(noticeId));
    for (const id of [...this.#shown.keys()]) if (!up.has(id)) this.#remove(id);
    for (const notice of notices) if (!this.#shown.has(noticeId(notice))) this.show(notice);
  }

  #dismiss(id, node) {
    if (id !== null) {
      this.#dismissed.add(id);
      this.#shown.delete(id);
    }
    node.remove();
  }

  #remove(id) {
    this.#shown.get(id)?.remove();
    this.#shown.delete(id);
  }
}

function noticeId(body) {
  return typeof body?.id === 'string' && body.id !== '' ? body.id : null;
}

/** A visually hidden live region: say something once to screen-reader users. */
export class Announcer {
  #region;
  #pending = [];

  constructor(region) {
    this.#region = region;
  }

  /** Messages said within one moment are read together rather than cutting each other off. */
  say(text) {
    this.#pending.push(text);
    if (this.#pending.length > 1) return;
    // Clearing first makes a repeated message be read again.
    this.#region.textContent = '';
    setTimeout(() => {
      setText(this.#region, this.#pending.join(' '));
      this.#pending = [];
    }, 50);
  }
}
