// The organizer's table of registrations: one row per person with a checkbox, their details,
// status, decision and link e-mail (where the letter is, and why it has not arrived), and the
// per-row actions that fit the status. Names, addresses and affiliations are people's own
// text, and so are the mail server's answers: always text nodes, isolated for right-to-left
// scripts.

import { el, setShown, setText } from './dom.js';
import { RegistrationStatus } from './registrationapi.js';

const STATUS_TEXT = Object.freeze({
  [RegistrationStatus.PENDING]: 'Pending',
  [RegistrationStatus.APPROVED]: 'Approved',
  [RegistrationStatus.REJECTED]: 'Rejected',
  [RegistrationStatus.WITHDRAWN]: 'Withdrawn',
  [RegistrationStatus.REVOKED]: 'Revoked',
});

const MAIL_TEXT = Object.freeze({
  queued: 'Queued',
  sending: 'Sending…',
  sent: 'Sent',
  outbox: 'Written to the outbox',
  failed: 'Could not be delivered',
});
const OUTBOX_NOTE = 'No mail server is configured: the letter is a file in the server\'s outbox folder, for someone to send.';
// A letter in these states moves on by itself: the page looks again soon.
const MAIL_ON_ITS_WAY = new Set(['queued', 'sending']);

const COLUMNS = Object.freeze([
  'Name', 'E-mail', 'Affiliation', 'Status', 'Registered', 'Decided', 'Link e-mail', 'Actions',
]);

const WHEN = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const CLOCK = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** "Approved" for "approved"; an unknown status is shown as the server wrote it. */
export function statusText(status) {
  return STATUS_TEXT[status] ?? String(status ?? '');
}

export class RegistrationTable {
  #body;
  #selectAll;
  #empty;
  #rows = new Map();
  #actions;
  #rowActions;

