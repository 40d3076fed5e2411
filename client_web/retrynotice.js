// What the watch and speak pages say while the server has asked them to wait (503 or 429 with
// Retry-After) before trying again: why, in words, and in how many seconds.

const NOTICES = Object.freeze({
  at_capacity: {
    heading: 'The room is full',
    reason: 'Every place in this stream is taken for now. A place frees up as soon as someone leaves.',
  },
  busy: {
    heading: 'Many people are joining right now',
    reason: 'The server lets people in a few at a time.',
  },
  too_many_requests: {
    heading: 'Many people are joining from your network',
    reason: 'The server lets each network in at a steady pace.',
  },
  too_many_sessions: {
    heading: 'This room is open in other windows',
    reason: 'You are connecting to it from several windows or devices at once.',
  },
});

const FALLBACK = Object.freeze({ heading: 'The server is busy', reason: '' });

/** {heading, reason} for the refusal `error` (a Refusal with its code). */
export function retryNotice(error) {
  return NOTICES[error?.code] ?? FALLBACK;
}

/** Whole seconds from now until `retryAt` (a performance.now() time), never below zero. */
export function secondsUntil(retryAt) {
  return Math.max(0, Math.ceil((retryAt - performance.now()) / 1000));
}

/** "This page tries again by itself in 12 s." */
export function retryLine(retryAt) {
  const seconds = secondsUntil(retryAt);
  const when = seconds > 0 ? `in ${seconds} s` : 'now';
  return `This page tries again by itself ${when}; there is no need to reload.`;
}
