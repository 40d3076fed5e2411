// The audit log as a technician reads it: `GET /api/audit`'s entries checked, and each one
// said in plain words (what happened, to which room, by whom). Pure: no DOM, no clock.

import { text } from './values.js';

const STATE_WORDS = Object.freeze({
  scheduled: 'Back to scheduled',
  lobby: 'Lobby opened',
  live: 'Went live',
  ended: 'Ended',
});

const QUESTION_WORDS = Object.freeze({
  approve: 'Approved a question',
  dismiss: 'Dismissed a question',
  answer: 'Marked a question answered',
  pin: 'Pinned a question for the hall',
  unpin: 'Unpinned a question',
  edit: 'Edited a question',
  withdraw: 'A question was withdrawn',
});

// Actors that are not people: the server's own doings.
const MACHINE_ACTORS = Object.freeze({ schedule: 'the schedule', alerts: 'the alerts' });

function minutesWords(value) {
  const minutes = Number.isInteger(value) ? value : 0;
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** One entry of `GET /api/audit`, or null when it is not one. */
export function parseAuditEntry(raw) {
  if (raw === null || typeof raw !== 'object' || typeof raw.action !== 'string') return null;
  const at = Date.parse(raw.agenda_at);
  if (!Number.isFinite(at)) return null;
  return Object.freeze({
    at,
    room: typeof raw.room === 'string' ? raw.room : null,
    action: raw.action,
    by: text(raw.by),
    detail: raw.detail !== null && typeof raw.detail === 'object' ? raw.detail : {},
  });
}

/** The entries of a `GET /api/audit` answer, newest first; those not entries left out. */
export function parseAuditLog(body) {
  const raw = Array.isArray(body?.entries) ? body.entries : [];
  return raw.map(parseAuditEntry).filter((entry) => entry !== null).reverse();
}

/** Who did it, as a name: a person's display name, or "the schedule" / "the alerts". */
export function actorWords(by) {
  return MACHINE_ACTORS[by] ?? (by || 'someone');
}

function overrideWords(detail, titleOf, room) {
  const moved = (Array.isArray(detail.moved) ? detail.moved : [])
    .filter((id) => id !== room).map((id) => titleOf(id) ?? id);
  const also = moved.length === 0 ? '' : `; moved ${moved.join(', ')}`;
  switch (detail.action) {
    case 'start': return `Started now${also}`;
    case 'extend': return `Extended by ${minutesWords(detail.minutes)}${also}`;
    case 'end': return `Ended now${also}`;
    case 'reopen': return `End undone: live again${also}`;
    case 'delay': return `Delayed the rest of the day by ${minutesWords(detail.minutes)}${also}`;
    default: return `Override: ${text(detail.action) || 'unknown'}${also}`;
  }
}

function transitionWords(detail) {
  if (detail.from === null || detail.from === undefined) {
    return `Found ${text(detail.to) || 'in an unknown state'} as the server started`;
  }
  return STATE_WORDS[detail.to] ?? `Now ${text(detail.to)}`;
}

function noticeWords(detail, room) {
  const level = ['info', 'warning', 'urgent'].includes(detail.level) ? detail.level : 'info';
  const where = room === null ? ' to every room' : '';
  return `Posted a notice${where} (${level}): “${text(detail.text)}”`;
}

/** What the entry says happened, in words; `titleOf(roomId)` is a room's title or null. */
export function auditWords(entry, titleOf = () => null) {
  const { detail } = entry;
  switch (entry.action) {
    case 'transition': return transitionWords(detail);
    case 'override': return overrideWords(detail, titleOf, entry.room);
    case 'stage': return `Brought ${text(detail.name) || 'a source'} on stage`;
    case 'backstage': return `Sent ${text(detail.name) || 'a source'} backstage`;
    case 'notice': return noticeWords(detail, entry.room);
    case 'notice_cleared': return entry.room === null ? 'Cleared a notice to every room' : 'Cleared a notice';
    case 'alert': return `${detail.active === false ? 'Alert cleared' : 'Alert'}: ${text(detail.text) || text(detail.code)}`;
    case 'question_order':
      return detail.by === 'time' ? 'Questions ordered oldest first' : 'Questions ordered by most votes';
    default: {
      const question = QUESTION_WORDS[entry.action.replace(/^question_/, '')];
      if (entry.action.startsWith('question_') && question) return question;
      return entry.action.replaceAll('_', ' ');
    }
  }
}

/** How the entry is shown: 'alert' (raised), 'cleared', 'override', or 'plain'. */
export function auditTone(entry) {
  if (entry.action === 'alert') return entry.detail.active === false ? 'cleared' : 'alert';
  return entry.action === 'override' ? 'override' : 'plain';
}
