// The hall screen (screen.html, /screen/{room}, a technician's or moderator's link): for the
// projector, only the room's title and the question being answered now, in large type, with
// its asker's name unless they asked anonymously. Nothing else when nothing is pinned.

import { byId, setShown, setText } from './dom.js';
import { QuestionFeed } from './questionfeed.js';
import { pinnedQuestion } from './questions.js';
import { startRoomPage } from './roompage.js';

const NOTES = Object.freeze({
  noToken: 'This screen needs a technician’s or moderator’s access link (#token=…).',
  invalidToken: 'The access link is not valid or has expired.',
  unknownRoom: 'There is no such room.',
});

class ScreenPage {
  #doc;
  #feed;
  #note = '';
  #hasToken;

  constructor(doc, roomId, token, follower) {
    this.#doc = doc;
    this.#hasToken = token !== null;
    this.#feed = new QuestionFeed(roomId, follower, {
      changed: () => this.#render(),
      refused: (words) => this.#showNote(words),
    });
    if (token === null) this.#note = NOTES.noToken;
    this.#render();
  }

  changed({ item }) {
    if (item === null) this.#note = NOTES.unknownRoom;
    this.#render();
  }

  tick() {}

  tokenRefused() {
    this.#hasToken = false;
    this.#showNote(NOTES.invalidToken);
  }

  leave() {}

  linkStatus(status) {
    if (this.#hasToken) this.#feed.linkStatus(status);
  }

  question(body) {
    this.#feed.question(body);
  }

  #showNote(words) {
    this.#note = words;
    this.#render();
  }

  #render() {
    const doc = this.#doc;
    const pinned = pinnedQuestion(this.#feed.questions);
    byId(doc, 'screen-main').dataset.pinned = String(pinned !== null);
    setShown(byId(doc, 'screen-question'), pinned !== null);
    setText(byId(doc, 'screen-text'), pinned?.text ?? '');
    const author = byId(doc, 'screen-author');
    setText(author, pinned?.author ?? '');
    setShown(author, pinned?.author != null);
    setText(byId(doc, 'screen-note'), this.#note);
  }
}

startRoomPage('Screen', (doc, roomId, token, follower) => new ScreenPage(doc, roomId, token, follower));
