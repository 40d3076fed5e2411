// The moderator's page (moderate.html, /moderate/{room}): the room's questions in three
// columns, pending, approved and answered, with their counts, the dismissed ones folded away
// with "Restore", and the pinned question on top. One click, or one key on the selected
// question, approves, dismisses, marks answered, pins or unpins, or edits the wording in place.
// New questions are read out to screen readers. On a phone the columns become three buttons
// that show one column at a time. "Speakers see" chooses how the speakers' queue (and the
// approved column) is sorted after the pinned question: most votes first, or oldest first.

import { Announcer } from './status.js';
import { byId, placeChildren, setShown, setText } from './dom.js';
import { QuestionCard } from './questioncard.js';
import { QuestionFeed } from './questionfeed.js';
import { Change, QuestionSort, QuestionStatus, moderatorColumns } from './questions.js';
import { arrivalWords, moderateActions, movedWords, refusalWords } from './questionwords.js';
import { startRoomPage } from './roompage.js';
import { accessStop, explainLater, showWay } from './stopway.js';

const COLUMNS = Object.freeze(['pending', 'approved', 'answered', 'dismissed']);

const STOPS = Object.freeze({
  noToken: {
    heading: 'This page needs a moderator’s access link',
    text: 'Open it with the link you were given (it ends in #token=…).',
    next: 'contact',
  },
  invalidToken: {
    heading: 'Your access link is not valid or has expired',
    text: 'Ask the organizers for a new moderator link.',
    next: 'contact',
  },
  forbidden: {
    heading: 'Your link does not let you moderate this room',
    text: 'Your link opens only the rooms and pages it was made for.',
    next: 'access',
  },
  unknownRoom: { heading: 'There is no such room', text: 'Check the link you were given.' },
});

class ModeratePage {
  #doc;
  #roomId;
  #token;
  #items = [];
  #feed;
  #announcer;
  #cards = new Map();
  #pinnedCard = null;
  #stop = null;
  #column = 'pending';

