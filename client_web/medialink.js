// Keeping one WHIP or WHEP session up while the page wants it: connect, notice when the
// connection is lost and connect again with growing pauses, wait as long as the server asks
// when it is full, and stop for good on a refusal that asking again would not change.

import { Refusal } from './http.js';
import { fetchIceServers } from './mediasession.js';

export const LinkState = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  FULL: 'full',
  REFUSED: 'refused',
});

const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 10_000;
const FULL_PAUSE_S = 10;
// A connection that lasted less than this does not reset the pauses: a session the server
// closes at once (another window of the same person took its place) must not come straight back.
const STABLE_MS = 10_000;

/** Pauses before each new attempt: 1 s, 2 s, 4 s, 8 s, then 10 s until reset. */
export class Backoff {
  #next = FIRST_PAUSE_MS;

  nextMs() {
    const pause = this.#next;
    this.#next = Math.min(this.#next * 2, LONGEST_PAUSE_MS);
    return pause;
  }

  reset() {
    this.#next = FIRST_PAUSE_MS;
  }
}

export class MediaLink {
  #open;
  #report;
  #retryRefused;
  #token;
  #backoff = new Backoff();
  #wanted = false;
  #generation = 0;
  #attempt = null;
  #timer = null;
  #connection = null;
  #connectedAt = null;

  /**
   * `open({iceServers, signal})` starts a session (watchRoom, publishToRoom) and resolves with
   * {session, ...}. `report(state, detail)` hears every change: detail is {connection} when
   * CONNECTED, {seconds, retryAt, error} when FULL (the server asked to wait; `retryAt` is a
   * performance.now() time), {error, seconds} when RECONNECTING after an error, {error} when
   * REFUSED. `retryRefused(refusal)` may ask to try again after a 4xx refusal.
   */
  constructor({ token, open, report, retryRefused = () => false }) {
    this.#token = token;
    this.#open = open;
    this.#report = report;
    this.#retryRefused = retryRefused;
  }

  /** True from start() until stop(), or until a refusal ends it. */
  get wanted() {
    return this.#wanted;
  }

  /** The connection now up (as `open` resolved it), or null. */
  get connection() {
    return this.#connection;
  }

  /**
   * Connect, unless already connected or trying. `spreadMs`: wait a random moment up to that
   * long first, so a whole audience told "live" at once does not arrive in the same instant.
   */
  start({ spreadMs = 0 } = {}) {
    if (this.#wanted) return;
    this.#wanted = true;
    this.#backoff.reset();
    if (spreadMs > 0) this.#later(Math.random() * spreadMs, LinkState.CONNECTING, {}, LinkState.CONNECTING);
    else this.#connect(LinkState.CONNECTING);
  }

  /** Drop the current session and connect anew (e.g. with other tracks). */
  restart() {
    if (!this.#wanted) return;
    this.#drop();
    this.#backoff.reset();
    this.#connect(LinkState.CONNECTING);
  }

  /**
   * End the session and stop trying. `leaving`: the page goes away; `serverDone`: the room
   * ended, and the server ends its sessions itself. Safe twice.
   */
  stop({ leaving = false, serverDone = false } = {}) {
    const was = this.#wanted || this.#connection !== null;
    this.#wanted = false;
    this.#drop({ leaving, serverDone });
    if (was) this.#report(LinkState.IDLE, {});
  }

  async #connect(state) {
    const generation = ++this.#generation;
    const attempt = new AbortController();
    this.#attempt = attempt;
    this.#report(state, {});
    try {
      // Asked anew for every connection: TURN credentials are minted per request and expire.
      const iceServers = await fetchIceServers(this.#token);
      attempt.signal.throwIfAborted();
      const connection = await this.#open({ iceServers, signal: attempt.signal });
      if (generation !== this.#generation) {
        connection.session.close();
        return;
      }
      this.#attempt = null;
      this.#connection = connection;
      connection.session.watch({
        connected: () => this.#connected(generation, connection),
        lost: () => this.#lost(generation),
      });
    } catch (error) {
      if (generation === this.#generation && error?.name !== 'AbortError') this.#failed(error);
    }
  }

  #connected(generation, connection) {
    if (generation !== this.#generation) return;
    this.#connectedAt = performance.now();
    this.#report(LinkState.CONNECTED, { connection });
  }

  #lost(generation) {
    if (generation !== this.#generation) return;
    if (this.#connectedAt !== null && performance.now() - this.#connectedAt >= STABLE_MS) this.#backoff.reset();
    this.#drop();
    this.#later(this.#backoff.nextMs(), LinkState.RECONNECTING, {});
  }

  #failed(error) {
    this.#attempt = null;
    const status = error instanceof Refusal ? error.status : 0;
    if (status === 503 || status === 429) {
      const seconds = error.retryAfter ?? FULL_PAUSE_S;
      const retryAt = performance.now() + seconds * 1000;
      this.#later(seconds * 1000, LinkState.FULL, { seconds, retryAt, error }, LinkState.CONNECTING);
    } else if (status >= 400 && status < 500 && !this.#retryRefused(error)) {
      this.#wanted = false;
      this.#report(LinkState.REFUSED, { error });
    } else {
      const pause = this.#backoff.nextMs();
      this.#later(pause, LinkState.RECONNECTING, { error, seconds: Math.ceil(pause / 1000) });
    }
  }

  /** Say `state` now, and connect (saying `then`) after `ms`. */
  #later(ms, state, detail, then = LinkState.RECONNECTING) {
    this.#report(state, detail);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#wanted) this.#connect(then);
    }, ms);
  }

  #drop({ leaving = false, serverDone = false } = {}) {
    this.#generation += 1;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#attempt?.abort();
    this.#attempt = null;
    this.#connection?.session.close({ leaving, serverDone });
    this.#connection = null;
    this.#connectedAt = null;
  }
}
