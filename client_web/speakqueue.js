// The speaker's queue on the speak page: the questions the moderator approved, the one pinned
// (being answered now) first, then as the moderator chose (most votes or oldest first).
// Read-only; it follows the room live.

import { byId, placeChildren, setShown, setText } from './dom.js';
import { QuestionCard } from './questioncard.js';
import { QuestionFeed } from './questionfeed.js';
import { speakerQueue } from './questions.js';

export class SpeakerQueue {
  #doc;
  #feed;
  #cards = new Map();
  #hasToken;
  #refused = false; // the list will not come: its refusal is shown instead of "Loading…"

  constructor(doc, roomId, token, follower) {
    this.#doc = doc;
    this.#hasToken = token !== null;
    this.#feed = new QuestionFeed(roomId, follower, {
      changed: () => this.#render(),
      refused: (words) => this.#showProblem(words),
    });
    this.#render();
  }

  linkStatus(status) {
    if (this.#hasToken) this.#feed.linkStatus(status);
  }

  question(body) {
    this.#feed.question(body);
  }

  questionOrder(body) {
    this.#feed.questionOrder(body);
  }

  tokenRefused() {
    this.#hasToken = false;
    this.#render();
  }

  #showProblem(words) {
    const problem = byId(this.#doc, 'queue-error');
    setText(problem, words);
    setShown(problem, true);
    this.#refused = !this.#feed.loaded;
    this.#render();
  }

  #render() {
    const doc = this.#doc;
    setShown(byId(doc, 'queue'), this.#hasToken);
    const queue = speakerQueue(this.#feed.questions, this.#feed.order);
    const seen = new Set(queue.map((question) => question.id));
    for (const id of this.#cards.keys()) if (!seen.has(id)) this.#cards.delete(id);
    placeChildren(byId(doc, 'queue-list'), queue.map((question) => this.#card(question).root));
    const empty = byId(doc, 'queue-empty');
    setText(empty, this.#feed.loaded
      ? 'No questions approved yet. They appear here as the moderator approves them.'
      : 'Loading the questions…');
    setShown(empty, queue.length === 0 && !(this.#refused && !this.#feed.loaded));
    setText(byId(doc, 'queue-count'), queue.length === 0 ? '' : String(queue.length));
  }

  #card(question) {
    const card = this.#cards.get(question.id);
    if (card !== undefined) {
      card.update(question);
      return card;
    }
    const created = new QuestionCard(question, {});
    this.#cards.set(question.id, created);
    return created;
  }
}
