// One WHIP or WHEP session over HTTP (RFC 9725), shared by publishing (whip.js) and watching
// (whep.js): the ICE servers to build the peer connection with, the SDP offer POSTed with the
// bearer token, the answer, the session URL to DELETE at the end, and the watch over the
// connection that says when it is lost. The server's refusals come back as Refusal (http.js)
// with their code, message and Retry-After.

import { ApiError } from './api.js';
import { bodyOf, refusal, send } from './http.js';

// Non-trickle: send the offer once gathering is complete, or with what there is by then.
const GATHER_LIMIT_MS = 2000;
// ICE may flap to "disconnected" for a moment on a busy network; only a lasting one counts.
const DISCONNECTED_LIMIT_MS = 3000;
// A connection that has not come up by then will not: the server closes a session that has not
// connected within its [media] connect_within_seconds (10 s unless configured otherwise).
const CONNECT_LIMIT_MS = 11_000;
// How long a DELETE may take before the peer connection is closed anyway.
const DELETE_WAIT_MS = 1500;
const SDP = 'application/sdp';

/** The ICE servers for a new peer connection (GET /api/media/ice-servers); none if unknown. */
export async function fetchIceServers(token) {
  try {
    const body = await bodyOf(await send('GET', '/api/media/ice-servers', { token }));
    return Array.isArray(body.iceServers) ? body.iceServers.filter(isIceServer) : [];
  } catch {
    // Host candidates alone work on a LAN; the offer POST reports any real problem.
    return [];
  }
}

/**
 * Offer `pc` to the WHIP or WHEP endpoint `path` and apply the answer. Resolves with the
 * MediaSession; on failure (or when `signal` aborts) `pc` is closed and the error thrown.
 */
export async function openSession(pc, path, token, { signal } = {}) {
  try {
    signal?.throwIfAborted();
    await pc.setLocalDescription();
    await gatheringDone(pc, GATHER_LIMIT_MS, signal);
    const response = await postOffer(path, token, pc.localDescription.sdp, signal);
    const session = new MediaSession(pc, sessionUrl(response, path), token, {
      etag: response.headers.get('ETag'),
      source: response.headers.get('X-Plenary-Source'),
    });
    try {
      signal?.throwIfAborted();
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  } catch (error) {
    pc.close();
    throw error;
  }
}

export class MediaSession {
  #pc;
  #url;
  #token;
  #closed = false;
  #timers = new Map();

  constructor(pc, url, token, { etag = null, source = null } = {}) {
    this.#pc = pc;
    this.#url = url;
    this.#token = token;
    /** The session's entity tag, for PATCH requests. */
    this.etag = etag;
    /** A publishing session's source id (X-Plenary-Source): its entry in the `stage` event. */
    this.source = source === null || source.trim() === '' ? null : source.trim();
  }

  get pc() {
    return this.#pc;
  }

  /**
   * Call `connected()` each time the media flows, and `lost()` once, when the connection
   * fails, stays disconnected for a while, is closed by the server, or never comes up.
   */
  watch({ connected, lost }) {
    const pc = this.#pc;
    let done = false;
    let flowing = false;
    const giveUp = () => {
      if (done || this.#closed) return;
      done = true;
      this.#clearTimers();
      lost();
    };
    const check = () => {
      const states = [pc.connectionState, pc.iceConnectionState, dtlsState(pc)];
      if (states.some((state) => state === 'failed' || state === 'closed')) {
        giveUp();
      } else if (states.includes('disconnected')) {
        flowing = false;
        this.#startTimer('disconnected', DISCONNECTED_LIMIT_MS, giveUp);
      } else if (pc.connectionState === 'connected' && !flowing) {
        flowing = true;
        this.#clearTimers();
        connected();
      }
    };
    pc.addEventListener('connectionstatechange', check);
    pc.addEventListener('iceconnectionstatechange', check);
    pc.getTransceivers()[0]?.receiver.transport?.addEventListener('statechange', check);
    this.#startTimer('connect', CONNECT_LIMIT_MS, giveUp);
    check();
  }

  /**
   * End the session: close the peer connection and DELETE the session URL. With `leaving`,
   * the request outlives the page (pagehide); with `serverDone`, the server has ended the
   * session itself (its room ended) and is not asked. Safe to call twice.
   */
  close({ leaving = false, serverDone = false } = {}) {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimers();
    // After a DTLS close_notify the server has hung up already.
    if (serverDone || dtlsState(this.#pc) === 'closed') {
      this.#pc.close();
      return;
    }
    const ended = fetch(this.#url, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${this.#token}` },
      keepalive: leaving,
      cache: 'no-store',
    }).catch(() => {
      // The server ends sessions whose peer is gone on its own.
    });
    if (leaving) {
      this.#pc.close();
      return;
    }
    // Hanging up after the DELETE lets the server end the session as asked, rather than
    // first seeing the peer vanish; a DELETE that takes too long does not keep media flowing.
    const hangUp = () => this.#pc.close();
    Promise.race([ended, new Promise((resolve) => setTimeout(resolve, DELETE_WAIT_MS))]).then(hangUp);
  }

  #startTimer(name, ms, action) {
    if (this.#timers.has(name)) return;
    this.#timers.set(name, setTimeout(action, ms));
  }

  #clearTimers() {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}

async function postOffer(path, token, offer, signal) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': SDP, Accept: SDP, Authorization: `Bearer ${token}` },
      body: offer,
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError('network', 'The server cannot be reached.', 0);
  }
  if (response.status !== 201) throw await refusal(response);
  return response;
}

function sessionUrl(response, path) {
  const location = response.headers.get('Location');
  if (!location) {
    throw new ApiError('bad_response', 'The server did not say where the session is.', response.status);
  }
  return new URL(location, new URL(path, window.location.href)).href;
}

/** Resolves when ICE gathering is complete, or after `limitMs` with what there is. */
function gatheringDone(pc, limitMs, signal) {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onChange);
      signal?.removeEventListener('abort', onAbort);
    };
    const onChange = () => {
      if (pc.iceGatheringState !== 'complete') return;
      finish();
      resolve();
    };
    const onAbort = () => {
      finish();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      finish();
      resolve();
    }, limitMs);
    pc.addEventListener('icegatheringstatechange', onChange);
    signal?.addEventListener('abort', onAbort);
  });
}

function dtlsState(pc) {
  return pc.getTransceivers()[0]?.receiver.transport?.state ?? 'new';
}

function isIceServer(server) {
  return server !== null && typeof server === 'object'
    && (typeof server.urls === 'string' || Array.isArray(server.urls));
}