  constructor(doc, roomId, token, follower) {
    this.#doc = doc;
    this.#roomId = roomId;
    this.#token = token;
    this.#announcer = new Announcer(byId(doc, 'announcer'));
    this.#feed = new QuestionFeed(roomId, follower, {
      changed: (done) => this.#changed(done),
      refused: (words, reply) => this.#refused(words, reply),
    });
    byId(doc, 'moderation').addEventListener('keydown', (event) => this.#key(event));
    for (const button of doc.querySelectorAll('#queue-order button')) {
      button.addEventListener('click', () => this.#chooseOrder(button.dataset.order));
    }
    for (const button of doc.querySelectorAll('#column-tabs button')) {
      button.addEventListener('click', () => this.#showColumn(button.dataset.column));
    }
    if (token === null) this.#stopWith(STOPS.noToken);
    else this.#checkAccess(token);
    this.#render();
  }

  changed({ event, item, items }) {
    this.#items = items;
    setText(byId(this.#doc, 'event-name'), `Moderation · ${event.name}`);
    if (item === null) this.#stopWith(STOPS.unknownRoom);
    this.#render();
  }

  tick() {}

  tokenRefused() {
    this.#stopWith(STOPS.invalidToken);
  }

  leave() {}

  linkStatus(status) {
    if (this.#stop === null) this.#feed.linkStatus(status);
  }

  question(body) {
    this.#feed.question(body);
  }

  questionOrder(body) {
    this.#feed.questionOrder(body);
  }

  async #chooseOrder(order) {
    const by = order === QuestionSort.TIME ? QuestionSort.TIME : QuestionSort.VOTES;
    const reply = await this.#feed.connection.moderate({ room: this.#roomId, action: 'order', by });
    if (!reply.ok) {
      this.#showProblem(refusalWords(reply));
      return;
    }
    this.#feed.questionOrder(reply);
  }

  /** Stop at once, in plain words, if the link may not moderate here (another role or room). */
  async #checkAccess(token) {
    try {
      const stop = await accessStop(token, 'moderate', this.#roomId);
      if (stop !== null) this.#stopWith(stop);
    } catch (error) {
      if (error.status === 401) this.#stopWith(STOPS.invalidToken);
      // Otherwise the server's answers to the page's requests say what is wrong.
    }
  }

  #changed(done) {
    const question = done.question;
    const arrived = done.change === Change.ADDED && this.#feed.loaded && !question.mine
      && (question.status === QuestionStatus.PENDING || question.status === QuestionStatus.APPROVED);
    if (arrived) this.#announcer.say(arrivalWords(question));
    this.#render();
  }

  #refused(words, reply) {
    if (reply.error === 'forbidden') this.#stopWith(STOPS.forbidden);
    else this.#showProblem(words);
  }

  #stopWith(stop) {
    this.#stop = stop;
    this.#render();
    const context = { token: this.#token, page: 'moderate', roomId: this.#roomId };
    explainLater(stop, context, () => this.#stop, (explained) => {
      this.#stop = explained;
      this.#render();
    });
  }

  async #moderate(question, action, text) {
    const command = { question: question.id, action };
    if (text !== undefined) command.text = text;
    const reply = await this.#feed.connection.moderate(command);
    if (!reply.ok) {
      const words = refusalWords(reply);
      this.#showProblem(words);
      return { ok: false, words };
    }
    if (reply.question) this.#feed.question(reply.question);
    setShown(byId(this.#doc, 'action-error'), false);
    setText(byId(this.#doc, 'action-done'), movedWords(action));
    return { ok: true };
  }

  /** An action from a button or a key: the keyboard stays in the column it was in. */
  async #act(card, action) {
    if (action === 'edit') {
      card.edit((text) => this.#moderate(card.question, 'edit', text));
      return;
    }
    const neighbour = card.root.nextElementSibling ?? card.root.previousElementSibling;
    const hadFocus = card.root.contains(this.#doc.activeElement);
    await this.#moderate(card.question, action);
    const focused = this.#doc.activeElement;
    if (hadFocus && (focused === null || focused === this.#doc.body)) {
      (neighbour?.isConnected ? neighbour : byId(this.#doc, 'columns')).focus();
    }
  }

  #key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest('textarea, input, select, summary')) return;
    const item = event.target.closest('li.question');
    if (item === null) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = event.key === 'ArrowDown' ? item.nextElementSibling : item.previousElementSibling;
      next?.focus();
      return;
    }
    const card = this.#cardOf(item);
    const action = card === null ? undefined
      : moderateActions(card.question).find((candidate) => candidate.key === event.key.toLowerCase());
    if (action === undefined) return;
    event.preventDefault();
    this.#act(card, action.action);
  }

  #cardOf(item) {
    if (this.#pinnedCard?.root === item) return this.#pinnedCard;
    return this.#cards.get(item.dataset.id) ?? null;
  }

  #showColumn(column) {
    this.#column = column;
    this.#render();
  }

  #showProblem(words) {
    const problem = byId(this.#doc, 'action-error');
    setText(problem, words);
    setShown(problem, true);
    setText(byId(this.#doc, 'action-done'), '');
  }

  #render() {
    const doc = this.#doc;
    const stopPanel = byId(doc, 'stop-panel');
    setShown(stopPanel, this.#stop !== null);
    setShown(byId(doc, 'moderation'), this.#stop === null);
    showWay(byId(doc, 'stop-way'), this.#stop, this.#items);
    if (this.#stop !== null) {
      setText(byId(doc, 'stop-heading'), this.#stop.heading);
      setText(byId(doc, 'stop-text'), this.#stop.text ?? '');
      return;
    }
    const columns = moderatorColumns(this.#feed.questions, this.#feed.order);
    for (const button of this.#doc.querySelectorAll('#queue-order button')) {
      button.setAttribute('aria-pressed', String(button.dataset.order === this.#feed.order));
    }
    const seen = new Set(this.#feed.questions.map((question) => question.id));
    for (const id of this.#cards.keys()) if (!seen.has(id)) this.#cards.delete(id);
    for (const name of COLUMNS) {
      const questions = columns[name];
      placeChildren(byId(doc, `${name}-list`), questions.map((question) => this.#card(question).root));
      setShown(byId(doc, `${name}-empty`), questions.length === 0);
      setText(byId(doc, `${name}-count`), String(questions.length));
    }
    this.#renderPinned(columns.pinned);
    this.#renderTabs(columns);
  }

  #renderPinned(pinned) {
    const doc = this.#doc;
    if (pinned === null) {
      this.#pinnedCard = null;
    } else if (this.#pinnedCard?.question.id === pinned.id) {
      this.#pinnedCard.update(pinned);
    } else {
      this.#pinnedCard = this.#newCard(pinned);
    }
    placeChildren(byId(doc, 'pinned-list'), this.#pinnedCard === null ? [] : [this.#pinnedCard.root]);
    setShown(byId(doc, 'pinned-none'), pinned === null);
    byId(doc, 'pinned-box').dataset.pinned = String(pinned !== null);
  }

  #renderTabs(columns) {
    byId(this.#doc, 'columns').dataset.current = this.#column;
    for (const button of this.#doc.querySelectorAll('#column-tabs button')) {
      const name = button.dataset.column;
      button.setAttribute('aria-pressed', String(name === this.#column));
      setText(button.querySelector('.tab-count'), String(columns[name].length));
    }
  }

  #card(question) {
    const card = this.#cards.get(question.id);
    if (card !== undefined) {
      card.update(question);
      return card;
    }
    const created = this.#newCard(question);
    this.#cards.set(question.id, created);
    return created;
  }

  #newCard(question) {
    const card = new QuestionCard(question, {
      focusable: true,
      actions: (q) => moderateActions(q).map(({ action, label, key }) => ({
        id: action, label, key, kind: action, run: () => this.#act(card, action),
      })),
    });
    return card;
  }
}

startRoomPage('Moderate', (doc, roomId, token, follower) => new ModeratePage(doc, roomId, token, follower));
