// The Q&A panel beside the player on the watch page: ask (up to 500 characters, a counter, and
// "Ask anonymously"), the approved questions and one's own still waiting for the moderator,
// a vote on each (pressed again, the vote is taken back), most votes or newest first, and
// "Withdraw" on one's own. Live: the list follows the room's `question` events.

import { ConfirmDialog } from './confirm.js';
import { byId, placeChildren, setShown, setText } from './dom.js';
import { QuestionCard } from './questioncard.js';
import { QuestionFeed } from './questionfeed.js';
import { MAX_QUESTION_LENGTH, QuestionSort, QuestionStatus, askableText, attendeeList } from './questions.js';
import { counterWords, questionLength, refusalWords } from './questionwords.js';
import { RoomState } from './roomstate.js';

export class QuestionPanel {
  #doc;
  #roomId;
  #feed;
  #confirm;
  #cards = new Map();
  #sort = QuestionSort.VOTES;
  #roomState = null;
  #hasToken;
  #sending = false;

  constructor(doc, roomId, token, follower) {
    this.#doc = doc;
    this.#roomId = roomId;
    this.#hasToken = token !== null;
    this.#confirm = new ConfirmDialog(doc);
    this.#feed = new QuestionFeed(roomId, follower, {
      changed: () => this.#render(),
      refused: (words) => this.#showListProblem(words),
    });
    const text = byId(doc, 'ask-text');
    text.addEventListener('input', () => this.#showCount());
    text.addEventListener('keydown', (event) => {
      // A question is one paragraph: Enter sends it, as in a chat.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        byId(doc, 'ask-form').requestSubmit();
      }
    });
    byId(doc, 'ask-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.#ask();
    });
    for (const button of doc.querySelectorAll('#qa-sort button')) {
      button.addEventListener('click', () => this.#sortBy(button.dataset.sort));
    }
    this.#showCount();
    this.#render();
  }

  /** The room (RoomFollower's view): its state says whether questions are open yet. */
  changed({ item }) {
    this.#roomState = item?.room.state ?? null;
    this.#render();
  }

  linkStatus(status) {
    if (this.#hasToken) this.#feed.linkStatus(status);
  }

  question(body) {
    this.#feed.question(body);
  }

  tokenRefused() {
    this.#hasToken = false;
    this.#render();
  }

  async #ask() {
    if (this.#sending) return;
    const doc = this.#doc;
    const box = byId(doc, 'ask-text');
    const text = askableText(box.value).trim();
    if (text === '') {
      this.#showAskProblem('Type your question first.');
      box.focus();
      return;
    }
    if (questionLength(text) > MAX_QUESTION_LENGTH) {
      this.#showAskProblem(`A question can be at most ${MAX_QUESTION_LENGTH} characters long.`);
      box.focus();
      return;
    }
    this.#sending = true;
    byId(doc, 'ask-send').setAttribute('aria-disabled', 'true');
    const anonymous = byId(doc, 'ask-anonymous').checked;
    const reply = await this.#feed.connection.ask({ room: this.#roomId, text, anonymous });
    this.#sending = false;
    byId(doc, 'ask-send').removeAttribute('aria-disabled');
    if (!reply.ok) {
      this.#showAskProblem(refusalWords(reply));
      return;
    }
    this.#feed.question(reply.question);
    box.value = '';
    this.#showCount();
    setShown(byId(doc, 'ask-error'), false);
    setText(byId(doc, 'ask-done'), reply.question?.status === QuestionStatus.PENDING
      ? 'Sent. Your question waits for the moderator; only you see it until it is approved.'
      : 'Sent. Your question is in the list.');
  }

  async #vote(question) {
    const reply = await this.#feed.connection.vote({ question: question.id, up: !question.voted });
    if (reply.ok) {
      if (reply.question) this.#feed.question(reply.question);
      this.#showListProblem(null);
    } else {
      this.#showListProblem(refusalWords(reply));
    }
  }

  async #withdraw(question) {
    const agreed = await this.#confirm.ask(
      'Withdraw your question? It is removed for everyone, with its votes.', 'Withdraw');
    if (!agreed) return;
    const reply = await this.#feed.connection.moderate({ question: question.id, action: 'withdraw' });
    if (!reply.ok) {
      this.#showListProblem(refusalWords(reply));
      return;
    }
    this.#feed.question({ id: question.id, room: this.#roomId, status: QuestionStatus.WITHDRAWN });
    setText(byId(this.#doc, 'ask-done'), 'Your question was withdrawn.');
    byId(this.#doc, 'ask-text').focus();
  }

  #sortBy(sort) {
    this.#sort = sort === QuestionSort.TIME ? QuestionSort.TIME : QuestionSort.VOTES;
    this.#render();
  }

  #showCount() {
    const box = byId(this.#doc, 'ask-text');
    const words = counterWords(questionLength(box.value));
    const counter = byId(this.#doc, 'ask-count');
    setText(counter, words.text);
    counter.dataset.over = String(words.over);
    box.setAttribute('aria-invalid', String(words.over));
  }

  #showAskProblem(words) {
    const problem = byId(this.#doc, 'ask-error');
    setText(problem, words);
    setShown(problem, true);
    setText(byId(this.#doc, 'ask-done'), '');
  }

  #showListProblem(words) {
    const problem = byId(this.#doc, 'qa-error');
    setText(problem, words ?? '');
    setShown(problem, words !== null);
  }

  #actions(question) {
    const actions = [];
    if (question.status === QuestionStatus.APPROVED) {
      actions.push({
        id: 'vote', label: 'Vote', pressed: question.voted, run: (q) => this.#vote(q),
      });
    }
    if (question.mine && question.status !== QuestionStatus.ANSWERED) {
      actions.push({ id: 'withdraw', label: 'Withdraw', run: (q) => this.#withdraw(q) });
    }
    return actions;
  }

  #render() {
    const doc = this.#doc;
    setShown(byId(doc, 'qa-signed-out'), !this.#hasToken);
    setShown(byId(doc, 'ask-form'), this.#hasToken);
    setShown(byId(doc, 'qa-list-area'), this.#hasToken);
    setText(byId(doc, 'ask-hint-state'), this.#roomState === RoomState.SCHEDULED
      ? 'Questions open when the lobby opens, before the item starts.' : '');
    for (const button of doc.querySelectorAll('#qa-sort button')) {
      button.setAttribute('aria-pressed', String(button.dataset.sort === this.#sort));
    }
    const shown = attendeeList(this.#feed.questions, this.#sort);
    const seen = new Set(shown.map((question) => question.id));
    for (const id of this.#cards.keys()) if (!seen.has(id)) this.#cards.delete(id);
    const nodes = shown.map((question) => this.#card(question).root);
    placeChildren(byId(doc, 'question-list'), nodes);
    const empty = byId(doc, 'qa-empty');
    setText(empty, this.#feed.loaded ? 'No questions yet. Be the first to ask.' : 'Loading the questions…');
    setShown(empty, shown.length === 0);
    const count = shown.filter((question) => question.status === QuestionStatus.APPROVED).length;
    setText(byId(doc, 'qa-count'), count === 0 ? '' : `${count} open`);
  }

  #card(question) {
    const card = this.#cards.get(question.id);
    if (card !== undefined) {
      card.update(question);
      return card;
    }
    const created = new QuestionCard(question, {
      audience: true, actions: (q) => this.#actions(q),
    });
    this.#cards.set(question.id, created);
    return created;
  }
}
