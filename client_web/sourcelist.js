// A room's sources on the technician page: who publishes (name, role, what they send), who
// speaks, who is on stage and who waits backstage, with one button each to move them, and how
// each one's picture and sound arrive (healthview.js). Rows are kept per source and updated in
// place, so keyboard focus stays on the button pressed.

import { el, setShown, setText } from './dom.js';
import { SourceHealth } from './healthview.js';
import { kindsWords, placeWords, roleWords, stageMove } from './stagewords.js';

export class SourceList {
  #list;
  #empty;
  #rows = new Map();
  #move;
  #movable;
  #health = new Map(); // the latest health of each source's tracks, by source id
  #healthAt = 0;

  /**
   * `move(source, action)` when a button is pressed (action "stage" or "backstage");
   * `movable` false: no buttons, for those who may not move sources.
   */
  constructor({ move, movable = true }) {
    this.#move = move;
    this.#movable = movable;
    this.#list = el('ul', { class: 'sources' });
    this.#empty = el('p', { class: 'sources-empty' }, 'Nobody is sending into this room.');
    this.root = el('div', { class: 'card-sources' },
      el('h4', { class: 'sources-heading' }, 'Sources'), this.#list, this.#empty);
  }

  /** The room's latest `health` (health.js `parseHealth`) at page time `now`, in seconds. */
  updateHealth(tracks, now) {
    this.#health = tracks;
    this.#healthAt = now;
    for (const [id, row] of this.#rows) row.health.update(tracks.get(id) ?? null, now);
  }

  /** Show `sources` (null: none known yet). */
  update(sources) {
    const list = sources ?? [];
    const ids = new Set(list.map((source) => source.id));
    for (const [id, row] of this.#rows) {
      if (!ids.has(id)) {
        row.root.remove();
        this.#rows.delete(id);
      }
    }
    list.forEach((source, index) => {
      let row = this.#rows.get(source.id);
      if (row === undefined) {
        row = this.#newRow();
        this.#rows.set(source.id, row);
        row.health.update(this.#health.get(source.id) ?? null, this.#healthAt);
      }
      showRow(row, source);
      // Kept in the server's order without moving rows that are already in place.
      if (this.#list.children[index] !== row.root) this.#list.insertBefore(row.root, this.#list.children[index] ?? null);
    });
    setShown(this.#list, list.length > 0);
    setShown(this.#empty, list.length === 0);
  }

  #newRow() {
    const row = {
      source: null,
      name: el('span', { class: 'source-name' }),
      facts: el('span', { class: 'source-facts' }),
      speaking: el('span', { class: 'source-speaking' }),
      place: el('span', { class: 'badge source-place' }),
      health: new SourceHealth(),
    };
    row.button = el('button', {
      type: 'button', class: 'source-move',
      onclick: () => this.#move(row.source, stageMove(row.source).action),
    });
    row.root = el('li', { class: 'source' },
      el('span', { class: 'source-dot', 'aria-hidden': 'true' }),
      el('span', { class: 'source-who' }, row.name, row.facts, row.speaking),
      row.place, this.#movable ? row.button : null, row.health.root);
    return row;
  }
}

function showRow(row, source) {
  row.source = source;
  row.root.dataset.place = source.onStage ? 'stage' : 'backstage';
  row.root.dataset.speaking = String(source.speaking);
  row.root.dataset.source = source.id;
  setText(row.name, source.name || 'Unnamed');
  setText(row.facts, `${roleWords(source.role)} · ${kindsWords(source.kinds)}`);
  setText(row.speaking, source.speaking ? 'speaking' : '');
  setText(row.place, placeWords(source));
  row.place.className = `badge source-place ${source.onStage ? 'badge-live' : 'badge-lobby'}`;
  const { label } = stageMove(source);
  setText(row.button, label);
  row.button.setAttribute('aria-label', `${label}: ${source.name || 'unnamed source'}`);
}
