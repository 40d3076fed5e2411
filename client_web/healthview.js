// Stream health on the technician page: under each source, its grade, its figures in words,
// a chart of its bitrate over the last minute and a meter of its sound; and at the top of the
// page, the alerts that are up, until they clear.

import { el, setShown, setText } from './dom.js';
import { BitrateHistory, gradeWords, levelFill, trackWords, worseGrade } from './health.js';

const SVG = 'http://www.w3.org/2000/svg';
const CHART = { width: 120, height: 28 };

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

/** One source's health, shown in its row of the source list. */
export class SourceHealth {
  #grade = el('span', { class: 'health-grade' });
  #video = el('span', { class: 'health-figures' });
  #audio = el('span', { class: 'health-figures' });
  #line = svg('path', { class: 'health-chart-line' });
  #chart;
  #meter = el('span', { class: 'health-meter-fill' });
  #history = new BitrateHistory();
  #videoRow;
  #audioRow;

  constructor() {
    this.#chart = svg('svg', {
      class: 'health-chart', viewBox: `0 0 ${CHART.width} ${CHART.height}`,
      width: CHART.width, height: CHART.height, 'aria-hidden': 'true',
    });
    this.#chart.append(this.#line);
    this.#videoRow = el('span', { class: 'health-row' },
      el('span', { class: 'health-kind' }, 'Picture'), this.#video, this.#chart);
    this.#audioRow = el('span', { class: 'health-row' },
      el('span', { class: 'health-kind' }, 'Sound'), this.#audio,
      el('span', { class: 'health-meter', 'aria-hidden': 'true' }, this.#meter));
    this.root = el('span', { class: 'source-health' }, this.#grade, this.#videoRow, this.#audioRow);
    setShown(this.root, false);
  }

  /** The source's tracks from the latest `health` (`{video?, audio?}`), at page time `now` (s). */
  update(tracks, now) {
    const { video = null, audio = null } = tracks ?? {};
    setShown(this.root, video !== null || audio !== null);
    const grade = worseGrade(video?.grade ?? null, audio?.grade ?? null);
    setText(this.#grade, grade === null ? '' : gradeWords(grade));
    this.root.dataset.grade = grade ?? '';
    setShown(this.#videoRow, video !== null);
    if (video !== null) {
      setText(this.#video, trackWords(video));
      this.#history.add(now, video.bitrateKbps);
      this.#line.setAttribute('d', this.#history.path(now, CHART.width, CHART.height));
    }
    setShown(this.#audioRow, audio !== null);
    if (audio !== null) {
      setText(this.#audio, trackWords(audio));
      this.#meter.style.width = `${Math.round(levelFill(audio.levelDbov) * 100)}%`;
    }
  }
}

/** The alerts that are up, newest first, at the top of the page; each new one is said once. */
export class AlertBoard {
  #list;
  #empty;
  #items = new Map();
  #say;

  constructor(container, say) {
    this.#say = say;
    this.#list = el('ul', { class: 'alerts-list' });
    this.#empty = el('p', { class: 'alerts-empty' }, 'No alerts.');
    container.replaceChildren(el('h2', { class: 'alerts-heading' }, 'Alerts'), this.#list, this.#empty);
    this.#render();
  }

  show(alert) {
    const shown = this.#items.get(alert.key);
    if (!alert.active) {
      shown?.remove();
      this.#items.delete(alert.key);
    } else if (shown === undefined) {
      const item = el('li', { class: `alert alert-${alert.level}`, 'data-code': alert.code },
        el('span', { class: 'alert-level' }, alert.level === 'critical' ? 'Critical' : 'Warning'),
        el('span', { class: 'alert-text' }, alert.text));
      item.dataset.room = alert.room;
      this.#items.set(alert.key, item);
      this.#list.prepend(item);
      this.#say(`${alert.level === 'critical' ? 'Critical alert' : 'Alert'}: ${alert.text}`);
    }
    this.#render();
  }

  /** How many alerts of `roomId` are up. */
  count(roomId) {
    let count = 0;
    for (const item of this.#items.values()) if (item.dataset.room === roomId) count += 1;
    return count;
  }

  /** After a reconnection the server sends what is up again: forget what was shown. */
  clear() {
    this.#items.clear();
    this.#list.replaceChildren();
    this.#render();
  }

  #render() {
    setShown(this.#empty, this.#items.size === 0);
    setShown(this.#list, this.#items.size > 0);
  }
}
