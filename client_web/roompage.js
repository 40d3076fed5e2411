// What the one-room pages (watch, speak, moderate, screen) share around their own panel:
// starting up (the room from the address, the token from the fragment, the room followed live),
// the masthead, the technicians' notices, the live-link status with the problem line under it,
// and the refusals that stop the page for good.

import { byId, setShown, setText } from './dom.js';
import { LinkStatus } from './live.js';
import { RoomHeader } from './roomheader.js';
import { RoomFollower, roomIdFromPath } from './roomfollow.js';
import { NoticeBoard, showLinkStatus } from './status.js';
import { forgetToken, takeToken } from './token.js';

/**
 * Start the page at /{page}/{room}. `createPage(doc, roomId, token, follower)` makes its own
 * part: an object with changed(view) (RoomFollower's view), tick(now) while the room is known,
 * tokenRefused() when the server turns the token down, leave() on pagehide and, optionally,
 * resume() when the page comes back from the back/forward cache, linkStatus(status) on every
 * change of the live link, question(body) for each of the room's `question` events and
 * questionOrder(body) for each of its `question_order` events.
 * `follower.connection` is the live connection to send on.
 */
export function startRoomPage(pageName, createPage) {
  const roomId = roomIdFromPath(window.location.pathname);
  const token = takeToken();
  // The follower calls back only once started, when the page and its frame exist.
  const follower = new RoomFollower(roomId, {
    changed: (view) => frame.changed(view),
    tick: (now) => frame.tick(now),
    notice: (body) => frame.notice(body),
    notices: (body) => frame.notices(body),
    question: (body) => page.question?.(body),
    questionOrder: (body) => page.questionOrder?.(body),
    linkStatus: (status) => frame.linkStatus(status),
    loadFailed: (error) => frame.loadFailed(error),
  });
  const page = createPage(document, roomId, token, follower);
  const frame = new RoomFrame(document, pageName, token, page);
  window.addEventListener('pagehide', () => page.leave());
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) page.resume?.();
  });
  follower.start(token);
}

/**
 * What a refused media session means for good, from the page's `stops`: its token refused
 * (401; the token is forgotten), the room not allowed (403) or not there (404). Null otherwise.
 * The server's own sentence is not shown: it names room ids and permissions, not next steps.
 */
export function lastingRefusal(error, stops) {
  switch (error.status) {
    case 401:
      forgetToken();
      return stops.invalidToken;
    case 403:
      return stops.forbidden;
    case 404:
      return stops.unknownRoom;
    default:
      return null;
  }
}

class RoomFrame {
  #doc;
  #token;
  #page;
  #header;
  #notices;
  #problem;
  #item = null;

  constructor(doc, pageName, token, page) {
    this.#doc = doc;
    this.#token = token;
    this.#page = page;
    this.#header = new RoomHeader(doc, pageName);
    this.#notices = new NoticeBoard(byId(doc, 'notices'));
    this.#problem = byId(doc, 'link-problem');
  }

  changed(view) {
    this.#item = view.item;
    if (view.item === null) {
      setText(byId(this.#doc, 'item-title'), 'No such room');
    } else {
      this.#header.show(view.item, view.times);
      this.#header.tick(view.item, view.now);
    }
    this.#page.changed(view);
  }

  tick(now) {
    if (this.#item === null) return;
    this.#header.tick(this.#item, now);
    this.#page.tick(now);
  }

  notice(body) {
    this.#notices.show(body);
  }

  notices(body) {
    this.#notices.showAll(body);
  }

  linkStatus(status) {
    showLinkStatus(byId(this.#doc, 'link-status'), status);
    this.#page.linkStatus?.(status);
    if (status === LinkStatus.INVALID_TOKEN && this.#token !== null) {
      forgetToken();
      this.#page.tokenRefused();
    } else if (status === LinkStatus.LIVE) {
      setShown(this.#problem, false);
    }
  }

  loadFailed(error) {
    this.#showProblem(`The agenda could not be loaded (${error.message}). The page fills in as soon as the server answers.`);
  }

  #showProblem(text) {
    setText(this.#problem, text);
    setShown(this.#problem, true);
  }
}
