// One question on a page (the attendee's panel, the moderator's columns, the speaker's queue):
// its text, who asked and when, its state and votes, and the buttons the page gives it. Built
// once and updated in place, so keyboard focus stays on a button while its question changes.
// The question's text and its asker's name are people's own words: text nodes only.

import { el, placeChildren, setShown, setText } from './dom.js';
import { MAX_QUESTION_LENGTH, askableText } from './questions.js';
import { authorWords, counterWords, questionLength, stateWords, votesWords } from './questionwords.js';

export class QuestionCard {
  #question;
  #options;
  #text;
  #author;
  #state;
  #votes;
  #actions;
  #buttons = new Map();
  #editor = null;
  // The actions shown now: a click runs the newest one with that id.
  #latest = [];

  /**
   * `options`: {audience (attendees' words), showVotes, focusable (the card itself takes focus, for keys that act on it),
   * actions(question) → [{id, label, run(question), pressed?, key?, kind?}]}.
   */
  constructor(question, options) {
    this.#options = options;
    this.#text = el('p', { class: 'question-text', dir: 'auto' });
    this.#author = el('span', { class: 'question-author' });
    this.#state = el('span', { class: 'question-state' });
    this.#votes = el('span', { class: 'question-votes' });
    this.#actions = el('div', { class: 'question-actions' });
    this.root = el('li', { class: 'question', tabindex: options.focusable ? '0' : null },
      this.#text,
      el('p', { class: 'question-meta' }, el('bdi', {}, this.#author), this.#state, this.#votes),
      this.#actions);
    this.update(question);
  }

  get question() {
    return this.#question;
  }

  get editing() {
    return this.#editor !== null;
  }

  update(question) {
    this.#question = question;
    this.root.dataset.id = question.id;
    this.root.dataset.status = question.status;
    this.root.dataset.pinned = String(question.pinned);
    this.root.dataset.mine = String(question.mine);
    setText(this.#text, question.text);
    setText(this.#author, authorWords(question));
    this.#author.classList.toggle('anonymous', question.author === null);
    const state = stateWords(question, { audience: this.#options.audience === true });
    setText(this.#state, state);
    setShown(this.#state, state !== '');
    setText(this.#votes, votesWords(question.votes));
    setShown(this.#votes, this.#options.showVotes !== false);
    this.#showActions(this.#options.actions?.(question) ?? []);
  }

  /** The button for action `id` if it is shown now. */
  button(id) {
    const button = this.#buttons.get(id);
    return button !== undefined && button.isConnected ? button : null;
  }

  /** Edit the text in place; `save(text)` resolves with the server's reply. Escape cancels. */
  edit(save) {
    if (this.#editor !== null) {
      this.#editor.box.focus();
      return;
    }
    const box = el('textarea', { class: 'question-edit', rows: 3, 'aria-label': 'Question text' });
    box.value = this.#question.text;
    const count = el('span', { class: 'question-edit-count' });
    const problem = el('p', { class: 'question-edit-error', role: 'alert', hidden: true });
    const showCount = () => {
      const words = counterWords(questionLength(box.value), MAX_QUESTION_LENGTH);
      setText(count, words.text);
      box.setAttribute('aria-invalid', String(words.over));
    };
    const form = el('form', { class: 'question-editor' },
      box,
      el('div', { class: 'question-edit-bar' }, count,
        el('button', { type: 'submit', class: 'primary' }, 'Save'),
        el('button', { type: 'button', onclick: () => this.#stopEditing(true) }, 'Cancel')),
      problem);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const reply = await save(askableText(box.value).trim());
      if (reply.ok) {
        this.#stopEditing(true);
      } else {
        setText(problem, reply.words);
        setShown(problem, true);
      }
    });
    box.addEventListener('input', showCount);
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.#stopEditing(true);
      } else if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    showCount();
    this.#editor = { form, box };
    this.#text.after(form);
    setShown(this.#text, false);
    box.focus();
    box.select();
  }

  #stopEditing(refocus) {
    if (this.#editor === null) return;
    this.#editor.form.remove();
    this.#editor = null;
    setShown(this.#text, true);
    if (refocus) (this.root.tabIndex >= 0 ? this.root : this.#actions.firstElementChild)?.focus();
  }

  #showActions(actions) {
    const shown = actions.map((action) => {
      let button = this.#buttons.get(action.id);
      if (button === undefined) {
        button = el('button', {
          type: 'button',
          class: `question-action action-${action.id}`,
          onclick: () => this.#current(action.id)?.run(this.#question),
        });
        this.#buttons.set(action.id, button);
      }
      // The key is shown beside the label, but is not part of the button's name.
      const key = action.key ? action.key.toUpperCase() : '';
      if (button.dataset.shows !== `${action.label} ${key}`) {
        button.dataset.shows = `${action.label} ${key}`;
        button.replaceChildren(action.label, key ? el('kbd', { 'aria-hidden': 'true' }, key) : '');
      }
      if (action.pressed === undefined) button.removeAttribute('aria-pressed');
      else button.setAttribute('aria-pressed', String(action.pressed));
      if (key) button.setAttribute('aria-keyshortcuts', key);
      if (action.kind) button.dataset.kind = action.kind;
      return button;
    });
    this.#latest = actions;
    // Moved, not rebuilt: a button keeps focus while its question changes.
    placeChildren(this.#actions, shown);
    setShown(this.#actions, shown.length > 0);
  }

  #current(id) {
    return this.#latest.find((action) => action.id === id) ?? null;
  }
}
