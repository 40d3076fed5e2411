// The hall screen (screen.html, /screen/{room}, a technician's or moderator's link): for the
// projector, only the room's title and the question being answered now, in large type, with
// its asker's name unless they asked anonymously. Nothing else when nothing is pinned.

import { byId, setShown, setText } from './dom.js';
import { QuestionFeed } from './questionfeed.js';
import { pinnedQuestion } from './questions.js';
import { startRoomPage } from './roompage.js';
import { accessStop, explainLater, showWay } from './stopway.js';

const STOPS = Object.freeze({
  noToken: { heading: 'This screen needs a technician’s or moderator’s access link (#token=…).', next: 'contact' },
  invalidToken: { heading: 'The access link is not valid or has expired.', next: 'contact' },
  forbidden: { heading: 'This screen is not open to your access link.', next: 'access' },
  unknownRoom: { heading: 'There is no such room.' },
});

class ScreenPage {
  #doc;
  #roomId;
  #token;
  #items = [];
  #feed;
  #note = '';
  #stop = null;
  #hasToken;

  constructor(doc, roomId, token, follower) {
    this.#doc = doc;
    this.#roomId = roomId;
    this.#token = token;
    this.#hasToken = token !== null;
    this.#feed = new QuestionFeed(roomId, follower, {
      changed: () => this.#render(),
      refused: (words, reply) => this.#refused(words, reply),
    });
    if (token === null) this.#stopWith(STOPS.noToken);
    else this.#checkAccess(token);
    this.#render();
  }

  changed({ item, items }) {
    this.#items = items;
    if (item === null) this.#stopWith(STOPS.unknownRoom);
    this.#render();
  }

  tick() {}

  tokenRefused() {
    this.#hasToken = false;
    this.#stopWith(STOPS.invalidToken);
  }

  leave() {}

  linkStatus(status) {
    if (this.#hasToken) this.#feed.linkStatus(status);
  }

  question(body) {
    this.#feed.question(body);
  }

  /** Stop at once, in plain words, if the link may not use this screen (another role or room). */
  async #checkAccess(token) {
    try {
      const stop = await accessStop(token, 'screen', this.#roomId);
      if (stop !== null) this.#stopWith(stop);
    } catch {
      // A refused token is reported by the live link; other failures by the feed's answers.
    }
  }

  #refused(words, reply) {
    if (reply?.error === 'forbidden') this.#stopWith(STOPS.forbidden);
    else this.#showNote(words);
  }

  #stopWith(stop) {
    this.#stop = stop;
    this.#showNote([stop.heading, stop.text].filter(Boolean).join(' '));
    const context = { token: this.#token, page: 'screen', roomId: this.#roomId };
    explainLater(stop, context, () => this.#stop, (explained) => this.#stopWith(explained));
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
    showWay(byId(doc, 'screen-way'), this.#stop, this.#items);
  }
}

startRoomPage('Screen', (doc, roomId, token, follower) => new ScreenPage(doc, roomId, token, follower));
