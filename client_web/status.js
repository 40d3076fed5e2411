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

/** Notices from technicians, newest first, each dismissible. */
export class NoticeBoard {
  #container;

  constructor(container) {
    this.#container = container;
  }

  show(body) {
    const text = typeof body?.text === 'string' ? body.text.trim() : '';
    if (text === '') return;
    const level = NOTICE_LEVELS.has(body.level) ? body.level : 'info';
    const notice = el('div', { class: `notice notice-${level}`, role: level === 'info' ? 'status' : 'alert' },
      el('p', { class: 'notice-text' }, text),
      el('button', {
        type: 'button', class: 'notice-close', 'aria-label': 'Dismiss notice',
        onclick: () => notice.remove(),
      }, '×'));
    this.#container.prepend(notice);
    while (this.#container.children.length > MAX_NOTICES) this.#container.lastElementChild.remove();
  }
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
