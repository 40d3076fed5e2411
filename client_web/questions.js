// The audience's questions as the pages hold them, without the page: a question from the wire
// checked into a plain object, the book of a room's questions kept up to date by the server's
// `questions` list and `question` events, and who sees which questions in what order (the
// attendee's list, the speaker's queue, the moderator's columns, the pinned question).
// The server already decides what each receiver may see; these only arrange it.

export const QuestionStatus = Object.freeze({
  PENDING: 'pending',
  APPROVED: 'approved',
  ANSWERED: 'answered',
  DISMISSED: 'dismissed',
  // Gone for this receiver: withdrawn by its asker, or no longer visible (dismissed, for attendees).
  WITHDRAWN: 'withdrawn',
});

export const QuestionSort = Object.freeze({ VOTES: 'votes', TIME: 'time' });

/** The server's limit on a question's length, in characters (Unicode code points). */
export const MAX_QUESTION_LENGTH = 500;

// Line breaks and tabs are refused in a question (they are control characters); pasted text
// loses them for spaces before it is sent or counted.
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;

/** `text` as it is sent: on one line. */
export function askableText(text) {
  return String(text ?? '').replace(BREAKS, ' ');
}

const STATUSES = new Set(Object.values(QuestionStatus));

/** What `book.apply` did with a question. */
export const Change = Object.freeze({ ADDED: 'added', CHANGED: 'changed', REMOVED: 'removed' });

/**
 * A question from the server as the pages use it: {id, room, text, status, votes, voted,
 * pinned, author (null when anonymous or not for us), mine, createdAt (ms)}; a withdrawn one is
 * {id, room, status: 'withdrawn'}. Null when `body` is not a question.
 */
export function parseQuestion(body) {
  if (body === null || typeof body !== 'object') return null;
  if (typeof body.id !== 'string' || body.id === '' || !STATUSES.has(body.status)) return null;
  const room = typeof body.room === 'string' ? body.room : '';
  if (body.status === QuestionStatus.WITHDRAWN) return { id: body.id, room, status: body.status };
  const createdAt = typeof body.created_at === 'string' ? Date.parse(body.created_at) : NaN;
  return {
    id: body.id,
    room,
    text: typeof body.text === 'string' ? body.text : '',
    status: body.status,
    votes: Number.isSafeInteger(body.votes) && body.votes > 0 ? body.votes : 0,
    voted: body.voted === true,
    pinned: body.pinned === true,
    author: typeof body.author === 'string' && body.author.trim() !== '' ? body.author : null,
    mine: body.mine === true,
    createdAt: Number.isFinite(createdAt) ? createdAt : 0,
  };
}

/** One room's questions, as this receiver may see them. */
export class QuestionBook {
  #questions = new Map();

  /** Replace everything with the server's list; returns how many questions it holds. */
  load(list) {
    this.#questions.clear();
    for (const body of Array.isArray(list) ? list : []) {
      const question = parseQuestion(body);
      if (question !== null && question.status !== QuestionStatus.WITHDRAWN) this.#questions.set(question.id, question);
    }
    return this.#questions.size;
  }

  /**
   * Take one `question` event (or an ack's question): {change, question} with `change` one of
   * Change, or null when it was not a question or changed nothing the book knew of.
   */
  apply(body) {
    const question = parseQuestion(body);
    if (question === null) return null;
    const known = this.#questions.has(question.id);
    if (question.status === QuestionStatus.WITHDRAWN) {
      if (!known) return null;
      this.#questions.delete(question.id);
      return { change: Change.REMOVED, question };
    }
    // One question is pinned per room: the server unpins the other, and says so, but an
    // update it sends about the other may be coalesced behind this one.
    if (question.pinned) {
      for (const [id, other] of this.#questions) {
        if (other.pinned && id !== question.id) this.#questions.set(id, { ...other, pinned: false });
      }
    }
    this.#questions.set(question.id, question);
    return { change: known ? Change.CHANGED : Change.ADDED, question };
  }

  get(id) {
    return this.#questions.get(id) ?? null;
  }

  get size() {
    return this.#questions.size;
  }

  /** Every question, in no particular order. */
  all() {
    return [...this.#questions.values()];
  }
}

/** Most votes first; among equals, the one asked first (it has waited longest). */
export function byVotes(a, b) {
  return b.votes - a.votes || a.createdAt - b.createdAt || compareIds(a, b);
}

/** Newest first. */
export function byTime(a, b) {
  return b.createdAt - a.createdAt || compareIds(a, b);
}

/** Oldest first: the order the moderator takes new questions in. */
export function byArrival(a, b) {
  return a.createdAt - b.createdAt || compareIds(a, b);
}

function compareIds(a, b) {
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

/** The question being answered now, or null. */
export function pinnedQuestion(questions) {
  return questions.find((question) => question.pinned && isOpen(question)) ?? null;
}

function isOpen(question) {
  return question.status === QuestionStatus.APPROVED || question.status === QuestionStatus.ANSWERED;
}

/**
 * The attendee's list: the pinned question first, then the open ones (approved, and their own
 * still waiting for the moderator) sorted as chosen, then those answered, then their own that
 * the moderator did not take up.
 */
export function attendeeList(questions, sort = QuestionSort.VOTES) {
  const order = sort === QuestionSort.TIME ? byTime : byVotes;
  const rank = (question) => {
    if (question.pinned && isOpen(question)) return 0;
    if (question.status === QuestionStatus.APPROVED || question.status === QuestionStatus.PENDING) return 1;
    if (question.status === QuestionStatus.ANSWERED) return 2;
    return 3;
  };
  return questions
    .filter((question) => isOpen(question) || question.mine)
    .sort((a, b) => rank(a) - rank(b) || order(a, b));
}

/** The moderator's choice for the speakers' queue from the wire: most votes (the default) or
 * oldest first. */
export function queueOrder(value) {
  return value === QuestionSort.TIME ? QuestionSort.TIME : QuestionSort.VOTES;
}

function queued(order) {
  const after = order === QuestionSort.TIME ? byArrival : byVotes;
  return (a, b) => Number(b.pinned) - Number(a.pinned) || after(a, b);
}

/**
 * The speaker's queue: approved questions, the pinned one first, then as the moderator chose
 * (`order`: most votes first, or oldest first).
 */
export function speakerQueue(questions, order = QuestionSort.VOTES) {
  return questions.filter((question) => question.status === QuestionStatus.APPROVED).sort(queued(order));
}

/**
 * The moderator's columns: {pending (oldest first), approved (as the speakers see it: pinned
 * first, then in `order`), answered (newest first), dismissed (newest first), pinned (the
 * question or null)}.
 */
export function moderatorColumns(questions, order = QuestionSort.VOTES) {
  const having = (status) => questions.filter((question) => question.status === status);
  return {
    pending: having(QuestionStatus.PENDING).sort(byArrival),
    approved: having(QuestionStatus.APPROVED).sort(queued(order)),
    answered: having(QuestionStatus.ANSWERED).sort(byTime),
    dismissed: having(QuestionStatus.DISMISSED).sort(byTime),
    pinned: pinnedQuestion(questions),
  };
}
