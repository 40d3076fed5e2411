// The Socket.IO connection to the server and its status, as the pages need it: events in
// (`agenda`, `room_state`, `notice`), control commands out with their acknowledgement.

import { io } from '/vendor/socket.io.esm.min.js';

const ACK_TIMEOUT_MS = 10_000;

export const LinkStatus = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  LIVE: 'live',
  RECONNECTING: 'reconnecting',
  INVALID_TOKEN: 'invalid_token',
  REFUSED: 'refused',
  CLOSED: 'closed',
});

export class LiveConnection {
  #socket;
  #onStatus;

  /**
   * Connect (with `token`, or anonymously when it is null) and deliver events to `handlers`:
   * {agenda(body), roomState(body), notice(body), status(LinkStatus, detail)}.
   */
  constructor({ token = null, handlers }) {
    this.#onStatus = handlers.status ?? (() => {});
    this.#socket = io(token ? { auth: { token } } : {});
    this.#listen(handlers);
    this.#onStatus(LinkStatus.CONNECTING, null);
  }

  /** Send a control command; resolves with the server's ack body (`{ok, ...}`). */
  async control(command) {
    return this.#request('control', command);
  }

  /** Stop for good (no reconnection). */
  close() {
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
    socket.on('connect', () => this.#onStatus(LinkStatus.LIVE, null));
    socket.on('disconnect', (reason) => {
      // The server hung up on purpose (e.g. the token was revoked): Socket.IO will not retry.
      const status = reason === 'io server disconnect' ? LinkStatus.CLOSED : LinkStatus.RECONNECTING;
      this.#onStatus(status, reason);
    });
    socket.on('connect_error', (error) => this.#onConnectError(error));
    if (handlers.agenda) socket.on('agenda', handlers.agenda);
    if (handlers.roomState) socket.on('room_state', handlers.roomState);
    if (handlers.notice) socket.on('notice', handlers.notice);
  }

  #onConnectError(error) {
    if (error?.data?.error === 'invalid_token') {
      this.#socket.disconnect();
      this.#onStatus(LinkStatus.INVALID_TOKEN, error.data.message ?? null);
    } else if (this.#socket.active) {
      // A transport failure: Socket.IO keeps retrying with backoff.
      this.#onStatus(LinkStatus.RECONNECTING, error?.message ?? null);
    } else {
      this.#onStatus(LinkStatus.REFUSED, error?.data?.message ?? error?.message ?? null);
    }
  }
}
