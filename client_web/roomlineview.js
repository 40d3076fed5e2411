// A room's line in the technician page's compact view: a button, first in its card, that says
// the room in one line (title, state, countdown, viewers, stage, worst health grade, alerts)
// and opens the full card under it.

import { el, setShown, setText } from './dom.js';
import { stateBadge } from './roomstate.js';
import { alertsWords, lineFigures, stageWords } from './roomsummary.js';

export class RoomLine {
  #format;
  #item = null;
  #health = null;
  #alerts = 0;
  #now = 0;
  #fields = {
    title: el('span', { class: 'line-title' }),
    badge: el('span', { class: 'line-badge' }),
    countdown: el('span', { class: 'line-countdown' }),
    viewers: el('span', { class: 'line-viewers' }),
    stage: el('span', { class: 'line-stage' }),
    grade: el('span', { class: 'line-grade' }),
    alerts: el('span', { class: 'line-alerts' }),
  };

  /** `toggle()` opens or closes the full card. */
  constructor(format, { toggle }) {
    this.#format = format;
    const f = this.#fields;
    this.button = el('button', {
      type: 'button', class: 'room-row-button', 'aria-expanded': 'false',
      onclick: () => toggle(),
    }, f.title, el('span', { class: 'line-state' }, f.badge, f.countdown),
    el('span', { class: 'line-figures' }, f.viewers, f.stage, f.grade, f.alerts));
    this.root = el('div', { class: 'room-row' }, this.button);
  }

  set expanded(open) {
    this.button.setAttribute('aria-expanded', String(open));
  }

  update(item) {
    this.#item = item;
    this.#render();
  }

  showHealth(health) {
    this.#health = health;
    this.#render();
  }

  showAlerts(count) {
    this.#alerts = count;
    this.#render();
  }

  tick(now) {
    this.#now = now;
    this.#render();
  }

  #render() {
    const item = this.#item;
    if (item === null) return;
    const f = this.#fields;
    const figures = lineFigures(item, { health: this.#health, alerts: this.#alerts, now: this.#now });
    setText(f.title, item.title);
    f.title.title = item.title; // cut short on a narrow line: the whole title on hover
    const badge = stateBadge(item.room, this.#format);
    setText(f.badge, badge.text);
    f.badge.className = `line-badge badge-${badge.tone}`;
    setShown(f.countdown, figures.countdown !== null);
    setText(f.countdown, figures.countdown?.text ?? '');
    this.root.dataset.overrun = String(figures.countdown?.overrun ?? false);
    this.root.dataset.state = item.room.state;
    setText(f.viewers, figures.viewers === null ? 'viewers —' : `${figures.viewers} viewers`);
    setText(f.stage, stageWords(figures.stage));
    setShown(f.grade, figures.grade !== null);
    setText(f.grade, figures.gradeText ?? '');
    f.grade.dataset.grade = figures.grade ?? '';
    setText(f.alerts, alertsWords(figures.alerts));
    f.alerts.dataset.count = String(figures.alerts);
  }
}
