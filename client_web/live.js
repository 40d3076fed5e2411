// The Socket.IO connection to the server and its status, as the pages need it: events in
// (`agenda`, `room_state`, `stage`, `notice`, `notices`, `question`), control commands, notices
// and the audience's questions (ask, vote, moderate) out with their acknowledgement.
//
// The connection comes back by itself. A transport that drops (a network drop, a server
// restarting) is retried by Socket.IO. A server that hangs up on purpose is asked again too:
// the next answer says why (a token no longer valid is refused; anything else connects), so no
// goodbye is ever taken as final. Both wait longer after each failure, up to a ceiling, with
// jitter, so that a hall of pages does not come back in one burst.

import { io } from '/vendor/socket.io.esm.min.js';

const ACK_TIMEOUT_MS = 10_000;
const RETRY = Object.freeze({ firstMs: 1_000, maxMs: 10_000, jitter: 0.5 });
// A connection that lasted this long starts counting hang-ups afresh.
const SETTLED_MS = 60_000;

export const LinkStatus = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  LIVE: 'live',
  RECONNECTING: 'reconnecting',
  INVALID_TOKEN: 'invalid_token',
  REFUSED: 'refused',
});

/** The wait before retry number `attempt` (0, 1, …): doubling, capped, ± `jitter`. */
export function retryDelayMs(attempt, random = Math.random) {
  const base = Math.min(RETRY.maxMs, RETRY.firstMs * 2 ** attempt);
  return Math.round(base * (1 - RETRY.jitter + 2 * RETRY.jitter * random()));
}

export class LiveConnection {
  #socket;
  #onStatus;
  #hangups = 0;
  #connectedAt = 0;
  #askAgain = null;
  #closed = false;

  /**
   * Connect (with `token`, or anonymously when it is null) and deliver events to `handlers`:
   * {agenda(body), roomState(body), stage(body), notice(body), notices(body), question(body),
   * questionOrder(body), status(LinkStatus, detail)}.
   */
  constructor({ token = null, handlers }) {
    this.#onStatus = handlers.status ?? (() => {});
    this.#socket = io({
      ...(token ? { auth: { token } } : {}),
      reconnectionDelay: RETRY.firstMs,
      reconnectionDelayMax: RETRY.maxMs,
      randomizationFactor: RETRY.jitter,
    });
    this.#listen(handlers);
    this.#onStatus(LinkStatus.CONNECTING, null);
  }

  /** Send a control command; resolves with the server's ack body (`{ok, ...}`). */
  async control(command) {
    return this.#request('control', command);
  }

  /** `notice` {text, level, room} to post one, or {id, action: 'clear'} to take it down. */
  async notice(command) {
    return this.#request('notice', command);
  }

  /** `ask` {room, text, anonymous}: resolves with the ack ({ok, question} or a refusal). */
  async ask(question) {
    return this.#request('ask', question);
  }

  /** `vote` {question, up}. */
  async vote(vote) {
    return this.#request('vote', vote);
  }

  /** `questions` {room}: resolves with {ok, questions, order} (those this receiver may see). */
  async questions(room) {
    return this.#request('questions', { room });
  }

  /** `moderate` {question, action, text?}, or {room, action: 'order', by}. */
  async moderate(command) {
    return this.#request('moderate', command);
  }

  /** Stop for good (no reconnection). */
  close() {
    this.#closed = true;
    clearTimeout(this.#askAgain);
    this.#socket.disconnect();
  }

  async #request(event, payload) {
    if (!this.#socket.connected) {
      return { ok: false, error: 'offline', message: 'Not connected to the server; try again in a moment.' };
    }
    try {
      const reply = await this.#socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
      return reply && typeof reply === 'object'
        ? reply
        : { ok: false, error: 'bad_response', message: 'The server sent an unreadable answer.' };
    } catch {
      return { ok: false, error: 'timeout', message: 'The server did not answer in time; check the state and try again.' };
    }
  }

  #listen(handlers) {
    const socket = this.#socket;
    socket.on('connect', () => {
      this.#connectedAt = Date.now();
      this.#onStatus(LinkStatus.LIVE, null);
    });
    socket.on('disconnect', (reason) => {
      if (this.#closed) return;
      this.#onStatus(LinkStatus.RECONNECTING, reason);
      // Socket.IO retries everything but the server's own hang-up.
      if (reason === 'io server disconnect') this.#connectLater();
    });
    socket.on('connect_error', (error) => this.#onConnectError(error));
    if (handlers.agenda) socket.on('agenda', handlers.agenda);
    if (handlers.roomState) socket.on('room_state', handlers.roomState);
    if (handlers.stage) socket.on('stage', handlers.stage);
    if (handlers.notice) socket.on('notice', handlers.notice);
    if (handlers.notices) socket.on('notices', handlers.notices);
    if (handlers.health) socket.on('health', handlers.health);
    if (handlers.alert) socket.on('alert', handlers.alert);
    if (handlers.question) socket.on('question', handlers.question);
    if (handlers.questionOrder) socket.on('question_order', handlers.questionOrder);
    if (handlers.registration) socket.on('registration', handlers.registration);
  }

  #connectLater() {
    if (Date.now() - this.#connectedAt > SETTLED_MS) this.#hangups = 0;
    clearTimeout(this.#askAgain);
    this.#askAgain = setTimeout(() => {
      if (!this.#closed) this.#socket.connect();
    }, retryDelayMs(this.#hangups++));
  }

  #onConnectError(error) {
    if (error?.data?.error === 'invalid_token') {
      this.close();
      this.#onStatus(LinkStatus.INVALID_TOKEN, error.data.message ?? null);
    } else if (this.#socket.active) {
      // A transport failure: Socket.IO keeps retrying with backoff.
      this.#onStatus(LinkStatus.RECONNECTING, error?.message ?? null);
    } else {
      this.#onStatus(LinkStatus.REFUSED, error?.data?.message ?? error?.message ?? null);
    }
  }
}
