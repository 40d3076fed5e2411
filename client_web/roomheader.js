// The masthead of a one-room page (watch, speak): the item's title, kind and privacy notes,
// its times in the event's zone and the reader's, the room's state badge and its countdown.

import { byId, el, setShown, setText } from './dom.js';
import { countdown, stateBadge } from './roomstate.js';
import { kindLabel } from './timetable.js';

export class RoomHeader {
  #doc;
  #pageName;
  #title;
  #facts;
  #times;
  #badge;
  #countdown;

  /** `pageName` ends the document title: "Keynote Address – Watch". */
  constructor(doc, pageName) {
    this.#doc = doc;
    this.#pageName = pageName;
    this.#title = byId(doc, 'item-title');
    this.#facts = byId(doc, 'item-facts');
    this.#times = byId(doc, 'item-times');
    this.#badge = byId(doc, 'room-badge');
    this.#countdown = byId(doc, 'room-countdown');
  }

  /** `times` a ReaderTime: both zones, labelled. */
  show(item, times) {
    setText(this.#title, item.title);
    this.#doc.title = `${item.title} – ${this.#pageName}`;
    const facts = `${item.kind} ${item.audioOnly} ${item.recorded}`;
    if (this.#facts.dataset.shows !== facts) {
      this.#facts.dataset.shows = facts;
      this.#facts.replaceChildren(...[
        el('span', { class: `kind kind-${item.kind}` }, kindLabel(item.kind)),
        item.audioOnly ? el('span', { class: 'badge badge-audio' }, 'Audio only') : null,
        item.recorded ? null : el('span', { class: 'badge badge-private' }, 'Not recorded'),
      ].filter(Boolean));
    }
    const room = item.room;
    const starts = room.startsAt ?? item.startsAt;
    const ends = room.endsAt ?? item.endsAt;
    setText(this.#times, times.range(starts, ends));
    const badge = stateBadge(room, times);
    setText(this.#badge, badge.text);
    this.#badge.className = `badge badge-${badge.tone}`;
    setShown(this.#badge, true);
  }

  tick(item, now) {
    const text = countdown(item.room, now);
    setShown(this.#countdown, text !== null);
    setText(this.#countdown, text ?? '');
  }
}
