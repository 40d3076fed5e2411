// A room's questions kept live for a page: the whole list asked for (`questions`) each time the
// live link comes up, on connect and after every reconnection, and each `question` event put
// into the book as it comes. Events that arrive while the list is on its way are put in again
// after it, so the older list never undoes them. With the list comes the order the moderator
// chose for the speakers' queue, and each `question_order` event changes it.

import { LinkStatus } from './live.js';
import { QuestionBook, queueOrder } from './questions.js';
import { refusalWords } from './questionwords.js';

export class QuestionFeed {
  #book = new QuestionBook();
  #roomId;
  #follower;
  #handlers;
  #loading = null;
  #loaded = false;
  #order = queueOrder(undefined);

  /**
   * `follower`: the page's RoomFollower (its `connection` is asked). `handlers`:
   * changed({change, question} | {loaded: true} | {order}) after every change of the book,
   * refused(words, reply) when the server will not give the list.
   */
  constructor(roomId, follower, handlers) {
    this.#roomId = roomId;
    this.#follower = follower;
    this.#handlers = handlers;
  }

  /** Every question this page may see, in no particular order. */
  get questions() {
    return this.#book.all();
  }

  /** How the moderator wants the speakers' queue sorted after the pinned question. */
  get order() {
    return this.#order;
  }

  get book() {
    return this.#book;
  }

  /** Whether the list has come at least once. */
  get loaded() {
    return this.#loaded;
  }

  get connection() {
    return this.#follower.connection;
  }

  linkStatus(status) {
    if (status === LinkStatus.LIVE) this.reload();
  }

  /** A `question` event (or an ack's question): true when it changed the book. */
  question(body) {
    this.#loading?.push(body);
    const done = this.#book.apply(body);
    if (done !== null) this.#handlers.changed(done);
    return done !== null;
  }

  /** A `question_order` event, or the moderator's own choice acknowledged. */
  questionOrder(body) {
    this.#order = queueOrder(body?.order);
    this.#handlers.changed({ order: this.#order });
  }

  async reload() {
    const connection = this.#follower.connection;
    if (connection === null) return;
    const during = [];
    this.#loading = during;
    const reply = await connection.questions(this.#roomId);
    if (this.#loading !== during) return; // a later load took over
    this.#loading = null;
    if (!reply.ok) {
      this.#handlers.refused?.(refusalWords(reply), reply);
      return;
    }
    this.#book.load(reply.questions);
    this.#order = queueOrder(reply.order);
    for (const body of during) this.#book.apply(body);
    this.#loaded = true;
    this.#handlers.changed({ loaded: true });
  }
}
