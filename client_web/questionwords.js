// What the question pages say, in one place: the length counter, who asked, a question's
// state, votes, the server's refusals in words, and what is read out to screen readers.

import { MAX_QUESTION_LENGTH, QuestionStatus, askableText } from './questions.js';

// The server's refusal codes (the `ask`, `vote`, `questions` and `moderate` acks), in words.
const REFUSALS = Object.freeze({
  room_closed: 'Questions are closed for this item.',
  too_many_requests: 'You have asked several questions in a short time. Please wait a minute before asking again.',
  duplicate: 'You have just asked exactly this question.',
  forbidden: 'Your access link does not allow that in this room.',
  not_found: 'That question is no longer there.',
  unknown_room: 'There is no such room.',
});

/** The length of a question as the server counts it: characters, without surrounding spaces. */
export function questionLength(text) {
  return [...askableText(text).trim()].length;
}

/** The counter under the question box: {text, over (true past the limit)}. */
export function counterWords(length, max = MAX_QUESTION_LENGTH) {
  if (length > max) {
    const over = length - max;
    return { text: `${over} ${over === 1 ? 'character' : 'characters'} too many (at most ${max})`, over: true };
  }
  return { text: `${length} of ${max} characters`, over: false };
}

/** Who asked: their name, or "Anonymous". */
export function authorWords(question) {
  return question.author ?? 'Anonymous';
}

/** "1 vote", "12 votes", "No votes". */
export function votesWords(votes) {
  if (votes === 0) return 'No votes';
  return votes === 1 ? '1 vote' : `${votes} votes`;
}

/**
 * A question's state as a short label ('' when there is nothing to say): for attendees
 * (`audience`) the moderator's decisions are put gently; moderators see the plain status.
 */
export function stateWords(question, { audience = false } = {}) {
  if (question.pinned && question.status !== QuestionStatus.DISMISSED) return 'Being answered now';
  switch (question.status) {
    case QuestionStatus.PENDING:
      return audience ? 'Waiting for the moderator' : 'New';
    case QuestionStatus.ANSWERED:
      return 'Answered';
    case QuestionStatus.DISMISSED:
      return audience ? 'Not taken up by the moderator' : 'Dismissed';
    default:
      return '';
  }
}

/** A refused request (`{ok: false, error, message}`) in words for the person who made it. */
export function refusalWords(reply) {
  const known = REFUSALS[reply?.error];
  if (known !== undefined) return known;
  const message = typeof reply?.message === 'string' ? reply.message.trim() : '';
  return message === '' ? 'That did not work. Please try again.' : message;
}

/** Read out to the moderator when a question arrives. */
export function arrivalWords(question) {
  const who = question.author === null ? 'New anonymous question' : `New question from ${question.author}`;
  return `${who}: ${question.text}`;
}

/** The moderator's actions: the label of each button and the key that does the same. */
export const ModerateAction = Object.freeze({
  APPROVE: Object.freeze({ action: 'approve', label: 'Approve', key: 'a' }),
  RESTORE: Object.freeze({ action: 'approve', label: 'Restore', key: 'a' }),
  DISMISS: Object.freeze({ action: 'dismiss', label: 'Dismiss', key: 'd' }),
  ANSWER: Object.freeze({ action: 'answer', label: 'Answered', key: 'm' }),
  REOPEN: Object.freeze({ action: 'approve', label: 'Back to the queue', key: 'a' }),
  PIN: Object.freeze({ action: 'pin', label: 'Pin', key: 'p' }),
  UNPIN: Object.freeze({ action: 'unpin', label: 'Unpin', key: 'p' }),
  EDIT: Object.freeze({ action: 'edit', label: 'Edit', key: 'e' }),
});

/** The moderator's buttons for a question in its state, in the order they are shown. */
export function moderateActions(question) {
  const { APPROVE, RESTORE, DISMISS, ANSWER, REOPEN, PIN, UNPIN, EDIT } = ModerateAction;
  switch (question.status) {
    case QuestionStatus.PENDING:
      return [APPROVE, DISMISS, EDIT];
    case QuestionStatus.APPROVED:
      return [question.pinned ? UNPIN : PIN, ANSWER, DISMISS, EDIT];
    case QuestionStatus.ANSWERED:
      return question.pinned ? [UNPIN, REOPEN] : [REOPEN];
    case QuestionStatus.DISMISSED:
      return [RESTORE];
    default:
      return [];
  }
}

/** What a moderator's action did, for the status line. */
export function movedWords(action) {
  switch (action) {
    case 'approve': return 'Approved: the audience sees it.';
    case 'dismiss': return 'Dismissed.';
    case 'answer': return 'Marked answered.';
    case 'pin': return 'Pinned: the hall screen shows it.';
    case 'unpin': return 'Unpinned.';
    case 'edit': return 'Saved.';
    default: return '';
  }
}