  /**
   * `table`: an empty <table>; `empty`: what to show when there are no rows.
   * `actions`: {selectionChanged(), revoke(registration), resend(registration)}.
   */
  constructor(table, empty, actions) {
    this.#actions = actions;
    this.#rowActions = { ...actions, selectionChanged: () => this.#rowSelectionChanged() };
    this.#empty = empty;
    this.#selectAll = el('input', {
      type: 'checkbox', 'aria-label': 'Select all shown', onchange: () => this.#selectEvery(),
    });
    this.#body = el('tbody');
    table.replaceChildren(
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', class: 'col-select' }, this.#selectAll),
        COLUMNS.map((title) => el('th', { scope: 'col' }, title)))),
      this.#body);
  }

  /** Replace every row; the selection starts empty. */
  show(registrations) {
    this.#rows.clear();
    const rows = registrations.map((registration) => {
      const row = new RegistrationRow(registration, this.#rowActions);
      this.#rows.set(String(registration.id), row);
      return row.root;
    });
    this.#body.replaceChildren(...rows);
    setShown(this.#empty, rows.length === 0);
    this.#syncSelectAll();
  }

  /** Show a registration's new state in its row (if it is on this page); it is deselected. */
  update(registration) {
    const row = this.#rows.get(String(registration.id));
    if (!row) return;
    row.update(registration);
    row.selected = false;
    this.#syncSelectAll();
  }

  /**
   * Show the newest state of the rows already on the page, keeping the selection (the page
   * looked again by itself). Returns the registrations whose letter has just failed.
   */
  refresh(registrations) {
    const failed = [];
    for (const registration of registrations) {
      const row = this.#rows.get(String(registration?.id));
      if (!row) continue;
      if (registration.mail === 'failed' && row.registration.mail !== 'failed') failed.push(registration);
      row.update(registration);
    }
    return failed;
  }

  /**
   * A registration as it changed (pushed by the server): its row shows it, keeping the
   * selection; one not on the page is put first when `belongs` (a new sign-up this view lists).
   * Returns {previous, failed}: the registration shown before (undefined if none), and whether
   * its letter has just failed.
   */
  changed(registration, belongs) {
    const row = this.#rows.get(String(registration.id));
    if (row) {
      const previous = row.registration;
      row.update(registration);
      return { previous, failed: registration.mail === 'failed' && previous.mail !== 'failed' };
    }
    if (belongs) {
      const added = new RegistrationRow(registration, this.#rowActions);
      this.#rows.set(String(registration.id), added);
      this.#body.prepend(added.root);
      setShown(this.#empty, false);
      this.#syncSelectAll();
    }
    return { previous: undefined, failed: registration.mail === 'failed' };
  }

  /** When the newest registration shown was made, in epoch ms (-Infinity when none is). */
  newestCreatedAt() {
    const times = [...this.#rows.values()].map((row) => Date.parse(row.registration.created_at ?? ''));
    return Math.max(-Infinity, ...times.filter(Number.isFinite));
  }

  /** The ids of the rows whose letter is still on its way: they will change by themselves. */
  awaitingMail() {
    return [...this.#rows.values()]
      .filter((row) => MAIL_ON_ITS_WAY.has(row.registration.mail))
      .map((row) => row.registration.id);
  }

  /** The registration shown for `id`, or undefined. */
  registration(id) {
    return this.#rows.get(String(id))?.registration;
  }

  clearSelection() {
    for (const row of this.#rows.values()) row.selected = false;
    this.#syncSelectAll();
  }

  selectedIds() {
    return [...this.#rows.values()].filter((row) => row.selected).map((row) => row.registration.id);
  }

  setBusy(id, busy) {
    this.#rows.get(String(id))?.setBusy(busy);
  }

  /** Keep keyboard focus in the row after its buttons changed. */
  focusRow(id) {
    this.#rows.get(String(id))?.focus();
  }

  #rowSelectionChanged() {
    this.#syncSelectAll();
    this.#actions.selectionChanged();
  }

  #selectEvery() {
    for (const row of this.#rows.values()) row.selected = this.#selectAll.checked;
    this.#syncSelectAll();
    this.#actions.selectionChanged();
  }

  #syncSelectAll() {
    const rows = [...this.#rows.values()];
    const chosen = rows.filter((row) => row.selected).length;
    this.#selectAll.checked = rows.length > 0 && chosen === rows.length;
    this.#selectAll.indeterminate = chosen > 0 && chosen < rows.length;
    this.#selectAll.disabled = rows.length === 0;
  }
}

class RegistrationRow {
  #checkbox;
  #cells;
  #buttons;

  constructor(registration, actions) {
    this.registration = registration;
    this.#checkbox = el('input', { type: 'checkbox', onchange: () => actions.selectionChanged() });
    // People's own text sits in <bdi>, so a right-to-left name keeps the cell's layout.
    this.#cells = {
      name: el('bdi'),
      email: el('bdi'),
      affiliation: el('bdi'),
      status: el('span', { class: 'badge' }),
      created: el('td', { 'data-label': 'Registered' }),
      decided: el('td', { 'data-label': 'Decided' }),
      mail: el('td', { class: 'reg-mail', 'data-label': 'Link e-mail' }),
    };
    this.#buttons = {
      resend: el('button', { type: 'button', onclick: () => actions.resend(this.registration) }, 'Resend link'),
      revoke: el('button', { type: 'button', class: 'danger', onclick: () => actions.revoke(this.registration) }, 'Revoke'),
    };
    const cells = this.#cells;
    this.root = el('tr', {},
      el('td', { class: 'col-select' }, this.#checkbox),
      el('th', { scope: 'row', class: 'reg-name' }, cells.name),
      el('td', { class: 'reg-email', 'data-label': 'E-mail' }, cells.email),
      el('td', { 'data-label': 'Affiliation' }, cells.affiliation),
      el('td', { 'data-label': 'Status' }, cells.status),
      cells.created, cells.decided, cells.mail,
      el('td', { class: 'reg-actions', 'data-label': 'Actions' }, this.#buttons.resend, this.#buttons.revoke));
    this.update(registration);
  }

  get selected() {
    return this.#checkbox.checked;
  }

  set selected(value) {
    this.#checkbox.checked = value;
  }

  update(registration) {
    this.registration = registration;
    const cells = this.#cells;
    const name = textOf(registration.name);
    this.root.dataset.status = registration.status;
    this.#checkbox.setAttribute('aria-label', `Select ${name}`);
    setText(cells.name, name);
    setText(cells.email, textOf(registration.email));
    setText(cells.affiliation, textOf(registration.affiliation) || '—');
    setText(cells.status, statusText(registration.status));
    cells.status.className = `badge badge-reg-${registration.status}`;
    cells.created.replaceChildren(timeNode(registration.created_at));
    cells.decided.replaceChildren(...decisionNodes(registration));
    cells.mail.replaceChildren(...mailNodes(registration));
    cells.mail.dataset.mail = mailState(registration);
    cells.mail.title = registration.mail === 'outbox' ? OUTBOX_NOTE : '';
    const approved = registration.status === RegistrationStatus.APPROVED;
    setShown(this.#buttons.resend, approved);
    setShown(this.#buttons.revoke, approved);
    this.#buttons.resend.setAttribute('aria-label', `Resend the join link to ${name}`);
    this.#buttons.revoke.setAttribute('aria-label', `Revoke access for ${name}`);
  }

  focus() {
    this.#checkbox.focus();
  }

  setBusy(busy) {
    this.root.setAttribute('aria-busy', String(busy));
    for (const button of Object.values(this.#buttons)) button.disabled = busy;
  }
}

/** `failed`, `retrying` (waiting after a failed try), another mail status, or `none`. */
function mailState(registration) {
  if (registration.mail === 'queued' && registration.mail_error) return 'retrying';
  return registration.mail ?? 'none';
}

/** Where the letter is; when it has not arrived, the mail server's reason, and what next. */
function mailNodes(registration) {
  const state = mailState(registration);
  const reason = textOf(registration.mail_error);
  if (state === 'failed') {
    return [`${MAIL_TEXT.failed}: `, el('bdi', { class: 'mail-reason' }, reason || 'no reason was recorded')];
  }
  if (state === 'retrying') {
    const next = Date.parse(registration.mail_due_at ?? '');
    const when = Number.isFinite(next) ? `, trying again at ${CLOCK.format(next)}` : ', trying again';
    return [`Not delivered yet${when}: `, el('bdi', { class: 'mail-reason' }, reason)];
  }
  return [MAIL_TEXT[state] ?? (state === 'none' ? '—' : state)];
}

function decisionNodes(registration) {
  if (!registration.decided_at && !registration.decided_by) return ['—'];
  const by = textOf(registration.decided_by);
  // One wrapper, so the cell stays one value beside its label on phones.
  return [el('span', {},
    by ? el('bdi', { class: 'reg-by' }, by) : null,
    registration.decided_at ? timeNode(registration.decided_at) : null)];
}

function timeNode(iso) {
  const ms = Date.parse(iso ?? '');
  if (!Number.isFinite(ms)) return document.createTextNode('—');
  return el('time', { datetime: iso }, WHEN.format(ms));
}

function textOf(value) {
  return value === null || value === undefined ? '' : String(value);
}
